"""Snapshots over REST: create, list, download, delete, recover, upload, full snapshots."""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from qdrant_client import QdrantClient
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.server.conftest import MAX_UPLOAD_BYTES, qdrant
from tests.server.data import make_collection, points
from tests.server.serverproc import ServerProcess, start_server


def download(http: httpx.Client, path: str, dest: Path) -> Path:
    with http.stream("GET", path) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"] == "application/octet-stream"
        with open(dest, "wb") as f:
            for chunk in r.iter_bytes():
                f.write(chunk)
    return dest


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(data: Path) -> list[str]:
    """Files the server left in its staging folders (there should be none)."""
    tmp = data / "tmp"
    return (
        sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
        if tmp.exists()
        else []
    )


@pytest.fixture
def snapshot_file(client: QdrantClient, http: httpx.Client, name: str, tmp_path: Path) -> Path:
    """A real collection snapshot (of `name`, 30 points) downloaded to the test's tmp dir."""
    make_collection(client, name, n=30, dim=4)
    snap = client.create_snapshot(name)
    assert snap is not None
    return download(http, f"/collections/{name}/snapshots/{snap.name}", tmp_path / snap.name)


def test_create_list_download_delete(
    client: QdrantClient, http: httpx.Client, name: str, tmp_path: Path
) -> None:
    make_collection(client, name, n=10, dim=4)
    snap = client.create_snapshot(name)
    assert snap is not None and snap.name.startswith(name) and snap.size and snap.checksum
    assert snap.name in [s.name for s in client.list_snapshots(name)]
    got = download(http, f"/collections/{name}/snapshots/{snap.name}", tmp_path / "s")
    assert got.stat().st_size == snap.size
    assert sha256(got) == snap.checksum
    assert client.delete_snapshot(name, snap.name) is True
    assert snap.name not in [s.name for s in client.list_snapshots(name)]
    assert http.get(f"/collections/{name}/snapshots/{snap.name}").status_code == 404
    assert http.delete(f"/collections/{name}/snapshots/{snap.name}").status_code == 404


def test_snapshot_errors(http: httpx.Client, client: QdrantClient, name: str) -> None:
    assert http.post("/collections/ghost/snapshots").status_code == 404
    assert http.get("/collections/ghost/snapshots").status_code == 404
    make_collection(client, name, n=1, dim=4)
    assert http.get(f"/collections/{name}/snapshots/nope.snapshot").status_code == 404
    assert http.get(f"/collections/{name}/snapshots/..%2Fcatalog.json").status_code in (400, 404)


def test_wait_false_answers_202_accepted(
    client: QdrantClient, http: httpx.Client, name: str
) -> None:
    make_collection(client, name, n=5, dim=4)
    r = http.post(f"/collections/{name}/snapshots?wait=false")
    assert r.status_code == 202
    assert r.json()["status"] == "accepted" and r.json()["result"] is None
    deadline = time.monotonic() + 10
    while not client.list_snapshots(name) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(client.list_snapshots(name)) == 1


def test_recover_from_file_location_with_client(
    client: QdrantClient, name: str, snapshot_file: Path, data_dir: Path
) -> None:
    client.upsert(name, points(5, 4, seed=7, start=1000))
    assert client.count(name).count == 35
    kept = data_dir / "snapshots" / name / snapshot_file.name  # the server's own copy
    assert client.recover_snapshot(name, kept.as_uri()) is True
    assert client.count(name).count == 30  # back to the snapshot's state
    restored = f"{name}_restored"
    assert client.recover_snapshot(restored, str(kept), checksum=sha256(snapshot_file))
    assert client.count(restored).count == 30


def test_recover_from_http_location(client: QdrantClient, server: ServerProcess, name: str) -> None:
    make_collection(client, name, n=12, dim=4)
    snap = client.create_snapshot(name)
    assert snap is not None
    url = f"{server.url}/collections/{name}/snapshots/{snap.name}"
    copy = f"{name}_copy"
    assert client.recover_snapshot(copy, url, checksum=snap.checksum) is True
    assert client.count(copy).count == 12


def test_upload_multipart_with_httpx_and_with_client_api(
    client: QdrantClient, http: httpx.Client, name: str, snapshot_file: Path, data_dir: Path
) -> None:
    target = f"{name}_up"
    with open(snapshot_file, "rb") as f:
        r = http.post(
            f"/collections/{target}/snapshots/upload?wait=true&priority=snapshot",
            files={"snapshot": (snapshot_file.name, f, "application/octet-stream")},
        )
    assert r.status_code == 200, r.text
    assert r.json()["result"] is True
    assert client.count(target).count == 30
    target2 = f"{name}_up2"
    with open(snapshot_file, "rb") as f:
        result = client.http.snapshots_api.recover_from_uploaded_snapshot(
            collection_name=target2, snapshot=f, checksum=sha256(snapshot_file)
        )
    assert result.result is True
    assert client.count(target2).count == 30
    assert leftovers(data_dir) == []


def test_wrong_checksum_is_400_and_changes_nothing(
    client: QdrantClient, http: httpx.Client, name: str, snapshot_file: Path, data_dir: Path
) -> None:
    client.upsert(name, points(5, 4, seed=7, start=1000))
    with open(snapshot_file, "rb") as f:
        r = http.post(
            f"/collections/{name}/snapshots/upload?checksum={'0' * 64}",
            files={"snapshot": f},
        )
    assert r.status_code == 400
    assert "checksum" in r.json()["status"]["error"]
    assert client.count(name).count == 35
    with pytest.raises(UnexpectedResponse) as info:
        kept = data_dir / "snapshots" / name / snapshot_file.name
        client.recover_snapshot(name, kept.as_uri(), checksum="ab" * 32)
    assert info.value.status_code == 400
    assert client.count(name).count == 35
    assert leftovers(data_dir) == []


def _evil_member(kind: str) -> tuple[tarfile.TarInfo, bytes | None]:
    if kind == "dotdot":
        info = tarfile.TarInfo("../evil-dotdot.txt")
    elif kind == "absolute":
        info = tarfile.TarInfo("/tmp/crewchief-evil-absolute.txt")
    elif kind == "symlink":
        info = tarfile.TarInfo("0/evil-link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        return info, None
    elif kind == "hardlink":
        info = tarfile.TarInfo("0/evil-hardlink")
        info.type, info.linkname = tarfile.LNKTYPE, "/etc/passwd"
        return info, None
    elif kind == "device":
        info = tarfile.TarInfo("0/evil-device")
        info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
        return info, None
    else:
        raise AssertionError(kind)
    payload = b"pwned\n"
    info.size = len(payload)
    return info, payload


def poisoned_copy(snapshot: Path, kind: str, dest: Path) -> Path:
    """The real snapshot with one malicious entry appended."""
    dest.write_bytes(snapshot.read_bytes())
    info, payload = _evil_member(kind)
    with tarfile.open(dest, "a", format=tarfile.GNU_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return dest


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "hardlink", "device"])
def test_malicious_uploads_are_refused_and_change_nothing(
    client: QdrantClient,
    http: httpx.Client,
    name: str,
    snapshot_file: Path,
    data_dir: Path,
    tmp_path: Path,
    kind: str,
) -> None:
    evil = poisoned_copy(snapshot_file, kind, tmp_path / f"evil-{kind}.snapshot")
    client.upsert(name, points(5, 4, seed=7, start=1000))
    collections_before = sorted(c.name for c in client.get_collections().collections)
    for target in (name, f"{name}_new"):
        with open(evil, "rb") as f:
            r = http.post(f"/collections/{target}/snapshots/upload", files={"snapshot": f})
        assert r.status_code == 400, r.text
        assert r.json()["status"]["error"]
        with pytest.raises(UnexpectedResponse) as info:
            client.recover_snapshot(target, evil.as_uri())
        assert info.value.status_code == 403  # outside the data directory, as Qdrant answers
    assert client.count(name).count == 35
    assert sorted(c.name for c in client.get_collections().collections) == collections_before
    assert not Path("/tmp/crewchief-evil-absolute.txt").exists()
    assert not (data_dir / "evil-dotdot.txt").exists()
    assert not (data_dir / "tmp" / "evil-dotdot.txt").exists()
    assert leftovers(data_dir) == []


def test_garbage_upload_is_400(http: httpx.Client, name: str, data_dir: Path) -> None:
    r = http.post(
        f"/collections/{name}/snapshots/upload", files={"snapshot": ("x", b"not a tar" * 100)}
    )
    assert r.status_code == 400
    assert http.get(f"/collections/{name}/exists").json()["result"]["exists"] is False
    assert leftovers(data_dir) == []


def test_upload_over_the_limit_is_413(http: httpx.Client, name: str, data_dir: Path) -> None:
    big = b"\0" * (MAX_UPLOAD_BYTES + 1024 * 1024)
    r = http.post(f"/collections/{name}/snapshots/upload", files={"snapshot": ("big", big)})
    assert r.status_code == 413
    assert "limit" in r.json()["status"]["error"]
    assert leftovers(data_dir) == []


def test_streamed_upload_over_the_limit_is_413(
    http: httpx.Client, name: str, data_dir: Path
) -> None:
    """Without a Content-Length the limit is enforced while the bytes arrive."""
    boundary = "crewchief-test-boundary"

    def body() -> Iterator[bytes]:
        yield (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="snapshot"; filename="big.snapshot"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        for _ in range(MAX_UPLOAD_BYTES // (256 * 1024) + 4):
            yield b"\1" * (256 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    r = http.post(
        f"/collections/{name}/snapshots/upload",
        content=body(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 413
    assert leftovers(data_dir) == []


def test_malformed_upload_requests(http: httpx.Client, name: str) -> None:
    r = http.post(f"/collections/{name}/snapshots/upload", content=b"raw bytes")
    assert r.status_code == 400
    r = http.post(f"/collections/{name}/snapshots/upload", files={"other": ("x", b"abc")})
    assert r.status_code == 400
    assert "snapshot" in r.json()["status"]["error"]
    r = http.post(f"/collections/{name}/snapshots/upload?priority=bogus", files={"snapshot": b"x"})
    assert r.status_code == 400


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own: a full snapshot covers every collection, so keep them few."""
    proc = start_server(tmp_path_factory.mktemp("full") / "data")
    yield proc
    proc.stop()


def test_full_snapshots(small_server: ServerProcess, name: str, tmp_path: Path) -> None:
    client = qdrant(small_server.url)
    http = httpx.Client(base_url=small_server.url, timeout=60)
    make_collection(client, name, n=3, dim=4)
    snap = client.create_full_snapshot()
    assert snap is not None and snap.name.endswith(".snapshot")
    assert snap.name in [s.name for s in client.list_full_snapshots()]
    got = download(http, f"/snapshots/{snap.name}", tmp_path / "full")
    assert sha256(got) == snap.checksum
    with tarfile.open(got) as tar:
        names = tar.getnames()
    assert "config.json" in names
    assert client.delete_full_snapshot(snap.name) is True
    assert snap.name not in [s.name for s in client.list_full_snapshots()]
    assert http.get(f"/snapshots/{snap.name}").status_code == 404
    assert http.delete(f"/snapshots/{snap.name}").status_code == 404
    r = http.post("/snapshots?wait=false")
    assert r.status_code == 202 and r.json()["status"] == "accepted"
    http.close()
    client.close()


def test_upload_with_wait_false_recovers_in_the_background(
    client: QdrantClient, http: httpx.Client, name: str, snapshot_file: Path, data_dir: Path
) -> None:
    target = f"{name}_bg"
    with open(snapshot_file, "rb") as f:
        r = http.post(f"/collections/{target}/snapshots/upload?wait=false", files={"snapshot": f})
    assert r.status_code == 202 and r.json()["status"] == "accepted"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if client.collection_exists(target) and not leftovers(data_dir):
            break
        time.sleep(0.05)
    assert client.count(target).count == 30
    assert leftovers(data_dir) == []


def test_recover_refuses_files_outside_the_data_directory(
    client: QdrantClient, name: str, snapshot_file: Path
) -> None:
    """A remote client may not make the server read arbitrary files of its host."""
    client.upsert(name, points(5, 4, seed=7, start=1000))
    for location in (snapshot_file.as_uri(), "file:///etc/passwd"):  # Qdrant's 403
        with pytest.raises(UnexpectedResponse) as info:
            client.recover_snapshot(name, location)
        assert info.value.status_code == 403
        assert b"Forbidden: Snapshot file path must be inside" in info.value.content
    with pytest.raises(UnexpectedResponse) as info:
        client.recover_snapshot(name, str(snapshot_file))
    assert info.value.status_code == 400
    assert b"outside the server's data directory" in info.value.content
    assert client.count(name).count == 35
