"""Groups, distance matrices, facets, ordered scrolls and counts over REST.

Through the real qdrant-client against `crewchief serve`, compared with local mode on
the same points; raw HTTP for Qdrant's REST defaults, status codes and messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.helpers import groups_of
from tests.server.data import points

N = 120
Q = [0.5, -0.1, 0.3, 0.8]


@pytest.fixture
def served(client: QdrantClient, name: str) -> Iterator[tuple[str, QdrantClient]]:
    """`name` on the server and in local mode: 120 points, keyword/integer/float indexes,
    and `name_lookup` (a collection whose ids are genres' years)."""
    local = QdrantClient(":memory:")
    pts = points(N, 4)
    for p in pts:
        assert isinstance(p.payload, dict)
        p.payload["rank"] = int(p.id) * 1.5  # type: ignore[arg-type]
    for c in (client, local):
        c.create_collection(
            name, vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE)
        )
        c.upsert(name, pts, wait=True)
        c.create_collection(
            name + "_lookup",
            vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT),
        )
        c.upsert(
            name + "_lookup",
            [
                models.PointStruct(id=y, vector=[1.0, 0.0], payload={"decade": y // 10})
                for y in range(1990, 2020)
            ],
            wait=True,
        )
    for key, schema in [
        ("genre", models.PayloadSchemaType.KEYWORD),
        ("year", models.PayloadSchemaType.INTEGER),
        ("tags", models.PayloadSchemaType.INTEGER),
        ("rank", models.PayloadSchemaType.FLOAT),
    ]:
        client.create_payload_index(name, key, schema, wait=True)
    yield name, local
    client.delete_collection(name + "_lookup")
    local.close()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"group_by": "genre"},
        {"group_by": "year", "group_size": 2, "limit": 5, "with_payload": ["i"]},
        {"group_by": "tags", "group_size": 4},
        {"group_by": "year", "with_lookup": "LOOKUP", "limit": 4},
        {
            "group_by": "genre",
            "query_filter": models.Filter(
                must=[models.FieldCondition(key="year", range=models.Range(lt=2000))]
            ),
        },
    ],
)
def test_groups_as_local_mode(
    client: QdrantClient, served: tuple[str, QdrantClient], kwargs: dict[str, Any]
) -> None:
    name, local = served
    if kwargs.get("with_lookup") == "LOOKUP":
        kwargs = {**kwargs, "with_lookup": name + "_lookup"}
    got = client.query_points_groups(name, query=Q, **kwargs)
    want = local.query_points_groups(name, query=Q, **kwargs)
    assert got.groups and groups_of(got) == groups_of(want)


def test_groups_rest_defaults_and_errors(
    http: httpx.Client, served: tuple[str, QdrantClient]
) -> None:
    name, _ = served
    url = f"/collections/{name}/points/query/groups"
    r = http.post(url, json={"query": Q, "group_by": "genre"})
    assert r.status_code == 200
    groups = r.json()["result"]["groups"]
    assert len(groups) == 4 and all(len(g["hits"]) == 3 for g in groups)  # group_size 3
    assert all("payload" not in h and "vector" not in h for g in groups for h in g["hits"])
    r = http.post(url, json={"query": Q, "group_by": "genre", "group_size": 0})
    assert r.status_code == 422
    assert "group_size: value 0 invalid, must be 1 or larger" in r.json()["status"]["error"]
    r = http.post(url, json={"query": Q, "group_by": "genre", "with_lookup": "nope"})
    assert r.status_code == 404
    assert r.json()["status"]["error"] == "Not found: Collection nope not found"
    r = http.post(url, json={"query": Q, "group_by": "nowhere"})
    assert r.status_code == 200 and r.json()["result"]["groups"] == []
    r = http.post(f"/collections/{name}_missing/points/query/groups", json={"group_by": "g"})
    assert r.status_code == 404


def test_groups_lookups_as_qdrant(http: httpx.Client, served: tuple[str, QdrantClient]) -> None:
    """with_lookup takes `with_vector` as its alias of `with_vectors`; a missing lookup_from
    collection is a 404 whatever the query (Qdrant checks it before grouping)."""
    name, _ = served
    url = f"/collections/{name}/points/query/groups"
    lookup = {"collection": name + "_lookup", "with_payload": True, "with_vector": True}
    r = http.post(url, json={"query": Q, "group_by": "year", "limit": 3, "with_lookup": lookup})
    assert r.status_code == 200, r.text
    groups = r.json()["result"]["groups"]
    assert len(groups) == 3
    for g in groups:
        assert g["lookup"]["id"] == g["id"] and g["lookup"]["vector"] == [1.0, 0.0]
        assert g["lookup"]["payload"] == {"decade": g["id"] // 10}
    missing = {"collection": "nowhere", "vector": "v"}
    for query in (Q, {"recommend": {"positive": [Q]}}):
        body = {"query": query, "group_by": "genre", "lookup_from": missing}
        r = http.post(url, json=body)
        assert r.status_code == 404, r.text
        assert r.json()["status"]["error"] == "Not found: Collection nowhere not found"


def test_matrix_as_local_mode(client: QdrantClient, served: tuple[str, QdrantClient]) -> None:
    name, local = served
    got = client.search_matrix_offsets(name, sample=N, limit=3)
    want = local.search_matrix_offsets(name, sample=N, limit=3)
    assert got.ids == want.ids and got.offsets_col == want.offsets_col
    assert got.offsets_row == want.offsets_row
    assert got.scores == pytest.approx(want.scores, rel=1e-5, abs=1e-6)
    flt = models.Filter(
        must=[models.FieldCondition(key="genre", match=models.MatchValue(value="drama"))]
    )
    pairs = client.search_matrix_pairs(name, query_filter=flt, sample=N, limit=2).pairs
    local_pairs = local.search_matrix_pairs(name, query_filter=flt, sample=N, limit=2).pairs
    assert [(p.a, p.b) for p in pairs] == [(p.a, p.b) for p in local_pairs]
    assert pairs[0].score == pytest.approx(local_pairs[0].score, rel=1e-5)


def test_matrix_rest_defaults_and_errors(
    http: httpx.Client, served: tuple[str, QdrantClient]
) -> None:
    name, _ = served
    base = f"/collections/{name}/points/search/matrix"
    r = http.post(base + "/offsets", json={})
    assert r.status_code == 200
    result = r.json()["result"]
    assert len(result["ids"]) == 10 and len(result["scores"]) == 30  # sample 10, limit 3
    # scores are float32, written in float32's shortest form as Qdrant writes them
    raw = http.post(base + "/pairs", json={"sample": 5, "limit": 2}).json()["result"]["pairs"]
    assert raw and all(str(p["score"]) == str(np.float32(p["score"])) for p in raw)
    raw = http.post(base + "/offsets", json={"sample": 5, "limit": 2}).json()["result"]["scores"]
    assert raw and all(str(s) == str(np.float32(s)) for s in raw)
    r = http.post(base + "/pairs", json={"sample": 1})
    assert r.status_code == 422 and "sample: value 1 invalid" in r.json()["status"]["error"]
    r = http.post(base + "/pairs", json={"using": "nope"})
    assert r.status_code == 400
    assert r.json()["status"]["error"] == (
        "Wrong input: Vector with name nope is not configured in this collection"
    )


def test_facet_as_local_mode(client: QdrantClient, served: tuple[str, QdrantClient]) -> None:
    name, local = served
    flt = models.Filter(must=[models.FieldCondition(key="year", range=models.Range(gte=2005))])
    for key, limit, f, exact in [
        ("genre", 10, None, False),
        ("year", 5, None, True),
        ("tags", 10, flt, False),
        ("year", 3, flt, True),
    ]:
        got = client.facet(name, key, facet_filter=f, limit=limit, exact=exact)
        assert got == local.facet(name, key, facet_filter=f, limit=limit), key


def test_facet_rest_errors(http: httpx.Client, served: tuple[str, QdrantClient]) -> None:
    name, _ = served
    r = http.post(f"/collections/{name}/facet", json={"key": "i"})
    assert r.status_code == 400
    assert r.json()["status"]["error"].startswith(
        "Wrong input: No appropriate index for faceting: `i`. Please create one"
    )
    r = http.post(f"/collections/{name}/facet", json={"key": "genre", "limit": 0})
    assert r.status_code == 422
    r = http.post(f"/collections/{name}/facet", json={})
    assert r.status_code == 400  # key is required: Qdrant's "Format error in JSON body"
    assert "Format error in JSON body" in r.json()["status"]["error"]


def test_scroll_order_by(client: QdrantClient, served: tuple[str, QdrantClient]) -> None:
    name, local = served
    for order_by in (
        "rank",
        models.OrderBy(key="rank", direction=models.Direction.DESC, start_from=90),
    ):
        got, nxt = client.scroll(name, order_by=order_by, limit=12)
        want, _ = local.scroll(name, order_by=order_by, limit=12)
        assert [(r.id, r.order_value, r.payload) for r in got] == [
            (r.id, r.order_value, r.payload) for r in want
        ]
        assert nxt is None
    with pytest.raises(UnexpectedResponse) as info:
        client.scroll(name, order_by="i")
    assert info.value.status_code == 400
    assert b"No range index for `order_by` key: `i`" in info.value.content
    with pytest.raises(UnexpectedResponse) as info:
        client.scroll(name, order_by="rank", offset=3)
    assert info.value.status_code == 400
    assert b"Cannot use an `offset` when using `order_by`" in info.value.content


def test_scroll_rest_form(http: httpx.Client, served: tuple[str, QdrantClient]) -> None:
    """`next_page_offset` is always there (null on the last page and with order_by), and
    `with_vectors` is the alias of `with_vector`."""
    name, _ = served
    url = f"/collections/{name}/points/scroll"
    r = http.post(url, json={"order_by": {"key": "rank", "direction": "asc"}, "limit": 5})
    result = r.json()["result"]
    assert [p["id"] for p in result["points"]] == [0, 1, 2, 3, 4]
    assert "next_page_offset" in result and result["next_page_offset"] is None
    for key in ("with_vector", "with_vectors"):
        r = http.post(url, json={key: True, "limit": 1})
        assert r.status_code == 200 and len(r.json()["result"]["points"][0]["vector"]) == 4, key
        assert r.json()["result"]["next_page_offset"] == 1


def test_count_exact_and_approximate(
    client: QdrantClient, served: tuple[str, QdrantClient]
) -> None:
    name, local = served
    flt = models.Filter(
        must=[models.FieldCondition(key="genre", match=models.MatchValue(value="horror"))]
    )
    assert client.count(name, exact=False).count == N
    assert client.count(name, flt, exact=False).count == local.count(name, flt).count == N // 4
