"""The endpoints the high-level QdrantClient has no call for, driven through
qdrant-client's generated REST API (`client.http.*_api`).

qdrant-client 1.20 parses every answer as JSON.  Where Qdrant answers with
something else (the plain-text probes and /metrics, snapshot files), the
generated methods send the right request but cannot parse the answer, from a
real Qdrant as from us: qdrant-client issues #625 and #1360, where its
maintainers say these are meant for curl.  For those calls the answer is read
off qdrant-client's own transport by a middleware (`ApiClient.add_middleware`,
the hook qdrant-client itself uses for its headers).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import tarfile
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from tests.server.conftest import qdrant
from tests.server.data import make_collection, payload, vectors
from tests.server.serverproc import ServerProcess, start_server


class Recorder:
    """A qdrant-client middleware keeping the last HTTP answer it passed on."""

    def __init__(self) -> None:
        self.last: httpx.Response | None = None

    def __call__(
        self, request: httpx.Request, call_next: Callable[[httpx.Request], httpx.Response]
    ) -> httpx.Response:
        self.last = call_next(request)
        return self.last

    def answer_to(self, call: Callable[[], object]) -> httpx.Response:
        """Make the call; return what the server answered, whether or not
        qdrant-client could parse it (an error status still raises)."""
        self.last = None
        with contextlib.suppress(ValueError, ResponseHandlingException):  # not JSON
            call()
        assert self.last is not None, "the call sent no request"
        return self.last


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of this module's own: a full snapshot covers every collection."""
    proc = start_server(tmp_path_factory.mktemp("client-coverage") / "data")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def recorded(own_server: ServerProcess) -> Iterator[tuple[QdrantClient, Recorder]]:
    client = qdrant(own_server.url)
    recorder = Recorder()
    client.http.client.add_middleware(recorder)
    yield client, recorder
    client.close()


def is_tar_archive(data: bytes) -> bool:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return bool(tar.getnames())


def test_collection_snapshot_download(recorded: tuple[QdrantClient, Recorder], name: str) -> None:
    client, recorder = recorded
    make_collection(client, name, n=20, dim=4)
    snap = client.create_snapshot(name)
    assert snap is not None
    listed = {s.name: s for s in client.list_snapshots(name)}[snap.name]
    r = recorder.answer_to(lambda: client.http.snapshots_api.get_snapshot(name, snap.name))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert len(r.content) == listed.size
    assert hashlib.sha256(r.content).hexdigest() == listed.checksum
    assert is_tar_archive(r.content)
    with pytest.raises(UnexpectedResponse) as info:
        client.http.snapshots_api.get_snapshot(name, "no-such.snapshot")
    assert info.value.status_code == 404


def test_full_snapshot_download(recorded: tuple[QdrantClient, Recorder], name: str) -> None:
    client, recorder = recorded
    make_collection(client, name, n=10, dim=4)
    snap = client.create_full_snapshot()
    assert snap is not None
    listed = {s.name: s for s in client.list_full_snapshots()}[snap.name]
    try:
        r = recorder.answer_to(lambda: client.http.snapshots_api.get_full_snapshot(snap.name))
        assert r.status_code == 200
        assert hashlib.sha256(r.content).hexdigest() == listed.checksum
        assert is_tar_archive(r.content)
    finally:
        assert client.delete_full_snapshot(snap.name) is True


def test_create_snapshot_without_waiting(
    recorded: tuple[QdrantClient, Recorder], name: str
) -> None:
    client, recorder = recorded
    make_collection(client, name, n=10, dim=4)
    assert client.create_snapshot(name, wait=False) is None  # Qdrant's 202 has no result
    assert recorder.last is not None and recorder.last.status_code == 202
    assert recorder.last.json()["status"] == "accepted"
    deadline = time.monotonic() + 60
    while not (snapshots := client.list_snapshots(name)):
        assert time.monotonic() < deadline, "the snapshot never appeared"
        time.sleep(0.05)
    assert len(snapshots) == 1 and snapshots[0].checksum


@pytest.mark.parametrize(
    ("probe", "text"),
    [
        ("healthz", "healthz check passed"),
        ("livez", "healthz check passed"),
        ("readyz", "all shards are ready"),
    ],
)
def test_probes(recorded: tuple[QdrantClient, Recorder], probe: str, text: str) -> None:
    client, recorder = recorded
    r = recorder.answer_to(getattr(client.http.service_api, probe))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == text  # what Qdrant answers


def test_metrics(recorded: tuple[QdrantClient, Recorder], name: str) -> None:
    client, recorder = recorded
    make_collection(client, name, n=7, dim=4)
    r = recorder.answer_to(client.http.service_api.metrics)
    assert r.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    points = {
        s.labels["id"]: s.value for s in families["collection_points"].samples
    }  # Qdrant's label
    assert points[name] == 7


def test_telemetry(recorded: tuple[QdrantClient, Recorder], name: str) -> None:
    client, _ = recorded
    make_collection(client, name, n=3, dim=4)
    answer = client.http.service_api.telemetry()  # parsed into Qdrant's own model
    assert answer.status == "ok"
    assert isinstance(answer.result, models.TelemetryData)
    assert answer.result.app is not None and answer.result.app.name == "crewchief"
    number = answer.result.collections.number_of_collections
    assert number == len(client.get_collections().collections) >= 1


def test_get_point(recorded: tuple[QdrantClient, Recorder], name: str) -> None:
    client, _ = recorded
    make_collection(client, name, n=5, dim=4, distance=models.Distance.EUCLID)
    answer = client.http.points_api.get_point(name, 2)
    assert answer.status == "ok" and answer.result is not None
    assert answer.result.id == 2
    assert answer.result.payload == payload(2)
    assert answer.result.vector == pytest.approx(vectors(5, 4)[2], abs=1e-6)
    with pytest.raises(UnexpectedResponse) as info:
        client.http.points_api.get_point(name, 77)
    assert info.value.status_code == 404
