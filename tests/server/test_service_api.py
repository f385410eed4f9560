"""Qdrant's service API on `crewchief serve`, as operators' tools read it, and request
handling as Qdrant's (unknown fields, error statuses and texts, float32 numbers)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families
from qdrant_client import QdrantClient, models

from tests.server.data import make_collection

# What Qdrant's Grafana dashboards and alerts query: series name -> its label names
PROMQL_SERIES = {
    "app_info": {"name", "version"},
    "collections_total": set(),
    "collections_vector_total": set(),
    "collection_points": {"id"},
    "collection_vectors": {"collection", "vector"},
    "collection_running_optimizations": {"id"},
    "collection_active_replicas_min": set(),
    "collection_dead_replicas": set(),
    "collection_update_queue_length": {"id"},
    "snapshot_created_total": {"id"},
    "cluster_enabled": set(),
    "rest_responses_total": {"method", "endpoint", "status"},
    "rest_responses_avg_duration_seconds": {"method", "endpoint", "status"},
    "rest_responses_max_duration_seconds": {"method", "endpoint", "status"},
    "rest_responses_duration_seconds_bucket": {"method", "endpoint", "status", "le"},
    "rest_responses_duration_seconds_sum": {"method", "endpoint", "status"},
    "rest_responses_duration_seconds_count": {"method", "endpoint", "status"},
    "process_open_fds": set(),
    "process_threads": set(),
}


def _series(text: str) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found.setdefault(s.name, []).append(s.labels)
    return found


def test_grafana_series_are_qdrants(client: QdrantClient, http: httpx.Client, name: str) -> None:
    make_collection(client, name, n=5, dim=4)
    client.scroll(name, limit=2)
    client.create_snapshot(name)
    text = http.get("/metrics").text
    series = _series(text)
    for metric, labels in PROMQL_SERIES.items():
        assert metric in series, metric
        assert any(set(lab) == labels for lab in series[metric]), (metric, series[metric][:2])
    assert {"id": name} in series["collection_points"]
    scroll = "/collections/{collection_name}/points/scroll"
    assert any(lab["endpoint"] == scroll for lab in series["rest_responses_total"])
    assert "# HELP app_info information about qdrant server" in text
    assert "# TYPE rest_responses_duration_seconds histogram" in text
    assert "# TYPE snapshot_created_total counter" in text
    # per_collection=true: the same families, by collection instead
    per = _series(http.get("/metrics", params={"per_collection": "true"}).text)
    assert any(lab.get("collection") == name for lab in per["rest_responses_total"])
    assert all("collection" not in lab for lab in series["rest_responses_total"])


def test_telemetry_levels_and_requests(client: QdrantClient, http: httpx.Client, name: str) -> None:
    make_collection(client, name, n=5, dim=4)
    r0 = http.get("/telemetry").json()["result"]
    assert set(r0) == {"id", "app", "collections", "cluster", "requests", "quota"}
    upserts = r0["requests"]["rest"]["responses"]["PUT /collections/{collection_name}/points"]
    stats = upserts["200"]
    assert stats["count"] >= 1 and stats["min_duration_micros"] <= stats["max_duration_micros"]
    responded = datetime.fromisoformat(stats["last_responded"].replace("Z", "+00:00"))
    assert (datetime.now(UTC) - responded).total_seconds() < 600
    r1 = http.get("/telemetry", params={"details_level": 1}).json()["result"]
    assert {"memory", "hardware", "search_pool"} <= set(r1)
    assert set(r1["collections"]["collections"][0]) == {"vectors", "optimizers_status", "params"}
    r4 = http.get("/telemetry", params={"details_level": 4}).json()["result"]
    mine = next(c for c in r4["collections"]["collections"] if c["id"] == name)
    local = mine["shards"][0]["local"]
    assert local["num_points"] == 5 and local["segments"]
    assert models.TelemetryData.model_validate(r0).requests is not None
    per = http.get("/telemetry", params={"per_collection": "true"}).json()["result"]
    assert name in per["requests"]["rest"]["per_collection_responses"]
    assert "features" not in r0["app"]
    assert r1["app"]["features"] == {
        "debug": False,
        "service_debug_feature": False,
        "recovery_mode": False,
        "gpu": False,
        "rocksdb": False,
        "staging": False,
    }


@pytest.mark.parametrize("route", ["/telemetry", "/metrics"])
def test_anonymize_is_refused_not_ignored(http: httpx.Client, route: str) -> None:
    """crewchief does not anonymize: asking for it is a 400, never the plain report."""
    refused = http.get(route, params={"anonymize": "true"})
    assert refused.status_code == 400
    assert "anonymize=true is not supported" in refused.json()["status"]["error"]
    assert http.get(route, params={"anonymize": "false"}).status_code == 200


def test_standalone_cluster_answers(client: QdrantClient, http: httpx.Client, name: str) -> None:
    make_collection(client, name, n=3, dim=4)
    assert http.get("/cluster").json()["result"] == {"status": "disabled"}
    info = models.CollectionClusterInfo.model_validate(
        http.get(f"/collections/{name}/cluster").json()["result"]
    )
    assert info.shard_count == 1 and info.local_shards[0].points_count == 3
    assert http.post("/cluster/recover").status_code == 405
    assert http.delete("/cluster/peer/7").json()["status"]["error"] == (
        "Qdrant is running in standalone mode"
    )
    move = {"move_shard": {"shard_id": 0, "from_peer_id": 1, "to_peer_id": 2}}
    assert http.post(f"/collections/{name}/cluster", json=move).status_code == 400
    assert http.get("/collections/ghost/cluster").status_code == 404
    quotas = http.get("/quotas").json()["result"]
    assert quotas["config"] == {"enabled": False} and "disk_usage_percent" in quotas["usage"]
    assert http.put("/quotas", json={"enabled": True}).status_code == 400
    assert isinstance(http.get("/issues").json()["result"]["issues"], list)
    assert http.delete("/issues").json()["result"] is True


def test_optimizations_report_the_builder(
    client: QdrantClient, http: httpx.Client, name: str
) -> None:
    make_collection(client, name, n=20, dim=4)
    r = http.get(f"/collections/{name}/optimizations").json()["result"]
    assert r["running"] == [] and "completed" not in r
    assert http.post(f"/crewchief/collections/{name}/optimize").status_code == 200
    deadline = time.monotonic() + 60
    while client.get_collection(name).status == models.CollectionStatus.YELLOW:
        assert time.monotonic() < deadline, "the index build never finished"
        time.sleep(0.05)
    full = http.get(
        f"/collections/{name}/optimizations", params={"with": "queued, completed ,idle_segments"}
    ).json()["result"]
    parsed = models.OptimizationsResponse.model_validate(full)
    assert parsed.running == [] and parsed.queued == []
    assert [c.optimizer for c in parsed.completed or []] == ["indexing"]
    assert parsed.idle_segments and sum(s.points_count for s in parsed.idle_segments) == 20
    assert http.get(f"/collections/{name}/optimizations?with=bogus").status_code == 400


def test_shard_snapshots_of_shard_zero(client: QdrantClient, http: httpx.Client, name: str) -> None:
    make_collection(client, name, n=4, dim=4)
    base = f"/collections/{name}/shards/0/snapshots"
    created = http.post(base).json()["result"]
    assert [s["name"] for s in http.get(base).json()["result"]] == [created["name"]]
    assert http.get(f"{base}/{created['name']}").content[:1]
    client.delete(name, points_selector=models.PointIdsList(points=[1, 2]), wait=True)
    assert client.count(name).count == 2
    location = f"file://{created['name']}"  # not absolute
    assert http.put(f"{base}/recover", json={"location": location}).status_code == 400
    assert http.get(f"/collections/{name}/shards/1/snapshots").status_code == 404
    bad = http.post(f"{base}/upload", params={"checksum": "abc"}, files={"snapshot": b"x"})
    assert bad.status_code == 422 and "invalid_sha256_hash" in bad.text
    assert http.delete(f"{base}/{created['name']}").json()["result"] is True
    assert http.get(base).json()["result"] == []


def test_forbidden_snapshot_location(http: httpx.Client, name: str) -> None:
    r = http.put(f"/collections/{name}/snapshots/recover", json={"location": "file:///etc/passwd"})
    assert r.status_code == 403
    assert r.json()["status"]["error"].startswith(
        "Forbidden: Snapshot file path must be inside the snapshots directory"
    )


def test_unknown_fields_are_ignored_known_ones_checked(
    client: QdrantClient, http: httpx.Client, name: str
) -> None:
    body = {"vectors": {"size": 4, "distance": "Dot", "on_disk_vectors": True}, "nonsense": 1}
    assert http.put(f"/collections/{name}", json=body).status_code == 200, "ignored like Qdrant"
    point = {"id": 1, "vector": [0.05, 0.61, 0.76, 0.74], "colour": "red"}
    r = http.put(f"/collections/{name}/points?wait=true", json={"points": [point]})
    assert r.status_code == 200, r.text
    # Filter refuses unknown fields in Qdrant too (serde deny_unknown_fields)
    r = http.post(f"/collections/{name}/points/scroll", json={"filter": {"must": [], "oops": 1}})
    assert r.status_code == 400 and r.json()["status"]["error"].startswith("Format error")
    big = {"vectors": {"size": 65537, "distance": "Dot"}}
    r = http.put(f"/collections/{name}_big", json=big)
    assert r.status_code == 422
    assert r.json()["status"]["error"] == (
        "Validation error in JSON body: "
        "[vectors.size: value 65537 invalid, must be from 1 to 65536]"
    )
    r = http.post(f"/collections/{name}/points/scroll", json={"limit": 0})
    assert r.status_code == 422 and "limit: value 0 invalid, must be 1 or larger" in r.text


def test_method_mismatch_under_points_is_404(http: httpx.Client, name: str) -> None:
    assert http.put(f"/collections/{name}/points/scroll", json={}).status_code == 404
    assert http.delete(f"/collections/{name}/points/count").status_code == 404
    assert http.post(f"/collections/{name}/points/no-such-route").status_code == 404


def test_vectors_echo_at_float32_precision(
    client: QdrantClient, http: httpx.Client, name: str
) -> None:
    client.create_collection(name, models.VectorParams(size=4, distance=models.Distance.DOT))
    payload = {"exact": 0.05000000074505806, "big": 2**53 + 1}
    point = {"id": 2**63 + 5, "vector": [0.05, 0.61, 0.76, 0.74], "payload": payload}
    assert http.put(f"/collections/{name}/points?wait=true", json={"points": [point]}).is_success
    raw = http.post(
        f"/collections/{name}/points/scroll", json={"with_vector": True, "with_payload": True}
    ).text
    assert '"vector":[0.05,0.61,0.76,0.74]' in raw, raw
    assert '"id":9223372036854775813' in raw and '"big":9007199254740993' in raw
    assert '"exact":0.05000000074505806' in raw  # payload numbers are JSON, kept exactly
    query = http.post(f"/collections/{name}/points/query", json={"query": [1, 0, 0, 0]}).json()
    score = query["result"]["points"][0]["score"]
    assert score == float(str(np.float32(0.05)))
