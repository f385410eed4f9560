"""Service endpoints: version info, probes, /metrics, /telemetry."""

from __future__ import annotations

import importlib.metadata
import re
import time
import warnings
from pathlib import Path

import httpx
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from qdrant_client import QdrantClient, models
from qdrant_client.common.version_check import is_compatible
from qdrant_client.qdrant_remote import QdrantRemote

from crewchief.engine.builder import FAIL_ENV
from tests.server.conftest import qdrant
from tests.server.data import make_collection
from tests.server.serverproc import ServerProcess, start_server

LABEL = r'[a-z_]+="(?:[^"\\\n]|\\.)*"'
SAMPLE = re.compile(rf"[a-z_]+(\{{{LABEL}(,{LABEL})*\}})? -?[0-9.e+]+")


def test_root_reports_a_version_qdrant_client_accepts(http: httpx.Client) -> None:
    r = http.get("/")
    assert r.status_code == 200
    info = models.VersionInfo.model_validate(r.json())
    assert info.title == "crewchief (qdrant-compatible)"
    assert is_compatible(importlib.metadata.version("qdrant-client"), info.version)


def test_client_start_up_gives_no_warning(server: ServerProcess) -> None:
    """The check qdrant-client runs in a thread at start-up, run here in the open."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        QdrantRemote._check_compatibility(server.url, {}, None, 5)
    assert [str(w.message) for w in caught] == []


def test_info(client: QdrantClient) -> None:
    assert client.info().title == "crewchief (qdrant-compatible)"


def test_probes_are_plain_text(http: httpx.Client) -> None:
    for path in ("/healthz", "/livez", "/readyz"):
        r = http.get(path)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain")
        assert r.text


def test_metrics(client: QdrantClient, http: httpx.Client, name: str) -> None:
    make_collection(client, name, n=12, dim=4)
    alias = f"{name}_m"
    client.update_collection_aliases(
        [
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=name, alias_name=alias)
            )
        ]
    )
    client.create_snapshot(name)
    r = http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}  # a real parser

    def value(family: str, **labels: str) -> float:
        return sample(families, family, **labels)

    assert value("collections_total") == len(client.get_collections().collections)
    # Qdrant's labels: `id` for the collection, except collection_vectors (Qdrant's too)
    assert value("collection_points", id=name) == 12
    assert value("collection_vectors", collection=name, vector="") == 12
    assert value("collection_running_optimizations", id=name) == 0
    assert (
        families["collection_points"].documentation == "approximate amount of points per collection"
    )
    assert value("crewchief_collection_optimizer_ok", collection=name) == 1
    assert value("crewchief_collection_status", collection=name, status="green") == 1
    assert value("crewchief_collection_status", collection=name, status="red") == 0
    assert value("crewchief_alias_target", alias=alias, collection=name) == 1
    assert value("crewchief_last_snapshot_timestamp_seconds", collection=name) > 1.7e9
    assert value("snapshot_created", id=name) >= 1  # exposed as snapshot_created_total
    assert "snapshot_created_total" in r.text
    # Qdrant counts only its whitelist of point endpoints in /metrics
    points = {"method": "PUT", "endpoint": "/collections/{collection_name}/points"}
    assert value("rest_responses", **points, status="200") >= 1
    assert value("rest_responses_max_duration_seconds", **points, status="200") > 0
    endpoints = {s.labels.get("endpoint") for s in families["rest_responses"].samples}
    assert "/collections/{collection_name}" not in endpoints
    assert families["rest_responses_duration_seconds"].type == "histogram"


def sample(families: dict[str, Metric], family: str, **labels: str) -> float:
    for s in families[family].samples:
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return float(s.value)
    raise AssertionError(f"no {family} sample with {labels}")


def test_metrics_report_a_failed_index_build(tmp_path: Path) -> None:
    proc = start_server(tmp_path / "data", env={FAIL_ENV: "injected failure"})
    try:
        client = qdrant(proc.url, check=False)
        make_collection(client, "broken", n=12, dim=4)
        assert httpx.post(f"{proc.url}/crewchief/collections/broken/optimize").status_code == 200
        deadline = time.monotonic() + 60
        while client.get_collection("broken").status == models.CollectionStatus.YELLOW:
            assert time.monotonic() < deadline, "the index build never finished"
            time.sleep(0.05)
        text = httpx.get(f"{proc.url}/metrics").text
    finally:
        proc.stop()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert sample(families, "crewchief_collection_optimizer_ok", collection="broken") == 0
    assert sample(families, "crewchief_collection_status", collection="broken", status="red") == 1
    assert sample(families, "collection_running_optimizations", id="broken") == 0


def telemetry(http: httpx.Client) -> models.TelemetryData:
    r = http.get("/telemetry")
    assert r.status_code == 200
    return models.TelemetryData.model_validate(r.json()["result"])


def test_telemetry_parses_as_qdrant_model(
    http: httpx.Client, client: QdrantClient, name: str
) -> None:
    """It counts the collections the server has now: one more after a create, one fewer after."""
    before = telemetry(http).collections.number_of_collections
    client.create_collection(
        name, vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
    )
    try:
        data = telemetry(http)
        assert data.collections.number_of_collections == len(client.get_collections().collections)
        assert data.collections.number_of_collections == before + 1
    finally:
        client.delete_collection(name)
    assert telemetry(http).collections.number_of_collections == before
    assert data.app is not None and data.app.name == "crewchief"
