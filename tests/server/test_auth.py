"""API keys: every route with no key, a wrong key, the read-only key and the full key.

Every route the app serves (Qdrant's, crewchief's own, the dashboard's page, assets and
API, snapshot downloads) is in the matrix, and a test fails when a route is added
without it.  Keys are compared in constant time, and no key (not even a wrong one)
shows up in an answer, in the server's logs or in the CLI's errors.
"""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from qdrant_client import models
from qdrant_client.http.exceptions import UnexpectedResponse
from starlette.routing import BaseRoute, Mount, Route

from crewchief import Engine
from crewchief.core import keys as key_rules
from crewchief.dashboard import auth as dashboard_auth
from crewchief.server import auth as server_auth
from crewchief.server.app import create_app
from tests.server.conftest import FULL_KEY, READ_ONLY_KEY, qdrant
from tests.server.data import points
from tests.server.serverproc import ServerProcess

C = "authz"  # the collection most routes work on
DASH_V1, DASH_V2, DASH_ALIAS = "authz_dash_v1", "authz_dash_v2", "authz_dash"
PUBLIC, READ, WRITE = "public", "read", "write"


@dataclass
class Call:
    kind: str
    method: str
    route: str  # the route template, to check every route is covered
    path: str
    json: Any = None
    files: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(auth_server: ServerProcess) -> Iterator[dict[str, str]]:
    """Collections, an alias and snapshots for the routes to work on."""
    admin = qdrant(auth_server.url, api_key=FULL_KEY)
    for name in (C, "authz_doomed"):
        admin.create_collection(
            name, vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
        )
        admin.upsert(name, points(10, 4))
    admin.create_payload_index(C, "genre", models.PayloadSchemaType.KEYWORD)
    for name in (DASH_V1, DASH_V2):  # an alias with a history, for the dashboard's switches
        admin.create_collection(
            name, vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
        )
        admin.upsert(name, points(5, 4))
    for name in (DASH_V1, DASH_V2):
        admin.update_collection_aliases(
            [
                models.CreateAliasOperation(
                    create_alias=models.CreateAlias(collection_name=name, alias_name=DASH_ALIAS)
                )
            ]
        )
    snaps = [admin.create_snapshot(C), admin.create_snapshot(C), admin.create_snapshot(C)]
    fulls = [admin.create_full_snapshot(), admin.create_full_snapshot()]
    assert all(s is not None for s in [*snaps, *fulls])
    snapshot_path = auth_server.data / "snapshots" / C / snaps[0].name  # type: ignore[union-attr]
    yield {
        "snap": snaps[0].name,  # type: ignore[union-attr]
        "doomed_snap": snaps[1].name,  # type: ignore[union-attr]
        "dash_doomed_snap": snaps[2].name,  # type: ignore[union-attr]
        "full": fulls[0].name,  # type: ignore[union-attr]
        "doomed_full": fulls[1].name,  # type: ignore[union-attr]
        "snapshot_uri": snapshot_path.as_uri(),
    }
    admin.close()


def calls(w: Mapping[str, str]) -> list[Call]:
    col, snaps = "/collections/{collection_name}", "/collections/{collection_name}/snapshots"
    q = {"query": [1, 0, 0, 0], "limit": 3}
    return [
        Call(PUBLIC, "GET", "/", "/"),
        Call(PUBLIC, "GET", "/healthz", "/healthz"),
        Call(PUBLIC, "GET", "/livez", "/livez"),
        Call(PUBLIC, "GET", "/readyz", "/readyz"),
        Call(READ, "GET", "/metrics", "/metrics"),
        Call(READ, "GET", "/telemetry", "/telemetry"),
        Call(READ, "GET", "/collections", "/collections"),
        Call(READ, "GET", "/aliases", "/aliases"),
        Call(READ, "GET", col, f"/collections/{C}"),
        Call(READ, "GET", col + "/exists", f"/collections/{C}/exists"),
        Call(READ, "GET", col + "/aliases", f"/collections/{C}/aliases"),
        Call(READ, "GET", col + "/points/{id}", f"/collections/{C}/points/1"),
        Call(READ, "POST", col + "/points", f"/collections/{C}/points", {"ids": [1, 2]}),
        Call(READ, "POST", col + "/points/scroll", f"/collections/{C}/points/scroll", {}),
        Call(READ, "POST", col + "/points/count", f"/collections/{C}/points/count", {}),
        Call(READ, "POST", col + "/points/query", f"/collections/{C}/points/query", q),
        Call(
            READ,
            "POST",
            col + "/points/query/batch",
            f"/collections/{C}/points/query/batch",
            {"searches": [q, q]},
        ),
        *search_calls(col),
        Call(READ, "GET", snaps, f"/collections/{C}/snapshots"),
        Call(READ, "GET", snaps + "/{snapshot_name}", f"/collections/{C}/snapshots/{w['snap']}"),
        Call(READ, "GET", "/snapshots", "/snapshots"),
        Call(READ, "GET", "/snapshots/{snapshot_name}", f"/snapshots/{w['full']}"),
        Call(READ, "GET", "/crewchief/alias-history", "/crewchief/alias-history"),
        Call(
            WRITE,
            "PUT",
            col,
            "/collections/authz_new",
            {"vectors": {"size": 4, "distance": "Dot"}},
        ),
        Call(WRITE, "DELETE", col, "/collections/authz_doomed"),
        Call(WRITE, "PATCH", col, f"/collections/{C}", {"metadata": {"team": "search"}}),
        Call(
            WRITE,
            "PUT",
            col + "/vectors/{vector_name}",
            f"/collections/{C}/vectors/authz_extra?wait=true",
            {"dense": {"size": 2, "distance": "Dot"}},
        ),
        Call(
            WRITE,
            "DELETE",
            col + "/vectors/{vector_name}",
            f"/collections/{C}/vectors/authz_extra?wait=true",
        ),
        Call(
            WRITE,
            "POST",
            "/collections/aliases",
            "/collections/aliases",
            {"actions": [{"create_alias": {"collection_name": C, "alias_name": "authz_alias"}}]},
        ),
        Call(
            WRITE,
            "POST",
            "/crewchief/aliases",
            "/crewchief/aliases",
            {
                "actions": [{"create_alias": {"collection_name": C, "alias_name": "authz_cas"}}],
                "expect": {"authz_cas": None},
            },
        ),
        Call(
            WRITE,
            "PUT",
            col + "/points",
            f"/collections/{C}/points",
            {"points": [{"id": 100, "vector": [1, 2, 3, 4]}]},
        ),
        Call(
            WRITE,
            "POST",
            col + "/points/delete",
            f"/collections/{C}/points/delete",
            {"points": [100]},
        ),
        Call(
            WRITE,
            "PUT",
            col + "/index",
            f"/collections/{C}/index",
            {"field_name": "year", "field_schema": "integer"},
        ),
        Call(WRITE, "DELETE", col + "/index/{field_name}", f"/collections/{C}/index/genre"),
        *payload_calls(col),
        Call(WRITE, "POST", snaps, f"/collections/{C}/snapshots"),
        Call(
            WRITE,
            "DELETE",
            snaps + "/{snapshot_name}",
            f"/collections/{C}/snapshots/{w['doomed_snap']}",
        ),
        Call(
            WRITE,
            "PUT",
            snaps + "/recover",
            "/collections/authz_recovered/snapshots/recover",
            {"location": w["snapshot_uri"]},
        ),
        Call(
            WRITE,
            "POST",
            snaps + "/upload",
            "/collections/authz_uploaded/snapshots/upload",
            files={"snapshot": ("x.snapshot", b"not a snapshot")},
        ),
        Call(WRITE, "POST", "/snapshots", "/snapshots"),
        Call(
            WRITE,
            "POST",
            "/crewchief/collections/{collection_name}/optimize",
            f"/crewchief/collections/{C}/optimize",
        ),
        Call(WRITE, "DELETE", "/snapshots/{snapshot_name}", f"/snapshots/{w['doomed_full']}"),
        *service_calls(w),
        *dashboard_calls(w),
    ]


def search_calls(col: str) -> list[Call]:
    """Groups, matrices and facets (server/routes_search.py): reads, every one."""
    pc, path = col + "/points", f"/collections/{C}/points"
    groups = {"query": [1, 0, 0, 0], "group_by": "genre", "limit": 2}
    matrix = {"sample": 5, "limit": 2}
    return [
        Call(READ, "POST", pc + "/query/groups", path + "/query/groups", groups),
        Call(READ, "POST", pc + "/search/matrix/pairs", path + "/search/matrix/pairs", matrix),
        Call(READ, "POST", pc + "/search/matrix/offsets", path + "/search/matrix/offsets", matrix),
        Call(READ, "POST", col + "/facet", f"/collections/{C}/facet", {"key": "i"}),
    ]


def payload_calls(col: str) -> list[Call]:
    """Payload, vector and batch updates (server/routes_payload.py): writes, every one."""
    p, path = col + "/points", f"/collections/{C}/points"
    vector = {"points": [{"id": 1, "vector": [1, 2, 3, 4]}]}
    batch = {"operations": [{"set_payload": {"payload": {"y": 1}, "points": [2]}}]}
    x = {"payload": {"x": 1}, "points": [2]}
    return [
        Call(WRITE, "PUT", p + "/vectors", path + "/vectors", vector),
        Call(
            WRITE,
            "POST",
            p + "/vectors/delete",
            path + "/vectors/delete",
            {"points": [9], "vector": [""]},
        ),  # fmt: skip
        Call(WRITE, "POST", p + "/payload", path + "/payload", x),
        Call(WRITE, "PUT", p + "/payload", path + "/payload", x),
        Call(
            WRITE,
            "POST",
            p + "/payload/delete",
            path + "/payload/delete",
            {"keys": ["x"], "points": [2]},
        ),  # fmt: skip
        Call(WRITE, "POST", p + "/payload/clear", path + "/payload/clear", {"points": [3]}),
        Call(WRITE, "POST", p + "/batch", path + "/batch", batch),
    ]


def service_calls(w: Mapping[str, str]) -> list[Call]:
    """Qdrant's service, cluster and shard-snapshot routes (server/routes_cluster.py)."""
    col, shard = (
        "/collections/{collection_name}",
        "/collections/{collection_name}/shards/{shard_id}",
    )
    sh = f"/collections/{C}/shards/0"
    keys, move = (
        "/cluster/metadata/keys",
        {"move_shard": {"shard_id": 0, "from_peer_id": 1, "to_peer_id": 2}},
    )
    return [
        Call(READ, "GET", "/issues", "/issues"),
        Call(READ, "GET", "/quotas", "/quotas"),
        Call(READ, "GET", "/cluster", "/cluster"),
        Call(READ, "GET", "/cluster/telemetry", "/cluster/telemetry"),
        Call(READ, "GET", keys, keys),
        Call(READ, "GET", keys + "/{key}", keys + "/k"),
        Call(READ, "GET", col + "/cluster", f"/collections/{C}/cluster"),
        Call(READ, "GET", col + "/optimizations", f"/collections/{C}/optimizations"),
        Call(WRITE, "GET", shard + "/snapshot", sh + "/snapshot"),  # makes a snapshot: write
        Call(READ, "GET", shard + "/snapshots", sh + "/snapshots"),
        Call(READ, "GET", shard + "/snapshots/{snapshot_name}", f"{sh}/snapshots/{w['snap']}"),
        Call(WRITE, "DELETE", "/issues", "/issues"),
        Call(WRITE, "PUT", "/quotas", "/quotas", {"enabled": False}),
        Call(WRITE, "POST", "/cluster/recover", "/cluster/recover"),
        Call(WRITE, "DELETE", "/cluster/peer/{peer_id}", "/cluster/peer/7"),
        Call(WRITE, "PUT", keys + "/{key}", keys + "/k", {"v": 1}),
        Call(WRITE, "DELETE", keys + "/{key}", keys + "/k"),
        Call(WRITE, "POST", col + "/cluster", f"/collections/{C}/cluster", move),
        Call(WRITE, "POST", shard + "/snapshots", sh + "/snapshots"),
        Call(
            WRITE, "DELETE", shard + "/snapshots/{snapshot_name}", sh + "/snapshots/gone.snapshot"
        ),
        Call(
            WRITE,
            "PUT",
            shard + "/snapshots/recover",
            "/collections/authz_ghost/shards/0/snapshots/recover",
            {"location": w["snapshot_uri"]},
        ),
        Call(
            WRITE,
            "POST",
            shard + "/snapshots/upload",
            "/collections/authz_ghost/shards/0/snapshots/upload",
            files={"snapshot": ("x.snapshot", b"not a snapshot")},
        ),
    ]


def dashboard_calls(w: Mapping[str, str]) -> list[Call]:
    """The dashboard (mounted at /dashboard): its page, its assets and its JSON API."""
    d, api = "/dashboard", "/dashboard/api"
    dc, da = api + "/collections/{c}", api + "/aliases/{a}"
    return [
        Call(PUBLIC, "GET", d + "/", d + "/"),
        Call(PUBLIC, "GET", d + "/static/{path}", d + "/static/js/app.js"),
        Call(READ, "GET", api + "/overview", api + "/overview"),
        Call(READ, "GET", dc, f"{api}/collections/{C}"),
        Call(READ, "GET", dc + "/history", f"{api}/collections/{C}/history"),
        Call(READ, "POST", dc + "/search", f"{api}/collections/{C}/search", {"random": True}),
        Call(
            READ,
            "GET",
            dc + "/snapshots/{s}/file",
            f"{api}/collections/{C}/snapshots/{w['snap']}/file",
        ),
        Call(READ, "GET", api + "/aliases", api + "/aliases"),
        Call(READ, "GET", da + "/plan", f"{api}/aliases/{DASH_ALIAS}/plan?collection={DASH_V1}"),
        Call(READ, "GET", api + "/backups", api + "/backups"),
        Call(WRITE, "POST", dc + "/snapshots", f"{api}/collections/{C}/snapshots"),
        Call(
            WRITE,
            "POST",
            dc + "/snapshots/{s}/delete",
            f"{api}/collections/{C}/snapshots/{w['dash_doomed_snap']}/delete",
        ),
        Call(
            WRITE,
            "POST",
            da + "/switch",
            f"{api}/aliases/{DASH_ALIAS}/switch",
            {"collection": DASH_V1, "expect": DASH_V2},
        ),
        Call(WRITE, "POST", da + "/rollback", f"{api}/aliases/{DASH_ALIAS}/rollback", {}),
    ]


def served_routes(routes: list[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    """(method, path template) of every route, mounted apps included (static files as one)."""
    served = set()
    for r in routes:
        if isinstance(r, Route):
            served |= {(m, prefix + r.path) for m in (r.methods or ()) if m != "HEAD"}
        elif isinstance(r, Mount):
            inner = r.routes
            if inner:
                served |= served_routes(inner, prefix + r.path)
            else:  # a static-files app: any path below it
                served.add(("GET", prefix + r.path + "/{path}"))
    return served


def test_the_matrix_covers_every_route(tmp_path: Path) -> None:
    with Engine(tmp_path / "data") as engine:
        app = create_app(engine=engine)
    covered = {(c.method, c.route) for c in calls(defaultdict(lambda: "x"))}
    assert served_routes(app.routes) == covered


NOW = int(time.time())
OTHER = "authz_other"  # a collection the per-collection tokens below do not name


def token(claims: dict[str, Any], secret: str = FULL_KEY, algorithm: str = "HS256") -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm=algorithm)


KEYS = {
    "none": {},
    "wrong key": {"api-key": "not-the-key"},
    "wrong bearer": {"Authorization": "Bearer not-the-key"},
    "read-only key": {"api-key": READ_ONLY_KEY},
    "read-only bearer": {"Authorization": f"Bearer {READ_ONLY_KEY}"},
    "jwt r": {"api-key": token({"access": "r"})},
    "jwt c:r": {"Authorization": "Bearer " + token({"access": [{"collection": C, "access": "r"}]})},
    "jwt c:rw": {"api-key": token({"access": [{"collection": C, "access": "rw"}]})},
    "jwt other:rw": {"api-key": token({"access": [{"collection": OTHER, "access": "rw"}]})},
    "jwt expired": {"api-key": token({"access": "m", "exp": NOW - 120})},
    "jwt bad signature": {"api-key": token({"access": "m"}, secret="not-the-key")},
    "jwt read-only key": {"api-key": token({"access": "m"}, secret=READ_ONLY_KEY)},
    "jwt hs512": {"api-key": token({"access": "m"}, algorithm="HS512")},  # not Qdrant's alg
    "jwt m": {"Authorization": "Bearer " + token({"access": "m", "exp": NOW + 3600})},
    "full key": {"api-key": FULL_KEY},
    "full bearer": {"Authorization": f"Bearer {FULL_KEY}"},
}
ALLOWED_TO_WRITE = ("jwt c:rw", "jwt m", "full key", "full bearer")  # the last to run

NO_KEY = "Must provide an API key or an Authorization bearer token"
BAD_KEY = "Invalid API key or JWT"
GLOBAL_MANAGE = "Forbidden: Global manage access is required"
GLOBAL_ONLY = "Forbidden: Global access is required"
LISTINGS = {"/collections", "/aliases", "/telemetry", "/issues"}
GLOBAL_WRITES_ON_A_COLLECTION = {
    ("PUT", "/collections/{collection_name}"),
    ("PATCH", "/collections/{collection_name}"),
    ("DELETE", "/collections/{collection_name}"),
    ("PUT", "/collections/{collection_name}/snapshots/recover"),
    ("POST", "/collections/{collection_name}/snapshots/upload"),
    ("PUT", "/collections/{collection_name}/shards/{shard_id}/snapshots/recover"),
    ("POST", "/collections/{collection_name}/shards/{shard_id}/snapshots/upload"),
}

MANAGE_WRITES_ON_A_COLLECTION = {  # write + manage on the collection: only global `m` passes
    ("PUT", "/collections/{collection_name}/vectors/{vector_name}"),
    ("DELETE", "/collections/{collection_name}/vectors/{vector_name}"),
    ("POST", "/collections/{collection_name}/cluster"),
}


def scope_of(call: Call) -> str:
    """Qdrant's matrix (tests/consensus_tests/auth_tests/test_jwt_access.py): `list` any
    token (answers filtered), `c` a read of collection C, `g` global read; `cw` a write
    a collection `rw` token may make, `cm` one that also needs manage, `gm` global manage."""
    if call.kind == READ:
        if call.route in LISTINGS:
            return "list"
        return "c" if call.route.startswith("/collections/{collection_name}") else "g"
    on_collection = call.route.startswith("/collections/{collection_name}")
    if (call.method, call.route) in MANAGE_WRITES_ON_A_COLLECTION:
        return "cm"
    if on_collection and (call.method, call.route) not in GLOBAL_WRITES_ON_A_COLLECTION:
        return "cw"
    return "gm"


def expected_refusal(call: Call, key: str) -> tuple[int, str] | None:
    """(status, Qdrant's message) for a refusal, None when the request is let through."""
    scope = scope_of(call)
    if call.kind == PUBLIC or key in ("full key", "full bearer", "jwt m"):
        return None
    if key == "none":
        return 401, NO_KEY
    if key.startswith("wrong") or key == "jwt hs512":
        return 401, BAD_KEY
    if key == "jwt expired":
        return 403, "ExpiredSignature"
    if key in ("jwt bad signature", "jwt read-only key"):  # tokens are signed with the full key
        return 403, "InvalidSignature"
    if key in ("read-only key", "read-only bearer", "jwt r"):
        return None if call.kind == READ else (403, GLOBAL_MANAGE)
    # per-collection tokens
    if scope == "list":
        return None
    if scope in ("g", "gm"):
        return 403, GLOBAL_ONLY
    if key == "jwt other:rw":
        return 403, f"Forbidden: Access to collection {C} is required"
    if key == "jwt c:r" and scope in ("cw", "cm"):
        return 403, f"Forbidden: Write access to collection {C} is required"
    if scope == "cm":
        return 403, "Forbidden: Manage access for this operation is required"
    return None


def refusal_text(r: httpx.Response) -> str:
    """Qdrant answers a refused key in plain text, a refused access in its JSON format."""
    if r.headers.get("content-type", "").startswith("application/json"):
        status = r.json().get("status")
        return str(status["error"] if isinstance(status, dict) else status)
    return r.text


def test_every_route_with_every_key(auth_server: ServerProcess, world: dict[str, str]) -> None:
    failures = []
    with httpx.Client(base_url=auth_server.url, timeout=60) as http:
        for call in calls(world):
            # refusals first, then the keys that may write: the first write really happens
            # (later ones may answer 404/409, which still shows they passed the key check)
            for key in sorted(KEYS, key=lambda k: k in ALLOWED_TO_WRITE):
                r = http.request(
                    call.method, call.path, json=call.json, files=call.files, headers=KEYS[key]
                )
                refusal = expected_refusal(call, key)
                if refusal is not None:
                    ok = (r.status_code, refusal_text(r)) == refusal
                    dashboard = call.path.startswith("/dashboard")
                    if ok and (r.status_code == 401 or refusal[1].endswith("Signature")):
                        # the key layer: plain text as Qdrant's, JSON on the dashboard's API
                        json_body = r.headers["content-type"].startswith("application/json")
                        ok = json_body == dashboard
                else:
                    ok = r.status_code not in (401, 403) and r.status_code < 500
                if not ok:
                    failures.append(
                        f"{call.method} {call.path} [{key}] -> {r.status_code} {r.text[:120]}"
                    )
    assert not failures, "\n".join(failures)


def test_refusals_change_nothing(auth_server: ServerProcess, world: dict[str, str]) -> None:
    with httpx.Client(base_url=auth_server.url, timeout=60) as http:
        refused = ("none", "wrong key", "read-only key", "jwt r", "jwt c:rw", "jwt expired")
        for headers in (KEYS[k] for k in refused):
            r = http.put(
                "/collections/authz_never",
                json={"vectors": {"size": 4, "distance": "Dot"}},
                headers=headers,
            )
            assert r.status_code in (401, 403)
            r = http.patch(f"/collections/{C}", json={"metadata": {"x": 1}}, headers=headers)
            assert r.status_code in (401, 403)
            r = http.put(
                f"/collections/{C}/vectors/never",
                json={"dense": {"size": 2, "distance": "Dot"}},
                headers=headers,
            )
            assert r.status_code in (401, 403)
        r = http.get("/collections/authz_never/exists", headers=KEYS["full key"])
        assert r.json()["result"] == {"exists": False}
        config = http.get(f"/collections/{C}", headers=KEYS["full key"]).json()["result"]["config"]
        assert "x" not in (config.get("metadata") or {})
        assert "never" not in config["params"]["vectors"]


def test_qdrant_client_with_keys(auth_server: ServerProcess, world: dict[str, str]) -> None:
    reader = qdrant(auth_server.url, api_key=READ_ONLY_KEY)
    writer = qdrant(auth_server.url, api_key=FULL_KEY)
    anonymous = qdrant(auth_server.url)
    try:
        assert reader.count(C).count == writer.count(C).count
        assert reader.query_points(C, query=[1.0, 0.0, 0.0, 0.0], limit=2).points
        with pytest.raises(UnexpectedResponse) as info:
            reader.upsert(C, points(1, 4, start=500))
        assert info.value.status_code == 403
        with pytest.raises(UnexpectedResponse) as info:
            anonymous.get_collections()
        assert info.value.status_code == 401
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert anonymous.info().version  # `/` needs no key: the version check works
        assert not [w for w in caught if "version" in str(w.message)]
    finally:
        for c in (reader, writer, anonymous):
            c.close()


# -- keys: compared in constant time, never shown -------------------------------------------------

SENTINEL = "wrong-key-sentinel-5f0c2d"  # a wrong key that must never be echoed either
KEY_NAMES = {"api_key", "read_only_api_key", "presented", "expected", "token", "bearer"}


def test_keys_are_compared_in_constant_time() -> None:
    """hmac.compare_digest, and no `==`/`!=`/`in` anywhere a key is compared."""
    tree = ast.parse(inspect.getsource(key_rules))
    calls_ = [ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)]
    assert "hmac.compare_digest" in calls_
    matches = next(
        n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_matches"
    )
    assert "hmac.compare_digest" in ast.unparse(matches)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        risky = any(isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn) for op in node.ops)
        names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        names |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
        assert not (risky and names & KEY_NAMES), ast.unparse(node)
    # and neither the dashboard's rules nor the server's middleware add a comparison
    for module in (dashboard_auth, server_auth):
        assert "compare_digest" not in inspect.getsource(module)
        assert "api_key ==" not in inspect.getsource(module)


def _pending_stdout(server: ServerProcess) -> str:
    lines = []
    while not server.stdout_lines.empty():
        lines.append(server.stdout_lines.get_nowait())
    return "".join(lines)


def test_no_key_appears_in_answers_or_logs(
    auth_server: ServerProcess, world: dict[str, str], tmp_path: Path
) -> None:
    secrets = (FULL_KEY, READ_ONLY_KEY, SENTINEL)
    presented = {
        "none": {},
        "sentinel": {"api-key": SENTINEL},
        "sentinel bearer": {"Authorization": f"Bearer {SENTINEL}"},
        "read-only": {"api-key": READ_ONLY_KEY},
        "full": {"api-key": FULL_KEY},
    }
    answers = []
    with httpx.Client(base_url=auth_server.url, timeout=60) as http:
        for call in calls(world):
            for key, headers in presented.items():
                if key == "full" and call.kind == WRITE:
                    continue  # the matrix made these writes; answers to refusals are the point
                r = http.request(
                    call.method, call.path, json=call.json, files=call.files, headers=headers
                )
                answers.append(f"{call.method} {call.path} [{key}] {r.headers} {r.text}")
        # make the server log: a background failure and an unexpected error, with the key
        full = presented["full"]
        http.post("/collections/authz_ghost/snapshots?wait=false", headers=full)
        bad_index = {"field_name": "t", "field_schema": {"type": "text", "min_token_len": -1}}
        answers.append(http.put(f"/collections/{C}/index", json=bad_index, headers=full).text)
        time.sleep(0.5)
    for secret in secrets:
        leaked = [a[:200] for a in answers if secret in a]
        assert not leaked, f"{secret!r} in answers: {leaked[:3]}"
    logs = auth_server.stderr + _pending_stdout(auth_server)
    assert "background snapshot failed" in logs  # the log was written, and it is clean:
    for secret in secrets:
        assert secret not in logs
    lock = (auth_server.data / ".lock").read_text()
    assert FULL_KEY not in lock and READ_ONLY_KEY not in lock
    cli = subprocess.run(
        [sys.executable, "-m", "crewchief.cli.main", "status", "--target", auth_server.url],
        env={**os.environ, "QDRANT_API_KEY": SENTINEL},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode != 0 and "401" in cli.stderr
    assert SENTINEL not in cli.stdout + cli.stderr
