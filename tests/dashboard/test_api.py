"""The dashboard's JSON API on the real server, with both keys, data made by qdrant-client."""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

import httpx
from croniter import croniter
from qdrant_client import QdrantClient

from crewchief.core.keys import NO_KEY, READ_ONLY
from crewchief.dashboard.auth import DashboardKeys
from tests.dashboard.conftest import (
    NIGHTLY,
    V1,
    V2,
    aliases_of,
    point_alias,
)
from tests.server.serverproc import ServerProcess


def result(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "ok"
    return body["result"]


def test_the_page_loads_without_a_key_and_the_data_does_not(board: ServerProcess) -> None:
    with httpx.Client(base_url=board.url, timeout=30) as http:
        assert http.get("/dashboard").status_code == 307  # to /dashboard/
        page = http.get("/dashboard", follow_redirects=True)
        assert page.status_code == 200
        assert '<base href="/dashboard/">' in page.text
        script = http.get("/dashboard/static/js/app.js")
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]
        assert http.get("/dashboard/static/style.css").status_code == 200
        assert http.get("/dashboard/api/overview").status_code == 401
        wrong = http.get("/dashboard/api/overview", headers={"api-key": "nope"})
        assert wrong.status_code == 401
        assert "error" in wrong.json()["status"]


def test_every_asset_is_served_by_the_package() -> None:
    """No CDN: nothing in the page or its scripts is loaded from another host."""
    static = resources.files("crewchief.dashboard").joinpath("static")
    texts = [static.joinpath("index.html").read_text(), static.joinpath("style.css").read_text()]
    texts += [f.read_text() for f in static.joinpath("js").iterdir() if f.name.endswith(".js")]
    assert len(texts) >= 8
    for text in texts:
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
        assert not re.search(r"""(import|from)\s*["'](https?:)?//""", text)
        assert "url(http" not in text


def test_overview_has_a_card_per_collection(read_only: httpx.Client) -> None:
    overview = result(read_only.get("overview"))
    assert overview["target"]["kind"] == "embedded"
    cards = {c["name"]: c for c in overview["collections"]}
    assert {V1, V2} <= set(cards)
    v1 = cards[V1]
    assert v1["status"] == "green"
    assert v1["points"] == 200
    assert v1["segments"] >= 1
    assert "shop" in v1["aliases"]
    assert v1["last_snapshot_age_s"] is not None and v1["last_snapshot_age_s"] < 600
    assert v1["last_backup_age_s"] is not None and v1["last_backup_age_s"] < 600
    names = {(i["name"], i["subject"]): i for i in v1["indicators"]}
    # with a repository, its verified backups are the recovery points (as in status --repo)
    assert names[("backup", V1)]["status"] == "green"
    assert "verified" in names[("backup", V1)]["symptom"]
    assert names[("alias", "shop")]["symptom"] == f"-> {V1}"
    assert overview["repo"]["backups"] >= 1 and overview["repo"]["last_verify_ok"] is True


def test_history_is_sampled_in_the_background(read_only: httpx.Client) -> None:
    deadline = time.monotonic() + 10
    while True:
        series = result(read_only.get(f"collections/{V2}/history"))
        if len(series["t"]) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert len(series["t"]) >= 3
    assert series["points"][-1] == 300
    assert series["t"] == sorted(series["t"])


def test_collection_detail_and_snapshot_download(read_only: httpx.Client) -> None:
    detail = result(read_only.get(f"collections/{V1}"))
    assert detail["config"]["params"]["vectors"]["size"] == 16
    assert detail["vectors"] == [
        {
            "name": "",
            "kind": "dense",
            "size": 16,
            "distance": "Cosine",
            "datatype": "float32",
            "multivector": None,
            "on_disk": False,
            "hnsw": None,
            "quantization": None,
            "searchable": True,
        }
    ]
    assert detail["quantization"] is None
    snap = detail["snapshots"][0]
    assert snap["checksum"] and snap["size"] > 0
    download = read_only.get(f"collections/{V1}/snapshots/{snap['name']}/file")
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == snap["checksum"]
    missing = read_only.get("collections/no_such_collection")
    assert missing.status_code == 404
    assert "doesn't exist" in missing.json()["status"]["error"]


def test_the_search_tester_is_a_read(read_only: httpx.Client) -> None:
    found = result(read_only.post(f"collections/{V1}/search", json={"random": True, "limit": 5}))
    assert len(found["hits"]) == 5
    assert found["hits"][0]["id"] == found["query_id"]  # a point is nearest to itself
    assert "title" in found["hits"][0]["payload"]
    pasted = ", ".join(str(x) for x in found["vector"])
    again = result(read_only.post(f"collections/{V1}/search", json={"vector": pasted}))
    assert again["hits"][0]["id"] == found["query_id"]
    bad = read_only.post(f"collections/{V1}/search", json={"vector": "1, two"})
    assert bad.status_code == 400
    # a Query API body (as pasted text or as an object): the same answer as the vector
    # with the query's own point filtered out: the four others first, then one more
    own = found["query_id"]
    body = {"query": found["vector"], "limit": 5, "filter": {"must_not": [{"has_id": [own]}]}}
    for sent in (json.dumps(body), body):
        api = result(read_only.post(f"collections/{V1}/search", json={"query_body": sent}))
        ids = [h["id"] for h in api["hits"]]
        assert own not in ids and ids[:4] == [h["id"] for h in found["hits"][1:]]
        assert len(api["hits"]) == 5 and "title" in api["hits"][0]["payload"]
    three = {"query_body": {"query": found["vector"]}, "limit": 3}  # the form's top-k
    assert len(result(read_only.post(f"collections/{V1}/search", json=three))["hits"]) == 3
    for sent, error in [
        ("{not json", "not JSON"),
        ('{"query": [0.1], "colour": 1}', "not a valid Query API body"),
        ('{"query": [0.1, 0.2], "using": "nope"}', "nope"),
    ]:
        refused = read_only.post(f"collections/{V1}/search", json={"query_body": sent})
        assert refused.status_code in (400, 404), refused.text
        assert error in refused.json()["status"]["error"]


def test_read_only_key_cannot_change_anything(
    read_only: httpx.Client, client: QdrantClient, alias_name: str
) -> None:
    point_alias(client, alias_name, V1)
    plan = result(read_only.get(f"aliases/{alias_name}/plan", params={"collection": V2}))
    assert plan["current"] == V1 and plan["new"] == V2
    refused = [
        read_only.post(f"aliases/{alias_name}/switch", json={"collection": V2, "expect": V1}),
        read_only.post(f"aliases/{alias_name}/rollback", json={}),
        read_only.post(f"collections/{V1}/snapshots"),
        read_only.post(f"collections/{V1}/snapshots/whatever.snapshot/delete"),
    ]
    assert [r.status_code for r in refused] == [403] * 4
    assert refused[0].json()["status"]["error"] == "Forbidden: Global manage access is required"
    assert aliases_of(client)[alias_name] == V1


def test_switch_is_compare_and_set_and_rollback_is_a_new_entry(
    full: httpx.Client, client: QdrantClient, alias_name: str
) -> None:
    point_alias(client, alias_name, V1)
    stale = full.post(f"aliases/{alias_name}/switch", json={"collection": V2, "expect": V2})
    assert stale.status_code == 409
    assert aliases_of(client)[alias_name] == V1
    done = result(full.post(f"aliases/{alias_name}/switch", json={"collection": V2, "expect": V1}))
    assert done["changes"][0]["new"] == V2
    assert aliases_of(client)[alias_name] == V2
    plan = result(full.get(f"aliases/{alias_name}/plan", params={"rollback": "1"}))
    assert plan["new"] == V1
    result(full.post(f"aliases/{alias_name}/rollback", json={"expect": V2}))
    assert aliases_of(client)[alias_name] == V1
    view = result(full.get("aliases"))
    mine = [h for h in view["history"] if h["alias"] == alias_name]
    assert [(h["old"], h["new"]) for h in mine] == [(V2, V1), (V1, V2), (None, V1)]  # newest first
    empty = full.get(f"aliases/{alias_name}/plan", params={"collection": "no_such_collection"})
    assert empty.status_code == 404


def test_snapshot_create_and_delete_with_the_full_key(
    full: httpx.Client, client: QdrantClient
) -> None:
    snap = result(full.post(f"collections/{V2}/snapshots"))
    assert snap["name"] in {s.name for s in client.list_snapshots(V2)}
    result(full.post(f"collections/{V2}/snapshots/{snap['name']}/delete"))
    assert snap["name"] not in {s.name for s in client.list_snapshots(V2)}


def test_backups_page_shows_repository_and_schedule(read_only: httpx.Client) -> None:
    backups = result(read_only.get("backups"))
    assert backups["configured"] is True and backups["error"] is None
    latest = backups["backups"][-1]
    assert {V1, V2} <= set(latest["collections"])
    assert latest["bytes_total"] > 0 and latest["dedup_ratio"] is not None
    assert latest["verify"]["ok"] is True
    (job,) = [s for s in backups["schedules"] if s["job"] == "nightly"]
    assert {"create", "verify"} <= set(job["last_success"])
    assert job["last_verify"]["ok"] is True
    assert job["schedule"] == NIGHTLY  # the plan the scheduler recorded when it started
    assert set(job["next_run"]) == set(NIGHTLY)
    for action, expr in NIGHTLY.items():
        next_run = datetime.fromisoformat(job["next_run"][action])
        ran = datetime.fromisoformat(job["last_success"][action])
        assert croniter.match(expr, next_run)
        assert ran < next_run <= ran + timedelta(days=7)  # the first match after starting


def test_key_rules_for_dashboard_paths() -> None:
    rules = DashboardKeys(api_key="full", read_only_api_key="ro")
    assert rules.check("GET", "/dashboard/", None) is None
    assert rules.check("GET", "/dashboard/static/js/app.js", None) is None
    assert rules.check("GET", "/dashboard/static/../api/overview", None) == (401, NO_KEY)
    assert rules.check("GET", "/dashboard/api/overview", "ro") is None
    assert rules.check("POST", "/dashboard/api/collections/c/search", "ro") is None
    assert rules.check("POST", "/dashboard/api/aliases/a/switch", "ro") == (403, READ_ONLY)
    assert rules.check("POST", "/dashboard/api/aliases/a/switch", "full") is None
    assert rules.check("GET", "/collections", None) == (401, NO_KEY)  # the rest is unchanged


def test_every_vector_kind_is_shown_and_the_tester_searches_a_dense_one(
    read_only: httpx.Client, hybrid: str
) -> None:
    detail = result(read_only.get(f"collections/{hybrid}"))
    by = {v["name"]: v for v in detail["vectors"]}
    assert [v["name"] for v in detail["vectors"]] == [
        "bytes", "colbert", "dense", "half", "tags", "text"
    ]  # fmt: skip
    assert by["half"]["datatype"] == "float16" and by["bytes"]["datatype"] == "uint8"
    assert by["colbert"]["kind"] == "multi" and by["colbert"]["multivector"] == "max_sim"
    assert not by["colbert"]["searchable"] and by["dense"]["searchable"]
    assert by["text"] == {
        "name": "text",
        "kind": "sparse",
        "modifier": "idf",
        "datatype": "float32",
        "on_disk": False,
        "searchable": False,
    }
    assert by["tags"]["datatype"] == "float16"
    assert detail["quantization"] == {"scalar": {"type": "int8", "always_ram": True}}
    assert detail["config"]["metadata"] == {"team": "pit", "tier": 2}
    # the search tester: a random point that holds the chosen vector, then that vector
    for _ in range(5):  # two in three points hold `half`: the tester picks among those
        body = {"random": True, "limit": 3, "using": "half"}
        found = result(read_only.post(f"collections/{hybrid}/search", json=body))
        assert found["using"] == "half" and len(found["vector"]) == 4 and len(found["hits"]) == 3
        assert found["query_id"] % 3 != 1  # point id i + 1 holds `half` when i % 3 != 0
    body = {"random": True, "limit": 3, "using": "dense"}  # Cosine: a point is its own nearest
    found = result(read_only.post(f"collections/{hybrid}/search", json=body))
    assert found["hits"][0]["id"] == found["query_id"] and len(found["vector"]) == 8
    refused = read_only.post(
        f"collections/{hybrid}/search", json={"vector": "1, 2, 3, 4", "using": "colbert"}
    )
    assert refused.status_code == 400 and "multi-vector" in refused.text
    cards = {c["name"]: c for c in result(read_only.get("overview"))["collections"]}
    assert cards[hybrid]["vectors"] == 290  # the vectors points hold, not points x names
    assert cards["words"]["vectors"] == 4 and cards["words"]["indexed_pct"] == 100.0
    sparse_only = result(read_only.get("collections/words"))
    assert [v["kind"] for v in sparse_only["vectors"]] == ["sparse"]
    none = read_only.post("collections/words/search", json={"random": True})
    assert none.status_code == 400 and "no dense vector" in none.text
