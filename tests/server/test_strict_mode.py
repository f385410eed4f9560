"""Strict mode through `crewchief serve` and the real qdrant-client: Qdrant's status codes
(400 `Bad request: ...`, 429 `Rate limiting exceeded: ...` with Retry-After) and texts;
a refused request changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.common.client_exceptions import ResourceExhaustedResponse
from qdrant_client.http.exceptions import UnexpectedResponse

VEC = [0.1, 0.2, 0.3, 0.4]


def make(client: QdrantClient, name: str, **strict: Any) -> None:
    client.create_collection(
        name,
        vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT),
    )
    client.upsert(
        name,
        [models.PointStruct(id=i, vector=VEC, payload={"city": "Berlin"}) for i in range(1, 6)],
    )
    strict_config = models.StrictModeConfig(enabled=True, **strict)
    client.update_collection(name, strict_mode_config=strict_config)


def refused(fn: Any, status: int, text: str) -> UnexpectedResponse:
    with pytest.raises(UnexpectedResponse) as err:
        fn()
    assert err.value.status_code == status
    assert text in err.value.content.decode(), err.value.content
    return err.value


def test_limits_through_the_client(client: QdrantClient, name: str) -> None:
    make(client, name, max_query_limit=3, upsert_max_batchsize=2, max_points_count=6)
    assert len(client.query_points(name, VEC, limit=3).points) == 3
    refused(
        lambda: client.query_points(name, VEC, limit=4),
        400,
        'Bad request: Limit exceeded 4 > 3 for \\"limit\\". Help: Reduce the \\"limit\\"',
    )
    three = [models.PointStruct(id=i, vector=VEC) for i in (10, 11, 12)]
    refused(lambda: client.upsert(name, three), 400, 'for \\"upsert limit\\"')
    assert client.count(name).count == 5
    client.upsert(name, three[:1])
    refused(
        lambda: client.upsert(name, three[1:2]),
        400,
        "Bad request: Max points count limit of 6 reached!",
    )
    assert client.count(name).count == 6
    info = client.get_collection(name).config.strict_mode_config
    assert info is not None and info.max_query_limit == 3


def test_unindexed_filter(client: QdrantClient, name: str) -> None:
    make(client, name, unindexed_filtering_retrieve=False, unindexed_filtering_update=False)
    f = models.Filter(
        must=[models.FieldCondition(key="city", match=models.MatchValue(value="Berlin"))]
    )
    refused(
        lambda: client.scroll(name, scroll_filter=f),
        400,
        'Index required but not found for \\"city\\" of one of the following types: [keyword]',
    )
    refused(
        lambda: client.delete(name, models.FilterSelector(filter=f)), 400, "Help: Create an index"
    )
    assert client.count(name).count == 5
    client.create_payload_index(name, "city", models.PayloadSchemaType.KEYWORD)
    assert client.count(name, count_filter=f).count == 5


def test_search_batch_size(http: httpx.Client, client: QdrantClient, name: str) -> None:
    make(client, name, search_max_batchsize=2)
    body = {"searches": [{"query": VEC, "limit": 1}] * 3}
    r = http.post(f"/collections/{name}/points/query/batch", json=body)
    assert r.status_code == 400
    assert 'Limit exceeded 3 > 2 for \\"search batch size\\"' in r.text
    body = {"searches": [{"query": VEC, "limit": 1}] * 2}
    assert http.post(f"/collections/{name}/points/query/batch", json=body).status_code == 200


def test_rate_limits(http: httpx.Client, client: QdrantClient, name: str) -> None:
    make(client, name, read_rate_limit=2, write_rate_limit=3)
    client.count(name)
    client.count(name)
    r = http.post(f"/collections/{name}/points/count", json={})
    assert r.status_code == 429
    assert r.json()["status"]["error"].startswith(
        "Rate limiting exceeded: Read rate limit exceeded: Operation requires 1 tokens but only"
    )
    assert 25 <= int(r.headers["Retry-After"]) <= 30
    points = [models.PointStruct(id=i, vector=VEC) for i in (7, 8, 9, 10)]
    refused(
        lambda: client.upsert(name, points),
        429,
        "Write rate limit exceeded, request larger than rate limiter capacity",
    )
    client.upsert(name, points[:3])
    with pytest.raises(ResourceExhaustedResponse) as err:  # qdrant-client's 429, Retry-After read
        client.upsert(name, points[3:])
    assert "Write rate limit exceeded: Operation requires 1 tokens" in err.value.message
    assert 15 <= err.value.retry_after_s <= 20
    client.update_collection(name, strict_mode_config=models.StrictModeConfig(enabled=False))
    client.upsert(name, points[3:])
    assert client.count(name).count == 9
