"""Vectors of every kind through the real qdrant-client against `crewchief serve` (REST),
compared with local mode: create with sparse and multi-vectors and quantization, points with
any mix of vectors, nearest queries on each kind, Qdrant's status codes for bad vectors,
a restart and a snapshot round trip."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.engine import vector_kinds as vk
from tests.server.conftest import qdrant
from tests.server.serverproc import start_server

pytestmark = pytest.mark.filterwarnings("ignore:Local mode performs exact:UserWarning")

QUANT = models.ProductQuantization(
    product=models.ProductQuantizationConfig(compression=models.CompressionRatio.X8)
)


def create(client: QdrantClient, name: str, **kwargs: Any) -> None:
    client.create_collection(
        name,
        vectors_config=vk.vectors_config(),
        sparse_vectors_config=vk.sparse_config(),
        **kwargs,
    )
    client.upsert(name, vk.points(), wait=True)


@pytest.fixture
def local() -> Iterator[QdrantClient]:
    c = QdrantClient(":memory:")
    create(c, "kinds")
    yield c
    c.close()


def records(client: QdrantClient, name: str) -> dict[Any, Any]:
    found = client.retrieve(name, list(range(vk.N)), with_vectors=True)
    return {r.id: r for r in found}


def test_every_kind_round_trips_as_in_local_mode(
    client: QdrantClient, local: QdrantClient, name: str
) -> None:
    create(client, name, quantization_config=QUANT)
    config = client.get_collection(name).config
    assert config.quantization_config == QUANT
    assert config.params.sparse_vectors == vk.sparse_config()
    assert config.params.vectors == vk.vectors_config()
    ours, theirs = records(client, name), records(local, "kinds")
    assert set(ours) == set(theirs) == set(range(vk.N))
    assert all(vk.same_vectors(ours[i].vector, theirs[i].vector) for i in ours)
    assert isinstance(ours[0].vector["text"], models.SparseVector)
    a, _ = client.scroll(name, limit=vk.N, with_vectors=["multi", "plain"])
    b, _ = local.scroll("kinds", limit=vk.N, with_vectors=["multi", "plain"])
    assert all(vk.same_vectors(x.vector, y.vector) for x, y in zip(a, b, strict=True))
    for query, using in vk.queries():
        got = client.query_points(
            name, query, using=using, limit=vk.N, search_params=vk.EXACT
        ).points
        want = local.query_points("kinds", query, using=using, limit=vk.N).points
        assert got and vk.same_hits(got, want), using
    flt = models.Filter(must=[models.HasVectorCondition(has_vector="plain")])
    assert (
        client.count(name, count_filter=flt).count == local.count("kinds", count_filter=flt).count
    )


def test_batch_and_sparse_only_collection(client: QdrantClient, name: str) -> None:
    client.create_collection(
        name, vectors_config={}, sparse_vectors_config={"s": models.SparseVectorParams()}
    )
    batch = models.Batch(
        ids=[1, 2],
        vectors={
            "s": [
                models.SparseVector(indices=[1, 4], values=[1.0, 2.0]),
                models.SparseVector(indices=[4], values=[0.5]),
            ]
        },
    )
    client.upsert(name, batch, wait=True)
    hits = client.query_points(
        name, models.SparseVector(indices=[4], values=[1.0]), using="s"
    ).points
    assert [(p.id, p.score) for p in hits] == [(1, 2.0), (2, 0.5)]
    assert client.get_collection(name).config.params.vectors == {}


def test_collection_without_vectors(client: QdrantClient, name: str) -> None:
    client.create_collection(name, vectors_config={})
    client.upsert(name, [models.PointStruct(id=i, vector={}, payload={"n": i}) for i in range(4)])
    big = models.Filter(must=[models.FieldCondition(key="n", range=models.Range(gte=2))])
    assert client.count(name, count_filter=big).count == 2
    assert [p.id for p in client.query_points(name, query_filter=big).points] == [2, 3]
    assert client.retrieve(name, [1], with_vectors=True)[0].vector == {}
    info = client.get_collection(name)
    assert info.config.params.vectors == {} and info.config.params.sparse_vectors is None
    with pytest.raises(UnexpectedResponse, match="Not existing vector name error") as err:
        client.upsert(name, [models.PointStruct(id=9, vector=[0.1, 0.2])])
    assert err.value.status_code == 400
    assert client.count(name).count == 4


def body(name: str, vector: Any) -> dict[str, Any]:
    return {
        "points": [
            {"id": 1, "vector": {"dense": [1.0] * 8}},
            {"id": 2, "vector": {"dense": [1.0] * 8, **vector}},
        ]
    }


@pytest.mark.parametrize(
    ("vector", "status", "message"),
    [
        (
            {"text": {"indices": [1, 2], "values": [1.0]}},
            422,
            "Validation error in JSON body: [values: must be the same length as indices]",
        ),
        (
            {"text": {"indices": [3, 3], "values": [1.0, 1.0]}},
            422,
            "Validation error in JSON body: [indices: must be unique]",
        ),
        (
            {"multi": [[1.0, 2.0, 3.0, 4.0], [1.0, 2.0]]},
            422,
            "all vectors must have the same dimension, found vector with dimension 2",
        ),
        (
            {"multi": [[1.0, 2.0]]},
            400,
            "Wrong input: Vector dimension error: expected dim: 4, got 2",
        ),
        ({"nope": [1.0]}, 400, "Wrong input: Not existing vector name error: nope"),
        (
            {"text": [1.0, 2.0]},
            400,
            "Wrong input: Conversion between sparse and regular vectors failed",
        ),
        (
            {"dense": {"indices": [1], "values": [1.0]}},
            400,
            "Wrong input: Conversion between sparse and regular vectors failed",
        ),
    ],
)
def test_bad_vectors_answer_qdrant_status_and_text(
    client: QdrantClient, http: httpx.Client, name: str, vector: Any, status: int, message: str
) -> None:
    create(client, name)
    r = http.put(f"/collections/{name}/points?wait=true", json=body(name, vector))
    assert r.status_code == status, r.text
    assert message in r.json()["status"]["error"]
    assert client.count(name).count == vk.N  # nothing half-applied
    assert client.retrieve(name, [1000]) == []


def test_bad_query_vectors(client: QdrantClient, http: httpx.Client, name: str) -> None:
    create(client, name)
    r = http.post(
        f"/collections/{name}/points/query",
        json={"query": {"indices": [1, 1], "values": [1, 2]}, "using": "text"},
    )
    assert r.status_code == 422 and "must be unique" in r.text
    with pytest.raises(UnexpectedResponse) as exc:
        client.query_points(name, [1.0, 2.0], using="text")
    assert exc.value.status_code == 400
    assert "Conversion between sparse and regular vectors failed" in str(exc.value)


def test_refusals_name_what_edge_cannot_do(client: QdrantClient, name: str) -> None:
    with pytest.raises(UnexpectedResponse) as exc:
        client.create_collection(
            name,
            vectors_config=models.VectorParams(
                size=4, distance=models.Distance.DOT, datatype=models.Datatype.TURBO4
            ),
        )
    assert exc.value.status_code == 400 and "turbo4" in str(exc.value)
    assert not client.collection_exists(name)


def test_restart_and_snapshot_round_trip(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        c = qdrant(server.url)
        create(c, "kinds", quantization_config=QUANT)
        before = records(c, "kinds")
    finally:
        server.stop()
    server = start_server(data)
    try:
        c = qdrant(server.url)
        assert c.get_collection("kinds").config.quantization_config == QUANT
        after = records(c, "kinds")
        assert set(after) == set(before)
        assert all(vk.same_vectors(after[i].vector, before[i].vector) for i in before)
        snap = c.create_snapshot("kinds")
        assert snap is not None
        url = f"{server.url}/collections/kinds/snapshots/{snap.name}"
        assert c.recover_snapshot("copy", url, checksum=snap.checksum) is True
        copied = records(c, "copy")
        assert all(vk.same_vectors(copied[i].vector, before[i].vector) for i in before)
        q = models.SparseVector(indices=[2, 3, 5], values=[1.0, 2.0, 1.0])
        assert vk.same_hits(
            c.query_points("copy", q, using="text", limit=20).points,
            c.query_points("kinds", q, using="text", limit=20).points,
        )
        assert c.get_collection("copy").config.params.sparse_vectors == vk.sparse_config()
    finally:
        server.stop()
