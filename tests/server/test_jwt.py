"""JWT RBAC as Qdrant has it, through the real server and the real qdrant-client.

The server is `auth_server` (full key, read-only key, `CREWCHIEF_JWT_RBAC=true`);
tokens are signed HS256 with the full key, as Qdrant's are.  The route matrix
over every route and role is tests/server/test_auth.py; here: the claims
(`exp` and its leeway, `value_exists`, modes, validation), what per-collection
tokens see in listings, references to other collections inside a query,
aliases, and qdrant-client's two ways of sending a token.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse
from starlette.routing import BaseRoute

from crewchief import Engine
from crewchief.core import access as rules
from crewchief.core.keys import ApiKeys, decode_token
from crewchief.server.app import create_app
from tests.server.conftest import FULL_KEY, qdrant
from tests.server.data import points
from tests.server.serverproc import ServerProcess
from tests.server.test_auth import served_routes, token

BOOKS, FILMS, SECRET_C, GATE = "jwt_books", "jwt_films", "jwt_secret", "jwt_gate"
BOOKS_ALIAS = "jwt_books_alias"
OPENAPI = "/work/scratch/qd/docs/redoc/master/openapi.json"


@pytest.fixture(scope="module")
def admin(auth_server: ServerProcess) -> Iterator[QdrantClient]:
    client = qdrant(auth_server.url, api_key=FULL_KEY)
    for name in (BOOKS, FILMS, SECRET_C):
        if not client.collection_exists(name):
            client.create_collection(
                name, vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
            )
            client.upsert(name, points(10, 4))
    client.update_collection_aliases(
        [
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=BOOKS, alias_name=BOOKS_ALIAS)
            )
        ]
    )
    yield client
    client.close()


def client_with(url: str, **kwargs: Any) -> QdrantClient:
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", UserWarning
        )  # "Api key is used with an insecure connection"
        return QdrantClient(url=url, prefer_grpc=False, timeout=60, **kwargs)


def refusal(call: Any) -> tuple[int | None, str]:
    with pytest.raises(UnexpectedResponse) as info:
        call()
    return info.value.status_code, info.value.content.decode()


def error_of(r: httpx.Response) -> str:
    return str(r.json()["status"]["error"])


# -- rules: every route has one -------------------------------------------------------------------


def test_every_route_of_qdrant_and_crewchief_has_an_explicit_rule(tmp_path: Any) -> None:
    with open(OPENAPI) as f:
        spec = json.load(f)
    qdrant_routes = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    with Engine(tmp_path / "data") as engine:
        app = create_app(engine=engine)
    ours: set[tuple[str, str]] = served_routes(list[BaseRoute](app.routes))
    missing = []
    for method, template in sorted(qdrant_routes | ours):
        if template.startswith("/dashboard"):
            continue  # the dashboard's own rules (dashboard/auth.py), walked by test_auth
        path = template.replace("{collection_name}", "c").replace("{", "").replace("}", "")
        if rules.route_of(method, path) is None:
            missing.append(f"{method} {template}")
    assert not missing, missing


def test_unknown_routes_need_the_safe_default() -> None:
    assert rules.need("GET", "/collections/c/something/new") == rules.Need("c", extras=True)
    assert rules.need("POST", "/collections/c/something/new") == rules.Need(manage=True)
    assert rules.need("GET", "/brand/new") == rules.Need()
    assert rules.Access.collections({"c": "rw"}).refusal(rules.need("POST", "/brand/new"))


def test_claims_are_validated_as_qdrant_validates_them() -> None:
    keys = ApiKeys(api_key=FULL_KEY, jwt_rbac=True)
    dup = token(
        {"access": [{"collection": "a", "access": "r"}, {"collection": "a", "access": "rw"}]}
    )
    assert keys.authenticate(dup) == (
        401,
        "access[1].collection: Collection name should be unique",
    )
    payload = token({"access": [{"collection": "a", "access": "r", "payload": {"u": 1}}]})
    status, message = keys.authenticate(payload)  # type: ignore[misc]
    assert status == 401 and "deprecated" in message
    for claims in ({"access": "rw"}, {"access": [{"collection": "a", "access": "m"}]}, {"sub": 3}):
        assert keys.authenticate(token(claims)) == (401, "Invalid API key or JWT")
    no_access = decode_token(token({"sub": "me"}), FULL_KEY)  # no `access`: full, as Qdrant
    assert not isinstance(no_access, tuple) and no_access is not None
    assert no_access.access == rules.Access.full()
    assert ApiKeys(api_key=FULL_KEY).authenticate(token({"access": "m"})) == (
        401,
        "Invalid API key or JWT",  # without --jwt-rbac a token is just a wrong key
    )


# -- through the server ---------------------------------------------------------------------------


def test_qdrant_client_with_a_jwt_as_api_key_and_as_token_provider(
    auth_server: ServerProcess, admin: QdrantClient
) -> None:
    reader = client_with(auth_server.url, api_key=token({"access": "r"}))
    manager = client_with(auth_server.url, auth_token_provider=lambda: token({"access": "m"}))
    try:
        assert reader.count(BOOKS).count == 10
        assert reader.query_points(BOOKS, query=[1.0, 0, 0, 0], limit=3).points
        status, body = refusal(lambda: reader.upsert(BOOKS, points(1, 4, start=900)))
        assert status == 403
        assert json.loads(body)["status"]["error"] == "Forbidden: Global manage access is required"
        status, body = refusal(lambda: reader.delete_collection(FILMS))
        assert status == 403 and "Global manage access is required" in body
        manager.upsert(BOOKS, points(1, 4, start=900))
        manager.delete(BOOKS, models.PointIdsList(points=[900]))
        assert manager.count(BOOKS).count == 10
    finally:
        reader.close()
        manager.close()


def test_a_collection_token_sees_and_reads_only_its_collections(
    auth_server: ServerProcess, admin: QdrantClient
) -> None:
    mine = token(
        {"access": [{"collection": BOOKS, "access": "r"}, {"collection": FILMS, "access": "rw"}]}
    )
    c = client_with(auth_server.url, api_key=mine)
    try:
        listed = {d.name for d in c.get_collections().collections}
        assert listed == {BOOKS, FILMS}  # filtered as Qdrant filters it
        assert {d.name for d in admin.get_collections().collections} >= {BOOKS, FILMS, SECRET_C}
        assert c.count(BOOKS).count == 10
        status, body = refusal(lambda: c.count(SECRET_C))
        assert status == 403 and f"Forbidden: Access to collection {SECRET_C} is required" in body
        status, body = refusal(lambda: c.upsert(BOOKS, points(1, 4, start=901)))
        assert status == 403 and f"Write access to collection {BOOKS} is required" in body
        c.upsert(FILMS, points(1, 4, start=901))  # rw: points and extras
        c.create_payload_index(FILMS, "genre", models.PayloadSchemaType.KEYWORD)
        status, body = refusal(lambda: c.delete_collection(FILMS))
        assert status == 403 and "Forbidden: Global access is required" in body
        # an alias is a name of its own: the token names the collection, not the alias
        status, body = refusal(lambda: c.count(BOOKS_ALIAS))
        assert f"Access to collection {BOOKS_ALIAS} is required" in body
        assert c.get_aliases().aliases == []  # the alias is not in the token either
        assert c.get_collection_aliases(BOOKS).aliases == []
    finally:
        c.close()
    with_alias = token(
        {
            "access": [
                {"collection": BOOKS, "access": "r"},
                {"collection": BOOKS_ALIAS, "access": "r"},
            ]
        }
    )
    c = client_with(auth_server.url, api_key=with_alias)
    try:
        assert c.count(BOOKS_ALIAS).count == 10
        assert [a.alias_name for a in c.get_aliases().aliases] == [BOOKS_ALIAS]
        assert [a.alias_name for a in c.get_collection_aliases(BOOKS).aliases] == [BOOKS_ALIAS]
    finally:
        c.close()


def test_lookups_into_other_collections_need_access_too(
    auth_server: ServerProcess, admin: QdrantClient
) -> None:
    headers = {"api-key": token({"access": [{"collection": BOOKS, "access": "r"}]})}
    url = f"{auth_server.url}/collections/{BOOKS}/points/query"
    bodies = [
        {"query": {"recommend": {"positive": [1]}}, "lookup_from": {"collection": SECRET_C}},
        {"prefetch": [{"query": [1, 0, 0, 0], "lookup_from": {"collection": SECRET_C}}]},
    ]
    for body in bodies:
        r = httpx.post(url, json=body, headers=headers)
        assert r.status_code == 403, r.text
        assert error_of(r) == f"Forbidden: Access to collection {SECRET_C} is required"
    r = httpx.post(
        url + "/batch",
        json={"searches": [{"query": [1, 0, 0, 0], "lookup_from": {"collection": SECRET_C}}]},
        headers=headers,
    )
    assert r.status_code == 403
    ok = httpx.post(url, json={"query": [1, 0, 0, 0], "limit": 3}, headers=headers)
    assert ok.status_code == 200, ok.text
    assert len(ok.json()["result"]["points"]) == 3  # the body reached the route intact


def test_points_only_tokens_cannot_touch_extras(
    auth_server: ServerProcess, admin: QdrantClient
) -> None:
    prw = client_with(
        auth_server.url, api_key=token({"access": [{"collection": FILMS, "access": "prw"}]})
    )
    try:
        prw.upsert(FILMS, points(1, 4, start=902))
        status, body = refusal(lambda: prw.create_snapshot(FILMS))
        assert status == 403 and f"Only points access is allowed for collection {FILMS}" in body
    finally:
        prw.close()


def test_exp_with_qdrants_leeway(auth_server: ServerProcess, admin: QdrantClient) -> None:
    now = int(time.time())
    url = f"{auth_server.url}/collections/{BOOKS}/points/count"
    for exp, status in ((now + 60, 200), (now - 10, 200), (now - 45, 403)):
        r = httpx.post(url, json={}, headers={"api-key": token({"access": "r", "exp": exp})})
        assert r.status_code == status, (exp - now, r.text)
    assert r.text == "ExpiredSignature"  # plain text, as Qdrant's auth layer answers


def test_value_exists_holds_a_token_to_a_point(
    auth_server: ServerProcess, admin: QdrantClient
) -> None:
    claims = {
        "access": "r",
        "value_exists": {"collection": GATE, "matches": [{"key": "token_id", "value": "t42"}]},
    }
    headers = {"Authorization": "Bearer " + token(claims)}
    url = f"{auth_server.url}/collections/{BOOKS}/points/scroll"
    r = httpx.post(url, json={"limit": 3}, headers=headers)
    assert (r.status_code, r.text) == (403, "Invalid JWT, stateful validation failed")
    admin.create_collection(
        GATE, vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
    )
    try:
        r = httpx.post(url, json={"limit": 3}, headers=headers)
        assert (r.status_code, r.text) == (401, "Invalid JWT, stateful validation failed")
        admin.upsert(
            GATE, [models.PointStruct(id=42, vector=[1, 0, 0, 0], payload={"token_id": "t42"})]
        )
        r = httpx.post(url, json={"limit": 3}, headers=headers)
        assert r.status_code == 200 and len(r.json()["result"]["points"]) == 3
        admin.delete(GATE, models.PointIdsList(points=[42]))
        r = httpx.post(url, json={"limit": 3}, headers=headers)
        assert r.status_code == 401
    finally:
        admin.delete_collection(GATE)
