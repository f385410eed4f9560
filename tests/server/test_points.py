"""Points over REST: upsert, retrieve, delete, scroll, count, query, payload index."""

from __future__ import annotations

import httpx
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.server.data import make_collection, payload, points, vectors


def test_upsert_list_and_retrieve(client: QdrantClient, name: str) -> None:
    make_collection(client, name, n=20, dim=4)
    records = client.retrieve(name, [3, 7, 999], with_vectors=True)
    assert sorted(r.id for r in records) == [3, 7]
    by_id = {r.id: r for r in records}
    assert by_id[3].payload == payload(3)
    original = vectors(20, 4)[7]  # what make_collection upserted as point 7
    assert by_id[7].vector == pytest.approx(_normalized(original), abs=1e-5)
    without = client.retrieve(name, [3], with_payload=False)
    assert without[0].payload is None and without[0].vector is None


def _normalized(v: list[float]) -> list[float]:
    norm = sum(x * x for x in v) ** 0.5
    return [x / norm for x in v]


def test_upsert_batch_and_uuid_ids(client: QdrantClient, name: str) -> None:
    client.create_collection(
        name, vectors_config=models.VectorParams(size=3, distance=models.Distance.DOT)
    )
    ids: list[models.ExtendedPointId] = [1, "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"]
    result = client.upsert(
        name,
        models.Batch(
            ids=ids, vectors=[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], payloads=[{"a": 1}, {"a": None}]
        ),
    )
    assert result.status == models.UpdateStatus.COMPLETED
    records = {r.id: r for r in client.retrieve(name, ids)}
    assert records[1].payload == {"a": 1}
    assert records["5c56c793-69f3-4fbf-87e6-c4bf54c28c26"].payload == {"a": None}


def test_get_single_point(client: QdrantClient, http: httpx.Client, name: str) -> None:
    make_collection(client, name, n=5, dim=4)
    r = http.get(f"/collections/{name}/points/2")
    assert r.status_code == 200
    assert r.json()["result"]["id"] == 2
    assert r.json()["result"]["payload"] == payload(2)
    assert http.get(f"/collections/{name}/points/77").status_code == 404
    assert http.get(f"/collections/{name}/points/not-an-id").status_code == 400


def test_delete_by_ids_and_by_filter(client: QdrantClient, name: str) -> None:
    make_collection(client, name, n=40, dim=4)
    client.delete(name, models.PointIdsList(points=[0, 1, 2]))
    assert client.count(name).count == 37
    drama = models.Filter(
        must=[models.FieldCondition(key="genre", match=models.MatchValue(value="drama"))]
    )
    client.delete(name, models.FilterSelector(filter=drama))
    assert client.count(name, count_filter=drama).count == 0
    assert client.count(name).count == 37 - 9  # ids 4, 8, ..., 36 were drama


def test_scroll_pages_through_everything(client: QdrantClient, name: str) -> None:
    make_collection(client, name, n=25, dim=4)
    seen: list[int] = []
    offset = None
    while True:
        page, offset = client.scroll(name, limit=10, offset=offset)
        seen.extend(int(p.id) for p in page)
        if offset is None:
            break
    assert seen == list(range(25))
    recent = models.Filter(must=[models.FieldCondition(key="year", range=models.Range(gte=2010))])
    page, _ = client.scroll(name, scroll_filter=recent, limit=100, with_payload=["year"])
    assert page and all(p.payload and p.payload["year"] >= 2010 for p in page)
    assert all(p.payload is not None and set(p.payload) == {"year"} for p in page)


def test_count_with_and_without_filter(client: QdrantClient, name: str) -> None:
    make_collection(client, name, n=40, dim=4)
    assert client.count(name).count == 40
    comedy = models.Filter(
        must=[models.FieldCondition(key="genre", match=models.MatchValue(value="comedy"))]
    )
    assert client.count(name, count_filter=comedy, exact=True).count == 10


def test_query_nearest_with_filter_payload_and_threshold(client: QdrantClient, name: str) -> None:
    make_collection(client, name, n=60, dim=8, distance=models.Distance.DOT)
    query = vectors(1, 8, seed=99)[0]
    hits = client.query_points(name, query=query, limit=5, with_payload=True).points
    assert len(hits) == 5
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.payload == payload(int(h.id)) for h in hits)
    horror = models.Filter(
        must=[models.FieldCondition(key="genre", match=models.MatchValue(value="horror"))]
    )
    filtered = client.query_points(name, query=query, query_filter=horror, limit=50).points
    assert filtered and all(int(h.id) % 4 == 2 for h in filtered)
    above = client.query_points(name, query=query, limit=50, score_threshold=0.0).points
    assert all(h.score >= 0.0 for h in above)
    paged = client.query_points(name, query=query, limit=3, offset=2).points
    assert [h.id for h in paged] == [h.id for h in hits[2:5]]


def test_query_batch(client: QdrantClient, name: str) -> None:
    make_collection(client, name, n=30, dim=4)
    qs = vectors(3, 4, seed=5)
    batch = client.query_batch_points(name, [models.QueryRequest(query=q, limit=4) for q in qs])
    assert len(batch) == 3
    for q, response in zip(qs, batch, strict=True):
        single = client.query_points(name, query=q, limit=4).points
        assert [p.id for p in response.points] == [p.id for p in single]


def test_payload_index_create_and_delete(client: QdrantClient, name: str) -> None:
    make_collection(client, name, n=10, dim=4)
    result = client.create_payload_index(name, "genre", models.PayloadSchemaType.KEYWORD)
    assert result.status == models.UpdateStatus.COMPLETED
    schema = client.get_collection(name).payload_schema
    assert "genre" in schema
    client.delete_payload_index(name, "genre")
    assert "genre" not in client.get_collection(name).payload_schema


def test_wait_false_answers_acknowledged_like_qdrant(
    client: QdrantClient, http: httpx.Client, name: str
) -> None:
    """Qdrant: `acknowledged` unless the client waits (REST's default is not to wait)."""
    make_collection(client, name, n=0, dim=4)
    body = {"points": [{"id": 1, "vector": [1, 2, 3, 4]}]}
    for query, expected in (("false", "acknowledged"), ("", "acknowledged"), ("true", "completed")):
        r = http.put(f"/collections/{name}/points?wait={query}", json=body)
        assert r.status_code == 200
        assert r.json()["status"] == "ok"
        assert r.json()["result"]["status"] == expected, query
        assert isinstance(r.json()["result"]["operation_id"], int)
    assert client.count(name).count == 1  # applied before the answer, whatever was asked

    ack, done = models.UpdateStatus.ACKNOWLEDGED, models.UpdateStatus.COMPLETED
    keyword = models.PayloadSchemaType.KEYWORD
    for wait, status in ((False, ack), (True, done)):
        assert client.upsert(name, points(3, 4, start=10), wait=wait).status == status
        assert client.create_payload_index(name, "genre", keyword, wait=wait).status == status
        assert client.delete_payload_index(name, "genre", wait=wait).status == status
        assert client.delete(name, [10], wait=wait).status == status
        assert client.retrieve(name, [10]) == []
    assert client.count(name).count == 3
    assert "genre" not in client.get_collection(name).payload_schema


def test_wrong_vector_size_is_400_not_500(client: QdrantClient, name: str) -> None:
    make_collection(client, name, n=0, dim=4)
    with pytest.raises(UnexpectedResponse) as info:
        client.upsert(name, [models.PointStruct(id=1, vector=[1.0, 2.0])])
    assert info.value.status_code == 400
    with pytest.raises(UnexpectedResponse) as info:
        client.query_points(name, query=[1.0, 2.0, 3.0])
    assert info.value.status_code == 400


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("points", {"points": [{"id": 1.5, "vector": [1, 2, 3, 4]}]}),
        ("points", {"wrong": []}),
        ("points/scroll", {"limit": "ten"}),
        ("points/count", {"filter": {"must": [{"key": "a", "match": {"nope": 1}}]}}),
        ("points/query", {"query": [1, 2, 3, 4], "limit": "three"}),
        ("points/delete", {"nothing": []}),
        ("index", {"field_name": "x", "field_schema": "not-a-type"}),
    ],
)
def test_bad_point_bodies_are_format_errors(
    client: QdrantClient, http: httpx.Client, name: str, path: str, body: dict[str, object]
) -> None:
    make_collection(client, name, n=3, dim=4)
    method = "PUT" if path in ("points", "index") else "POST"
    r = http.request(method, f"/collections/{name}/{path}", json=body)
    assert r.status_code == 400, r.text  # serde's answer in Qdrant
    assert r.json()["status"]["error"].startswith("Format error in JSON body")
    assert client.count(name).count == 3


def test_bad_values_the_schema_allows_are_refused(
    client: QdrantClient, http: httpx.Client, name: str
) -> None:
    make_collection(client, name, n=3, dim=4)
    # Qdrant's range rules: 422 with its validator's text
    r = http.post(f"/collections/{name}/points/scroll", json={"limit": 0})
    assert r.status_code == 422, r.text
    r = http.post(f"/collections/{name}/points/query", json={"query": [1, 2, 3, 4], "limit": 0})
    assert r.status_code == 422, r.text  # Qdrant's validator: limit has `range(min = 1)`
    assert "limit: value 0 invalid, must be 1 or larger" in r.text
    r = http.put(f"/collections/{name}/points", json={"points": [{"id": -1, "vector": [1] * 4}]})
    assert r.status_code == 400, r.text


def test_reads_of_an_unknown_vector_name_are_400(
    client: QdrantClient, http: httpx.Client, name: str
) -> None:
    """retrieve and scroll (either spelling of with_vector) name Qdrant's error, never a 500."""
    make_collection(client, name, n=3, dim=4)
    for path, body in [
        ("points", {"ids": [0, 1], "with_vectors": ["", "nope"]}),
        ("points", {"ids": [0, 1], "with_vector": ["nope"]}),
        ("points/scroll", {"with_vectors": ["nope"]}),
    ]:
        r = http.post(f"/collections/{name}/{path}", json=body)
        assert r.status_code == 400, r.text
        assert r.json()["status"]["error"] == "Wrong input: Not existing vector name error: nope"
    r = http.post(f"/collections/{name}/points", json={"ids": [0], "with_vectors": True})
    assert r.status_code == 200 and len(r.json()["result"][0]["vector"]) == 4, r.text


def test_filters_qdrant_validates_are_422(
    client: QdrantClient, http: httpx.Client, name: str
) -> None:
    """A field condition with only a key, a slice index beyond its total: Qdrant's
    struct-level rules (422, under the flattened request's path); a zero total is serde's."""
    make_collection(client, name, n=3, dim=4)
    just_key = {"query": [1, 2, 3, 4], "filter": {"must": [{"key": "city"}]}}
    r = http.post(f"/collections/{name}/points/query", json=just_key)
    assert r.status_code == 422, r.text
    assert r.json()["status"]["error"] == (
        "Validation error in JSON body: [internal.filter.must[0].__all__: "
        "Validation error: At least one field condition must be specified [{}]]"
    )
    beyond = {"filter": {"must": [{"slice": {"total": 4, "index": 4}}]}}
    r = http.post(f"/collections/{name}/points/scroll", json=beyond)
    assert r.status_code == 422, r.text
    assert "scroll_request.filter.must[0].__all__: Validation error: Slice index must be" in r.text
    zero = {"filter": {"must": [{"slice": {"total": 0, "index": 0}}]}}
    r = http.post(f"/collections/{name}/points/scroll", json=zero)
    assert r.status_code == 400 and "Format error in JSON body" in r.text, r.text
    inside = {"filter": {"must": [{"slice": {"total": 4, "index": 3}}]}, "limit": 10}
    assert http.post(f"/collections/{name}/points/scroll", json=inside).status_code == 200


def test_points_of_missing_collection_are_404(http: httpx.Client) -> None:
    for method, path, body in [
        ("PUT", "points", {"points": [{"id": 1, "vector": [1.0]}]}),
        ("POST", "points", {"ids": [1]}),
        ("POST", "points/scroll", {}),
        ("POST", "points/count", {}),
        ("POST", "points/query", {"query": [1.0]}),
        ("POST", "points/delete", {"points": [1]}),
    ]:
        r = http.request(method, f"/collections/ghost/{path}", json=body)
        assert r.status_code == 404, (path, r.text)
