"""Service endpoints: version info, probes, /metrics, /telemetry."""

from __future__ import annotations

import importlib.metadata
import re
import warnings

import httpx
from qdrant_client import QdrantClient, models
from qdrant_client.common.version_check import is_compatible
from qdrant_client.qdrant_remote import QdrantRemote

from tests.server.data import make_collection
from tests.server.serverproc import ServerProcess

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
    text = r.text
    total = int(re.search(r"^collections_total (\d+)$", text, re.M).group(1))  # type: ignore[union-attr]
    assert total == len(client.get_collections().collections)
    assert f'collection_points{{collection="{name}"}} 12' in text
    assert f'collection_vectors{{collection="{name}",vector=""}} 12' in text
    assert f'collection_running_optimizations{{collection="{name}"}}' in text
    assert f'crewchief_collection_status{{collection="{name}",status="green"}} 1' in text
    assert f'crewchief_alias_target{{alias="{alias}",collection="{name}"}} 1' in text
    assert re.search(
        rf'^crewchief_last_snapshot_timestamp_seconds{{collection="{name}"}} \d+', text, re.M
    )
    assert re.search(r"^snapshot_created_total [1-9]\d*$", text, re.M)
    assert re.search(
        r'^rest_responses_total\{method="PUT",endpoint="/collections/\{collection_name\}",'
        r'status="200"\} \d+',
        text,
        re.M,
    )
    assert "rest_responses_duration_seconds_bucket{" in text
    assert "# TYPE rest_responses_duration_seconds histogram" in text
    for line in text.splitlines():  # every sample line is `name{labels} number`
        if line and not line.startswith("#"):
            assert SAMPLE.fullmatch(line), line


def test_telemetry_parses_as_qdrant_model(http: httpx.Client) -> None:
    r = http.get("/telemetry")
    assert r.status_code == 200
    data = models.TelemetryData.model_validate(r.json()["result"])
    assert data.collections.number_of_collections >= 0
    assert data.app is not None and data.app.name == "crewchief"
