"""The served data path's short cuts read what the long way reads, and refuse what it refuses.

- gRPC upserts: `convert.plain_points` (dense points without per-point validation) against
  qdrant-client's `GrpcToRest.convert_point_struct` + `PointsList` on every kind of point;
  over the real server, every bad upsert answers its status and text and writes nothing.
- REST query bodies: parsed once and validated in Python mode (`decode_data`) against the
  JSON-mode decode (`decode_body`) on the bodies qdrant-client sends and on bad ones.
- REST upserts: decoded and written in one thread-pool trip; bad bodies still answer
  Qdrant's status and text and write nothing.
"""

from __future__ import annotations

import math
from typing import Any

import grpc
import httpx
import orjson
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client import grpc as pb
from qdrant_client.conversions.conversion import GrpcToRest, RestToGrpc, payload_to_grpc
from qdrant_client.http.models import PointInsertOperations, QueryRequest, QueryRequestBatch

from crewchief.server.bodies import ApiError, decode_body, decode_data
from crewchief.server.grpc import convert
from tests.server.serverproc import ServerProcess

U = "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"


def grpc_point(pid: Any, vector: Any, payload: dict[str, Any] | None = None) -> pb.PointStruct:
    """A point as qdrant-client's gRPC uploader builds it (`vector` None: no vectors set)."""
    point = pb.PointStruct(
        id=RestToGrpc.convert_extended_point_id(pid), payload=payload_to_grpc(payload or {})
    )
    if isinstance(vector, pb.Vectors):
        point.vectors.CopyFrom(vector)
    elif vector is not None:
        point.vectors.CopyFrom(RestToGrpc.convert_vector_struct(vector))
    return point


def long_way(points: list[pb.PointStruct]) -> models.PointsList:
    return models.PointsList(points=[GrpcToRest.convert_point_struct(p) for p in points])


# an unnamed sparse vector, which qdrant-client's REST-to-gRPC converter does not write
SPARSE = pb.Vectors(vector=pb.Vector(sparse=pb.SparseVector(indices=[1, 2], values=[0.5, 0.2])))
PAYLOAD = {"title": "a", "n": 3, "x": 0.5, "ok": True, "tags": ["a", 1], "sub": {"k": None}}
DENSE_SETS = {
    "dense": [grpc_point(i, [0.1 * i, 0.2, 0.3, 0.4], PAYLOAD) for i in range(5)],
    "uuid ids": [grpc_point(U, [1.0, 2.0, 3.0, 4.0])],
    "no payload": [grpc_point(7, [1.0, 2.0, 3.0, 4.0])],
    "named dense": [grpc_point(1, {"a": [1.0, 2.0], "b": [3.0]}, {"k": 1})],
    "empty dense": [grpc_point(1, [])],
    "non-finite": [grpc_point(1, [math.nan, math.inf, -math.inf, 1.0], {"d": math.nan})],
    "no named vectors": [grpc_point(1, {})],
}
OTHER_SETS = {
    "sparse": [grpc_point(1, SPARSE)],
    "multi": [grpc_point(1, [[1.0, 2.0], [3.0, 4.0]])],
    "named sparse": [grpc_point(1, {"s": models.SparseVector(indices=[1], values=[1.0])})],
    "document": [grpc_point(1, models.Document(text="hi", model="m"))],
    "no vectors": [grpc_point(1, None)],
    "no id": [pb.PointStruct(vectors=RestToGrpc.convert_vector_struct([1.0]))],
    "dense then sparse": [
        grpc_point(1, [1.0, 2.0, 3.0, 4.0]),
        grpc_point(2, SPARSE),
    ],
}


@pytest.mark.parametrize("kind", sorted(DENSE_SETS))
def test_plain_points_are_what_the_converters_make(kind: str) -> None:
    req = pb.UpsertPoints(collection_name="c", points=DENSE_SETS[kind])
    req = pb.UpsertPoints.FromString(req.SerializeToString())  # as the server receives it
    short = convert.plain_points(req.points)
    assert short is not None
    expected = long_way(list(req.points)).points
    # repr: NaN equals itself there, and ints stay apart from floats
    assert repr([p.model_dump() for p in short]) == repr([p.model_dump() for p in expected])
    assert [type(p.id) for p in short] == [type(p.id) for p in expected]
    assert [p.model_fields_set for p in short] == [p.model_fields_set for p in expected]


def _rows(body: Any) -> list[tuple[Any, Any, Any]]:
    """(id, vector, payload) of each point of a PointsList or PointsBatch, vectors as lists."""
    if isinstance(body, models.PointsBatch):
        b = body.batch
        vectors = [v.tolist() if hasattr(v, "tolist") else v for v in b.vectors]
        return list(zip(b.ids, vectors, b.payloads or [None] * len(b.ids), strict=True))
    return [(p.id, p.vector, p.payload) for p in body.points]


BATCHED = {"dense", "uuid ids", "no payload", "non-finite"}


@pytest.mark.parametrize("kind", sorted(DENSE_SETS))
def test_dense_batches_hold_what_the_converters_read(kind: str) -> None:
    req = pb.UpsertPoints(collection_name="c", points=DENSE_SETS[kind])
    req = pb.UpsertPoints.FromString(req.SerializeToString())
    body = convert.upsert(req)
    assert isinstance(body, models.PointsBatch) == (kind in BATCHED)
    assert repr(_rows(body)) == repr(_rows(long_way(list(req.points))))


def test_dense_batches_need_one_length_and_nothing_but_floats() -> None:
    two = [grpc_point(1, [1.0, 2.0]), grpc_point(2, [1.0, 2.0, 3.0])]
    assert convert.dense_batch(two) is None
    assert convert.plain_points(two) is not None  # the per-point reading then
    odd = grpc_point(1, [1.0, 2.0])
    dense = odd.vectors.vector.dense
    dense.MergeFromString(b"\x10\x01")  # an unknown field (number 2), kept by protobuf
    assert convert.dense_batch([odd]) is None
    body = convert.upsert(pb.UpsertPoints(collection_name="c", points=[odd]))
    assert isinstance(body, models.PointsList) and body.points[0].vector == [1.0, 2.0]
    assert convert.dense_batch([]) is None


@pytest.mark.parametrize("kind", sorted(OTHER_SETS))
def test_other_points_take_the_converters(kind: str) -> None:
    req = pb.UpsertPoints(collection_name="c", points=OTHER_SETS[kind])
    assert convert.plain_points(req.points) is None
    try:
        expected: Any = long_way(list(req.points))
    except Exception as exc:  # noqa: BLE001  (whatever the converters raise, upsert raises)
        with pytest.raises(type(exc)) as got:
            convert.upsert(req)
        assert str(got.value) == str(exc)
    else:
        assert convert.upsert(req).points == expected.points


# -- over the real server ------------------------------------------------------------------


def _status(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    err: Any = info.value
    return err.code(), err.details()


BAD_GRPC: list[tuple[str, list[pb.PointStruct], str]] = [
    (
        "dim",
        [grpc_point(9, [1.0, 2.0])],
        "Wrong input: Vector dimension error: expected dim: 4, got 2",
    ),
    ("nan", [grpc_point(9, [1.0, math.nan, 0.0, 0.0])], "Wrong input: Vector contains NaN values"),
    ("bad uuid", [grpc_point("not-a-uuid", [1.0, 2.0, 3.0, 4.0])], "not-a-uuid"),
    ("unknown name", [grpc_point(9, {"zz": [1.0, 2.0, 3.0, 4.0]})], "Not existing vector name"),
    ("empty", [grpc_point(9, [])], "dense vector must not be empty"),
    ("second bad", [grpc_point(9, [1.0] * 4), grpc_point(10, [1.0])], "expected dim: 4, got 1"),
    ("second nan", [grpc_point(9, [1.0] * 4), grpc_point(10, [math.nan] * 4)], "NaN values"),
    ("batch dim", [grpc_point(9, [1.0] * 3), grpc_point(10, [1.0] * 3)], "dim: 4, got 3"),
    ("sparse for dense", [grpc_point(9, SPARSE)], "validation error(s)"),
    ("no id", [pb.PointStruct(vectors=RestToGrpc.convert_vector_struct([1.0] * 4))], "PointId"),
]


@pytest.mark.parametrize("case", BAD_GRPC, ids=[c[0] for c in BAD_GRPC])
def test_bad_grpc_upserts_answer_and_write_nothing(
    server: ServerProcess, client: QdrantClient, name: str, case: Any
) -> None:
    _, points, text = case
    client.create_collection(name, vectors_config=models.VectorParams(size=4, distance="Cosine"))
    client.upsert(name, [models.PointStruct(id=1, vector=[1.0, 0.0, 0.0, 0.0])], wait=True)
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as ch:
        stub = pb.PointsStub(ch)
        req = pb.UpsertPoints(collection_name=name, points=points, wait=True)
        code, message = _status(lambda: stub.Upsert(req))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert text in message, message
    assert client.count(name, exact=True).count == 1  # nothing written


BAD_REST: list[tuple[str, Any, int, str]] = [
    ("bool element", [True, 0.0, 0.0, 0.0], 400, "Format error in JSON body: "),
    ("text element", ["a", 0.0, 0.0, 0.0], 400, "Format error in JSON body: "),
    ("dim", [1.0, 2.0], 400, "Wrong input: Vector dimension error: expected dim: 4, got 2"),
    ("null vector", None, 400, "Format error in JSON body: "),
]


@pytest.mark.parametrize("case", BAD_REST, ids=[c[0] for c in BAD_REST])
def test_bad_rest_upserts_answer_and_write_nothing(
    http: httpx.Client, client: QdrantClient, name: str, case: Any
) -> None:
    _, vector, status, text = case
    client.create_collection(name, vectors_config=models.VectorParams(size=4, distance="Cosine"))
    good = {"id": 1, "vector": [1.0, 0.0, 0.0, 0.0], "payload": {"a": 1}}
    body = {"points": [good, {"id": 2, "vector": vector}]}
    r = http.put(f"/collections/{name}/points?wait=true", json=body)
    assert r.status_code == status, r.text
    assert r.json()["status"]["error"].startswith(text), r.text
    assert client.count(name, exact=True).count == 0
    r = http.put(f"/collections/{name}/points?wait=true", json={"points": [good] * 300})
    assert r.status_code == 200 and client.count(name, exact=True).count == 1  # a big body


# -- REST query bodies: Python mode against JSON mode ---------------------------------------

E, P = {"key": "a"}, {"hnsw_ef": 8}
QUERY_BODIES: list[tuple[Any, Any]] = [
    (QueryRequest, {"query": {"nearest": [0.1] * 384}, "limit": 10, "with_payload": True}),
    (QueryRequest, {"query": [0.5, 1, 2], "with_vector": ["a"], "offset": 3}),
    (QueryRequest, {"query": 7, "using": "v", "score_threshold": 0.5}),
    (QueryRequest, {"query": U, "filter": {"must": [{"key": "a", "match": {"value": "x"}}]}}),
    (QueryRequest, {"filter": {"must": [{"key": "t", "range": {"gte": "2024-01-02T03:04:05Z"}}]}}),
    (
        QueryRequest,
        {"filter": {"should": [{"has_id": [1, U]}], "must_not": [{"is_empty": {"key": "a"}}]}},
    ),
    (QueryRequest, {"query": {"fusion": "rrf"}, "prefetch": [{"query": [1.0], "limit": 5}]}),
    (
        QueryRequest,
        {"query": {"recommend": {"positive": [1], "negative": [2]}}, "params": {"hnsw_ef": 8}},
    ),
    (QueryRequest, {"query": {"order_by": {"key": "n", "direction": "desc"}}}),
    (QueryRequest, {"query": {"nearest": {"indices": [1, 2], "values": [0.1, 0.2]}}}),
    (QueryRequest, {"query": [1.0], "unknown_field": 1, "params": {"exact": True, "zz": 2}}),
    (QueryRequest, {"query": [1.0], "limit": 0}),
    (QueryRequest, {"query": [1.0], "limit": -1}),
    (QueryRequest, {"query": [1.0], "params": {"hnsw_ef": 0}}),
    (QueryRequest, {"query": [True, 1.0]}),
    (QueryRequest, {"query": "text?"}),
    (QueryRequest, {"filter": {"must": [{"key": "a", "zz": 1}]}}),
    (QueryRequest, {"limit": "ten"}),
    (QueryRequest, {"query": {"nearest": [1.0], "mmr": {"diversity": 2.0}}}),
    (QueryRequestBatch, {"searches": [{"query": [1.0]}, {"query": 3, "limit": 2}]}),
    (QueryRequestBatch, {"searches": [{"query": [1.0], "limit": 0}]}),
    (PointInsertOperations, {"points": [{"id": 1, "vector": [1, 2.5], "payload": {"a": [1]}}]}),
]


def _decoded(call: Any) -> Any:
    """The value as JSON (a UUID as its text: JSON mode makes UUIDs of id strings, Python
    mode keeps the text, and the engine reads both alike), or the error."""
    try:
        value = call()
        return ("ok", type(value).__name__, value.model_dump(mode="json"))
    except ApiError as exc:
        return ("error", exc.status_code, exc.message)


@pytest.mark.parametrize("i", range(len(QUERY_BODIES)))
def test_query_bodies_decode_alike_in_python_and_json_mode(i: int) -> None:
    schema, body = QUERY_BODIES[i]
    raw = orjson.dumps(body)
    assert len(raw) <= 64 * 1024  # decode_body's JSON mode
    assert _decoded(lambda: decode_data(orjson.loads(raw), schema)) == _decoded(
        lambda: decode_body(raw, schema)
    )
