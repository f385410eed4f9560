"""Qdrant's gRPC API on `crewchief serve`, driven by the real `QdrantClient(prefer_grpc=True)`.

Every served RPC is called through qdrant-client's gRPC transport against the real
server on OS-picked ports, and its answer compared with the same call over REST
(the REST routes are the reference: both must call the engine alike).  Bad input
gets Qdrant's gRPC status and message and changes nothing; RPCs crewchief does not
serve answer UNIMPLEMENTED, naming themselves.  `SERVED` must list exactly the RPCs
the servicers implement, so a new one cannot land without a test here.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families
from qdrant_client import QdrantClient, models
from qdrant_client import grpc as pb
from qdrant_client.http import models as rest
from qdrant_client.http.exceptions import UnexpectedResponse

from crewchief.server.grpc.collections import CollectionsService
from crewchief.server.grpc.points import PointsService
from crewchief.server.grpc.snapshots import QdrantService, SnapshotsService
from crewchief.server.grpc.status import unimplemented
from tests.server.data import make_collection, points
from tests.server.serverproc import ServerProcess, start_server

VECTORS = models.VectorParams(size=4, distance=models.Distance.COSINE)

# every RPC crewchief serves over gRPC, each exercised below
SERVED = {
    "Collections": {
        "List",
        "Get",
        "CollectionExists",
        "Create",
        "Update",
        "Delete",
        "UpdateAliases",
        "ListAliases",
        "ListCollectionAliases",
        "CollectionClusterInfo",
    },
    "Points": {
        "Upsert",
        "Delete",
        "Get",
        "Scroll",
        "Count",
        "Query",
        "QueryBatch",
        "CreateFieldIndex",
        "DeleteFieldIndex",
        "SetPayload",
        "OverwritePayload",
        "DeletePayload",
        "ClearPayload",
        "UpdateVectors",
        "DeleteVectors",
        "UpdateBatch",
        "Facet",
        "SearchMatrixPairs",
        "SearchMatrixOffsets",
        "QueryGroups",
        "CreateVectorName",
        "DeleteVectorName",
    },
    "Snapshots": {"Create", "List", "Delete", "CreateFull", "ListFull", "DeleteFull"},
    "Qdrant": {"HealthCheck"},
}
SERVICERS = {
    "Collections": (CollectionsService, pb.CollectionsServicer),
    "Points": (PointsService, pb.PointsServicer),
    "Snapshots": (SnapshotsService, pb.SnapshotsServicer),
    "Qdrant": (QdrantService, pb.QdrantServicer),
}
UNIMPLEMENTED_CODE = unimplemented("X", "Y").__code__


def implemented(service: str) -> set[str]:
    cls, base = SERVICERS[service]
    return {
        m
        for m in vars(base)
        if not m.startswith("_") and getattr(cls, m).__code__ is not UNIMPLEMENTED_CODE
    }


def grpc_client(server: ServerProcess, api_key: str | None = None) -> QdrantClient:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Api key is used with an insecure connection")
        return QdrantClient(
            host="127.0.0.1",
            port=server.port,
            grpc_port=server.grpc_port,
            prefer_grpc=True,
            https=False,
            api_key=api_key,
            timeout=60,
        )


@pytest.fixture(scope="module")
def rpc(server: ServerProcess) -> Iterator[QdrantClient]:
    c = grpc_client(server)
    yield c
    c.close()


@pytest.fixture(scope="module")
def channel(server: ServerProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as ch:
        yield ch


def _f32(v: Any) -> Any:
    if isinstance(v, list):
        return [_f32(x) for x in v]
    if isinstance(v, dict):
        return {k: _f32(x) for k, x in v.items()}
    return float(np.float32(v)) if isinstance(v, float) else v


def as_grpc(value: Any) -> Any:
    """A REST answer as qdrant-client reads the gRPC one: a record has no "no payload", an
    empty map instead, and floats arrive as float32s, where REST writes them shortest
    (0.05) and the client reads the nearest double (Qdrant's own two APIs differ alike)."""
    if isinstance(value, list | tuple):
        return type(value)(as_grpc(v) for v in value)
    if isinstance(value, rest.QueryResponse):  # (models.QueryResponse is fastembed's)
        return rest.QueryResponse(points=as_grpc(value.points))
    if isinstance(value, models.Record | models.ScoredPoint):
        update: dict[str, Any] = {"vector": _f32(value.vector)}
        if isinstance(value, models.ScoredPoint):
            update["score"] = float(np.float32(value.score))
        elif value.payload is None:  # records only: a scored point without payload is None
            update["payload"] = {}
        return value.model_copy(update=update)
    return value


def json_message(body: str) -> str:
    return str(json.loads(body)["status"]["error"])


def status_of(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    err: Any = info.value
    return err.code(), err.details()


def test_the_tests_cover_every_served_rpc() -> None:
    for service, methods in SERVED.items():
        assert implemented(service) == methods, service


def test_server_prints_its_grpc_port(server: ServerProcess) -> None:
    assert server.grpc_url.startswith("grpc://127.0.0.1:") and server.grpc_port > 0
    assert server.grpc_port != server.port


def test_health_check(rpc: QdrantClient, client: QdrantClient) -> None:
    assert rpc.info() == client.info()  # QdrantClient.info() is the HealthCheck RPC over gRPC


def test_collections_and_aliases_as_over_rest(
    rpc: QdrantClient, client: QdrantClient, name: str
) -> None:
    assert rpc.create_collection(name, vectors_config=VECTORS, on_disk_payload=False) is True
    assert rpc.collection_exists(name) and not rpc.collection_exists(name + "_no")
    assert name in {c.name for c in rpc.get_collections().collections}
    assert rpc.get_collections() == client.get_collections()
    rpc.upsert(name, points(30, 4), wait=True)
    info, rest_info = rpc.get_collection(name), client.get_collection(name)
    assert info.status == rest_info.status == models.CollectionStatus.GREEN
    assert info.points_count == rest_info.points_count == 30
    assert info.config.params.vectors == rest_info.config.params.vectors == VECTORS
    assert info.config.params.on_disk_payload is False
    assert info.config.hnsw_config == rest_info.config.hnsw_config

    alias, other = f"{name}_a", f"{name}_b"
    create = models.CreateAliasOperation(
        create_alias=models.CreateAlias(collection_name=name, alias_name=alias)
    )
    assert rpc.update_collection_aliases([create]) is True
    rename = models.RenameAliasOperation(
        rename_alias=models.RenameAlias(old_alias_name=alias, new_alias_name=other)
    )
    assert rpc.update_collection_aliases([rename]) is True
    assert rpc.get_collection_aliases(name) == client.get_collection_aliases(name)
    assert [a.alias_name for a in rpc.get_collection_aliases(name).aliases] == [other]
    assert rpc.get_aliases() == client.get_aliases()
    assert rpc.collection_exists(other)
    assert rpc.count(other).count == 30  # an alias reads its collection
    delete = models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=other))
    assert rpc.update_collection_aliases([delete]) is True
    assert not rpc.collection_exists(other)

    assert rpc.delete_collection(name) is True
    assert not client.collection_exists(name)
    assert rpc.delete_collection(name) is False  # as Qdrant: a missing one is no error


def test_points_as_over_rest(rpc: QdrantClient, client: QdrantClient, name: str) -> None:
    pts = make_collection(client, name, n=40, dim=4)
    flt = models.Filter(
        must=[models.FieldCondition(key="genre", match=models.MatchValue(value="drama"))]
    )
    assert rpc.count(name) == client.count(name)
    assert rpc.count(name, count_filter=flt).count == 10
    assert rpc.retrieve(name, [1, 2, 99], with_vectors=True) == as_grpc(
        client.retrieve(name, [1, 2, 99], with_vectors=True)
    )
    assert rpc.retrieve(name, [4], with_payload=["genre"])[0].payload == {"genre": "drama"}

    page, offset = rpc.scroll(name, limit=15, with_payload=False)
    assert (page, offset) == as_grpc(client.scroll(name, limit=15, with_payload=False))
    assert offset == 15 and all(r.payload == {} for r in page)
    rest_page, _ = client.scroll(name, scroll_filter=flt, offset=8, limit=100)
    assert rpc.scroll(name, scroll_filter=flt, offset=8, limit=100) == (as_grpc(rest_page), None)

    query = pts[0].vector
    for kwargs in (
        {},
        {"limit": 3, "with_payload": True},
        {"query_filter": flt, "with_vectors": True, "limit": 5},
        {"score_threshold": 0.5, "offset": 2},
        {"search_params": models.SearchParams(exact=True), "limit": 7},
    ):
        assert rpc.query_points(name, query=query, **kwargs) == as_grpc(
            client.query_points(name, query=query, **kwargs)
        ), kwargs
    # what the engine refuses, it refuses alike over both APIs
    with pytest.raises(UnexpectedResponse) as refused:
        client.query_points(name, query=[1.0, 2.0], limit=1)  # a vector of the wrong size
    assert refused.value.status_code == 400
    rest_message = refused.value.content.decode()
    code, message = status_of(lambda: rpc.query_points(name, query=[1.0, 2.0], limit=1))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and json_message(rest_message) == message
    batch = [
        models.QueryRequest(query=query, limit=2),
        models.QueryRequest(query=pts[5].vector, filter=flt, limit=4, with_payload=True),
    ]
    assert rpc.query_batch_points(name, batch) == as_grpc(client.query_batch_points(name, batch))

    new = models.PointStruct(id=1000, vector=[0.1, 0.2, 0.3, 0.4], payload={"genre": "new"})
    done = rpc.upsert(name, [new], wait=True)
    assert done.status == models.UpdateStatus.COMPLETED
    assert client.retrieve(name, [1000])[0].payload == {"genre": "new"}
    rpc.upsert(name, models.Batch(ids=[1001, 1002], vectors=[[1, 0, 0, 0], [0, 1, 0, 0]]))
    assert client.count(name).count == 43
    assert rpc.delete(name, models.PointIdsList(points=[1000, 1001])).status in (
        models.UpdateStatus.COMPLETED,
        models.UpdateStatus.ACKNOWLEDGED,
    )
    rpc.delete(name, models.FilterSelector(filter=flt), wait=True)
    assert client.count(name).count == 41 - 10
    assert client.count(name, count_filter=flt).count == 0

    rpc.create_payload_index(name, "year", models.PayloadSchemaType.INTEGER, wait=True)
    params = models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True)
    rpc.create_payload_index(name, "genre", params, wait=True)
    schema = client.get_collection(name).payload_schema
    assert schema["year"].data_type == models.PayloadSchemaType.INTEGER
    assert schema["genre"].data_type == models.PayloadSchemaType.KEYWORD
    assert rpc.get_collection(name).payload_schema.keys() == schema.keys()
    rpc.delete_payload_index(name, "year", wait=True)
    assert "year" not in client.get_collection(name).payload_schema


def test_payload_vector_and_batch_updates_as_over_rest(
    rpc: QdrantClient, client: QdrantClient, channel: grpc.Channel, name: str
) -> None:
    """Each update once over gRPC on one collection and once over REST on its twin:
    afterwards both hold the same points."""
    twin = name + "_rest"
    multi = {"": VECTORS, "b": models.VectorParams(size=2, distance=models.Distance.DOT)}
    for c in (name, twin):
        client.create_collection(c, vectors_config=multi)
        client.upsert(
            c,
            [
                models.PointStruct(
                    id=i,
                    vector={"": [1.0, i, 0.5, 0.25], "b": [i, 1.0]},
                    payload={"n": i, "tag": "a" if i % 2 else "b", "meta": {"x": 1}},
                )
                for i in range(1, 9)
            ],
        )
    odd = models.Filter(must=[models.FieldCondition(key="tag", match=models.MatchValue(value="a"))])
    calls: list[Callable[[QdrantClient, str], Any]] = [
        lambda c, n: c.set_payload(n, {"new": 1}, points=[1, 2]),
        lambda c, n: c.set_payload(n, {"deep": True}, points=odd, key="meta"),
        lambda c, n: c.overwrite_payload(n, {"only": "this"}, points=[3]),
        lambda c, n: c.delete_payload(n, ["n"], points=[4, 5]),
        lambda c, n: c.clear_payload(n, models.PointIdsList(points=[6])),
        lambda c, n: c.update_vectors(
            n, [models.PointVectors(id=7, vector={"b": [9.0, 9.0]})], update_filter=odd
        ),
        lambda c, n: c.update_vectors(n, [models.PointVectors(id=8, vector={"b": [8.0, 8.0]})]),
        lambda c, n: c.delete_vectors(n, ["b"], points=models.PointIdsList(points=[1])),
        lambda c, n: c.batch_update_points(
            n,
            [
                models.SetPayloadOperation(
                    set_payload=models.SetPayload(payload={"batch": 1}, filter=odd)
                ),
                models.DeletePayloadOperation(
                    delete_payload=models.DeletePayload(keys=["tag"], points=[2])
                ),
                models.DeleteVectorsOperation(
                    delete_vectors=models.DeleteVectors(vector=["b"], points=[3])
                ),
                models.UpsertOperation(
                    upsert=models.PointsList(
                        points=[models.PointStruct(id=20, vector={"": [1, 0, 0, 0], "b": [1, 1]})]
                    )
                ),
            ],
        ),
    ]
    for call in calls:
        done = call(rpc, name)
        assert call(client, twin) is not None
        results = done if isinstance(done, list) else [done]
        assert [r.status for r in results] == [models.UpdateStatus.COMPLETED] * len(results)
    assert len(rpc.batch_update_points(name, [])) == 0 == len(client.batch_update_points(twin, []))
    want = client.scroll(twin, limit=100, with_vectors=True)
    assert client.scroll(name, limit=100, with_vectors=True) == want
    assert client.retrieve(name, [7], with_vectors=True)[0].vector["b"] == [9.0, 9.0]
    assert client.retrieve(name, [8], with_vectors=True)[0].vector["b"] == [8.0, 8.0]
    assert isinstance(client.retrieve(name, [1], with_vectors=True)[0].vector, list)  # no "b"
    assert client.retrieve(name, [3])[0].payload == {"only": "this"}  # no tag left

    # refusals: the REST route's status and text, and nothing changes
    stub = pb.PointsStub(channel)
    BAD = grpc.StatusCode.INVALID_ARGUMENT
    code, message = status_of(
        lambda: stub.SetPayload(pb.SetPayloadPoints(collection_name=name, wait=True))
    )
    assert (code, message) == (
        BAD,
        "Wrong input: Either list of point ids or filter must be provided",
    )
    code, message = status_of(lambda: rpc.delete_vectors(name, [], points=[1]))
    assert code == BAD and "must specify vector names to delete" in message
    code, message = status_of(lambda: rpc.update_vectors(name, []))
    assert code == BAD and "must specify points to update" in message
    code, message = status_of(lambda: rpc.set_payload(name + "_missing", {"a": 1}, points=[1]))
    assert code == grpc.StatusCode.NOT_FOUND
    code, message = status_of(
        lambda: rpc.update_vectors(name, [models.PointVectors(id=1, vector={"zz": [1.0]})])
    )
    with pytest.raises(UnexpectedResponse) as refused:
        client.update_vectors(twin, [models.PointVectors(id=1, vector={"zz": [1.0]})])
    assert (code, message) == (BAD, json_message(refused.value.content.decode()))
    assert client.scroll(name, limit=100, with_vectors=True) == want


def test_groups_matrices_and_facets_as_over_rest(
    rpc: QdrantClient, client: QdrantClient, name: str
) -> None:
    pts = make_collection(client, name, n=40, dim=4)
    client.create_payload_index(name, "genre", models.PayloadSchemaType.KEYWORD, wait=True)
    for kwargs in ({}, {"limit": 2, "exact": True}):
        assert rpc.facet(name, "genre", **kwargs) == client.facet(name, "genre", **kwargs)
    for kwargs in ({"sample": 40}, {"sample": 40, "limit": 4}):  # every point: no sampling
        pairs = rpc.search_matrix_pairs(name, **kwargs)
        rest_pairs = client.search_matrix_pairs(name, **kwargs)
        assert [(p.a, p.b) for p in pairs.pairs] == [(p.a, p.b) for p in rest_pairs.pairs]
        scores = [p.score for p in rest_pairs.pairs]
        assert [p.score for p in pairs.pairs] == pytest.approx(scores, rel=1e-6)
        got, want = (
            rpc.search_matrix_offsets(name, **kwargs),
            client.search_matrix_offsets(name, **kwargs),
        )
        assert (got.offsets_row, got.offsets_col, got.ids) == (
            want.offsets_row,
            want.offsets_col,
            want.ids,
        )
        assert got.scores == pytest.approx(want.scores, rel=1e-6)
    for kwargs in ({}, {"limit": 2, "group_size": 1, "with_payload": True}):
        got_groups = rpc.query_points_groups(name, "genre", query=pts[0].vector, **kwargs)
        want_groups = client.query_points_groups(name, "genre", query=pts[0].vector, **kwargs)
        assert [g.id for g in got_groups.groups] == [g.id for g in want_groups.groups]
        assert [[(h.id, h.payload) for h in g.hits] for g in got_groups.groups] == [
            [(h.id, h.payload) for h in g.hits] for g in want_groups.groups
        ]
    code, _ = status_of(lambda: rpc.facet(name + "_missing", "genre"))
    assert code == grpc.StatusCode.NOT_FOUND


def test_update_collection_as_over_rest(rpc: QdrantClient, client: QdrantClient, name: str) -> None:
    twin = name + "_rest"
    changes: dict[str, Any] = {
        "hnsw_config": models.HnswConfigDiff(m=32, ef_construct=50),
        "optimizers_config": models.OptimizersConfigDiff(indexing_threshold=1000),
        "collection_params": models.CollectionParamsDiff(on_disk_payload=True),
    }
    for c, via in ((name, rpc), (twin, client)):
        client.create_collection(c, vectors_config=VECTORS)
        assert via.update_collection(c, **changes) is True
    got, want = client.get_collection(name).config, client.get_collection(twin).config
    assert got == want and got.hnsw_config.m == 32 and got.params.on_disk_payload is True
    code, _ = status_of(lambda: rpc.update_collection(name + "_missing", **changes))
    assert code == grpc.StatusCode.NOT_FOUND


DENSE = models.DenseVectorNameConfig(
    dense=models.DenseVectorConfig(size=3, distance=models.Distance.DOT)
)
NAMED_VECTORS: dict[str, Any] = {
    "d": DENSE,
    "m": models.DenseVectorNameConfig(
        dense=models.DenseVectorConfig(
            size=2,
            distance=models.Distance.EUCLID,
            multivector_config=models.MultiVectorConfig(
                comparator=models.MultiVectorComparator.MAX_SIM
            ),
            datatype=models.VectorStorageDatatype.FLOAT16,
        )
    ),
    "s": models.SparseVectorNameConfig(
        sparse=models.SparseVectorConfig(modifier=models.Modifier.IDF)
    ),
    "s0": models.SparseVectorNameConfig(sparse=models.SparseVectorConfig()),
}


def test_named_vectors_as_over_rest(
    rpc: QdrantClient, client: QdrantClient, channel: grpc.Channel, name: str
) -> None:
    """CreateVectorName / DeleteVectorName on one collection, the REST routes on its twin:
    the same answers, and afterwards the same config and points."""
    twin = name + "_rest"
    for c in (name, twin):
        make_collection(client, c, n=6, dim=4)
    COMPLETED = models.UpdateStatus.COMPLETED
    for vector, config in NAMED_VECTORS.items():
        got, want = (
            rpc.create_vector_name(name, vector, config),
            client.create_vector_name(twin, vector, config),
        )
        assert got.status == want.status == COMPLETED, vector
    # the same schema again changes nothing, over both APIs
    assert rpc.create_vector_name(name, "d", DENSE).status == COMPLETED
    assert client.create_vector_name(twin, "d", DENSE).status == COMPLETED
    params = client.get_collection(name).config.params
    assert params == client.get_collection(twin).config.params
    assert rpc.get_collection(name).config.params.vectors == params.vectors
    assert isinstance(params.vectors, dict) and set(params.vectors) == {"", "d", "m"}
    assert params.vectors["m"].datatype == models.Datatype.FLOAT16
    assert params.vectors["m"].multivector_config is not None
    assert params.sparse_vectors is not None and set(params.sparse_vectors) == {"s", "s0"}
    assert params.sparse_vectors["s"].modifier == models.Modifier.IDF

    # the new vectors hold data, written over gRPC
    vector: dict[str, Any] = {
        "": [1.0, 0.5, 0.25, 0.0],
        "d": [1.0, 2.0, 3.0],
        "m": [[1.0, 0.0], [0.0, 1.0]],
        "s": models.SparseVector(indices=[1, 7], values=[0.5, 1.0]),
    }
    for c in (name, twin):
        rpc.upsert(c, [models.PointStruct(id=100, vector=vector)], wait=True)
    got_points = rpc.retrieve(name, [100], with_vectors=True)
    assert got_points == as_grpc(client.retrieve(twin, [100], with_vectors=True))
    assert set(got_points[0].vector) == {"", "d", "m", "s"}

    for vector in ("d", "s", "nope"):  # a vector the collection lacks: no error
        assert rpc.delete_vector_name(name, vector).status == COMPLETED, vector
        assert client.delete_vector_name(twin, vector).status == COMPLETED, vector
    params = client.get_collection(name).config.params
    assert params == client.get_collection(twin).config.params
    assert isinstance(params.vectors, dict) and set(params.vectors) == {"", "m"}
    assert params.sparse_vectors is not None and set(params.sparse_vectors) == {"s0"}
    want_points = client.scroll(twin, limit=100, with_vectors=True)
    assert client.scroll(name, limit=100, with_vectors=True) == want_points
    assert set(want_points[0][-1].vector) == {"", "m"}  # point 100 lost "d" and "s"

    # Qdrant's gRPC default is not to wait: acknowledged, and applied before the answer
    stub = pb.PointsStub(channel)
    reply = stub.CreateVectorName(
        pb.CreateVectorNameRequest(
            collection_name=name,
            vector_name="late",
            sparse_config=pb.SparseVectorCreationConfig(),
        )
    )
    assert reply.result.status == pb.UpdateStatus.Acknowledged and reply.time > 0
    assert "late" in (client.get_collection(name).config.params.sparse_vectors or {})
    reply = stub.DeleteVectorName(
        pb.DeleteVectorNameRequest(collection_name=name, vector_name="late")
    )
    assert reply.result.status == pb.UpdateStatus.Acknowledged
    assert "late" not in (client.get_collection(name).config.params.sparse_vectors or {})


def test_collection_cluster_info_as_over_rest(
    rpc: QdrantClient, client: QdrantClient, name: str
) -> None:
    make_collection(client, name, n=7, dim=4)
    got, want = rpc.collection_cluster_info(name), client.collection_cluster_info(name)
    # a repeated field: gRPC has no "none", REST leaves resharding_operations out
    assert want.resharding_operations is None and got.resharding_operations == []
    assert got == want.model_copy(update={"resharding_operations": []})
    assert (got.shard_count, got.remote_shards, got.shard_transfers) == (1, [], [])
    assert [(s.shard_id, s.points_count, s.state) for s in got.local_shards] == [
        (0, 7, models.ReplicaState.ACTIVE)
    ]
    rpc.upsert(name, points(3, 4, start=100), wait=True)
    assert rpc.collection_cluster_info(name).local_shards[0].points_count == 10
    assert rpc.collection_cluster_info(name).peer_id == want.peer_id  # one node, one id


def test_uuid_ids(rpc: QdrantClient, client: QdrantClient, name: str) -> None:
    client.create_collection(name, vectors_config=VECTORS)
    ids = ["5c56c793-69f3-4fbf-87e6-c4bf54c28c26", "6c56c793-69f3-4fbf-87e6-c4bf54c28c26"]
    rpc.upsert(name, [models.PointStruct(id=i, vector=[1, 2, 3, 4]) for i in ids])
    assert [r.id for r in rpc.retrieve(name, ids)] == [r.id for r in client.retrieve(name, ids)]
    assert {r.id for r in rpc.scroll(name)[0]} == set(ids)


def test_wait_false_is_acknowledged_and_applied(channel: grpc.Channel, name: str, client) -> None:
    client.create_collection(name, vectors_config=VECTORS)
    stub = pb.PointsStub(channel)
    point = pb.PointStruct(
        id=pb.PointId(num=1), vectors=pb.Vectors(vector=pb.Vector(data=[1.0, 2.0, 3.0, 4.0]))
    )
    reply = stub.Upsert(pb.UpsertPoints(collection_name=name, points=[point]))
    assert reply.result.status == pb.UpdateStatus.Acknowledged  # Qdrant's default: no wait
    assert reply.time > 0
    assert client.count(name).count == 1  # applied (and in the WAL) before the answer
    reply = stub.Upsert(pb.UpsertPoints(collection_name=name, points=[point], wait=True))
    assert reply.result.status == pb.UpdateStatus.Completed


def test_snapshots(rpc: QdrantClient, client: QdrantClient, name: str) -> None:
    make_collection(client, name, n=5, dim=4)
    snap = rpc.create_snapshot(name)
    assert snap is not None and snap.size > 0 and snap.checksum
    assert rpc.list_snapshots(name) == client.list_snapshots(name) == [snap]
    assert rpc.delete_snapshot(name, snap.name) is True
    assert client.list_snapshots(name) == []
    full = rpc.create_full_snapshot()
    assert full is not None and full in client.list_full_snapshots()
    assert rpc.list_full_snapshots() == client.list_full_snapshots()
    assert rpc.delete_full_snapshot(full.name) is True
    assert full not in client.list_full_snapshots()


# -- refusals: Qdrant's status and message, and nothing changes ---------------------------------


def test_bad_input_gets_qdrant_status_and_message(
    rpc: QdrantClient, client: QdrantClient, channel: grpc.Channel, name: str
) -> None:
    make_collection(client, name, n=5, dim=4)
    missing = f"{name}_missing"
    NOT_FOUND, BAD = grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT
    gone = f"Not found: Collection `{missing}` doesn't exist!"
    assert status_of(lambda: rpc.get_collection(missing)) == (NOT_FOUND, gone)
    assert status_of(lambda: rpc.count(missing)) == (NOT_FOUND, gone)
    assert status_of(lambda: rpc.upsert(missing, points(1, 4))) == (NOT_FOUND, gone)
    assert status_of(lambda: rpc.query_points(missing, query=[1, 0, 0, 0])) == (NOT_FOUND, gone)
    assert status_of(lambda: rpc.create_snapshot(missing))[0] == NOT_FOUND
    code, message = status_of(lambda: rpc.delete_snapshot(name, "nope.snapshot"))
    assert code == NOT_FOUND and message.startswith("Not found: ")
    code, message = status_of(lambda: rpc.get_collection_aliases(missing))
    assert code == NOT_FOUND

    code, message = status_of(lambda: rpc.create_collection(name, vectors_config=VECTORS))
    assert code == grpc.StatusCode.ALREADY_EXISTS
    assert message == f"Wrong input: Collection `{name}` already exists!"
    code, message = status_of(lambda: rpc.create_collection("bad/name", vectors_config=VECTORS))
    assert code == BAD and message.startswith("Wrong input: ")

    code, message = status_of(
        lambda: rpc.upsert(name, [models.PointStruct(id=50, vector=[1.0, 2.0])])
    )
    assert (code, message) == (BAD, "Wrong input: Vector dimension error: expected dim: 4, got 2")
    code, message = status_of(lambda: rpc.query_points(name, query=[1.0, 2.0]))
    assert code == BAD and "dimension" in message
    code, _ = status_of(
        lambda: rpc.update_collection_aliases(
            [
                models.CreateAliasOperation(
                    create_alias=models.CreateAlias(collection_name=missing, alias_name="a_x")
                )
            ]
        )
    )
    assert code == NOT_FOUND
    stub = pb.PointsStub(channel)
    # a request the converters cannot read: bad input, not an internal error
    code, message = status_of(
        lambda: stub.Upsert(pb.UpsertPoints(collection_name=name, points=[pb.PointStruct()]))
    )
    assert code == BAD and message.startswith("Wrong input: ")
    code, message = status_of(lambda: stub.Delete(pb.DeletePoints(collection_name=name)))
    assert code == BAD
    field = pb.CreateFieldIndexCollection(
        collection_name=name,
        field_name="genre",
        field_type=pb.FieldType.FieldTypeInteger,
        field_index_params=pb.PayloadIndexParams(keyword_index_params=pb.KeywordIndexParams()),
    )
    code, message = status_of(lambda: stub.CreateFieldIndex(field))
    assert code == BAD and "do not match" in message
    assert client.count(name).count == 5  # nothing changed
    assert client.get_collection(name).payload_schema == {}


def test_named_vector_and_cluster_bad_input(
    rpc: QdrantClient, client: QdrantClient, channel: grpc.Channel, name: str
) -> None:
    client.create_collection(name, vectors_config=VECTORS)
    missing = f"{name}_missing"
    NOT_FOUND, BAD = grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT
    gone = f"Not found: Collection `{missing}` doesn't exist!"
    assert status_of(lambda: rpc.create_vector_name(missing, "v", DENSE)) == (NOT_FOUND, gone)
    assert status_of(lambda: rpc.delete_vector_name(missing, "v")) == (NOT_FOUND, gone)
    assert status_of(lambda: rpc.collection_cluster_info(missing)) == (NOT_FOUND, gone)

    stub = pb.PointsStub(channel)

    def create(**config: Any) -> Any:
        request = pb.CreateVectorNameRequest(
            collection_name=name, vector_name="v", wait=True, **config
        )
        return lambda: stub.CreateVectorName(request)

    dense, sparse = pb.DenseVectorCreationConfig, pb.SparseVectorCreationConfig
    cosine = pb.Distance.Cosine
    # Qdrant's own texts (lib/api/src/grpc/conversions.rs, validate.rs, update_common.rs)
    refusals = [
        (create(), "vector_config is required (dense_config or sparse_config)"),
        (
            create(dense_config=dense(size=0, distance=cosine)),
            "Validation error in body: [vector_config.size: value 0 invalid, "
            "must be from 1 to 65536]",
        ),
        (
            create(dense_config=dense(size=65537, distance=cosine)),
            "Validation error in body: [vector_config.size: value 65537 invalid, "
            "must be from 1 to 65536]",
        ),
        (
            create(dense_config=dense(size=4)),
            "Malformed distance parameter: UnknownDistance",
        ),
        (
            create(dense_config=dense(size=4, distance=77)),
            "Malformed distance parameter, unexpected value: 77",
        ),
        (
            create(dense_config=dense(size=4, distance=cosine, datatype=42)),
            "Cannot convert datatype: 42",
        ),
        (
            create(
                dense_config=dense(
                    size=4,
                    distance=cosine,
                    multivector_config=pb.MultiVectorConfig(comparator=5),
                )
            ),
            "Unknown multi vector comparator",
        ),
        (
            create(sparse_config=sparse(modifier=9)),
            "Cannot convert sparse modifier: 9",
        ),
        (
            create(sparse_config=sparse(datatype=pb.Datatype.Turbo4)),
            "Validation error in body: [vector_config.datatype: "
            "sparse vectors do not support the `turbo4` datatype]",
        ),
    ]
    for call, message in refusals:
        assert status_of(call) == (BAD, message)
    assert status_of(lambda: rpc.create_vector_name(name, "a*b", DENSE)) == (
        BAD,
        'Wrong input: Invalid vector name `a*b`: vector name cannot contain "*" char',
    )
    # what the engine refuses, it refuses alike over both APIs
    rpc.create_vector_name(name, "d", DENSE)
    other = models.DenseVectorNameConfig(
        dense=models.DenseVectorConfig(size=5, distance=models.Distance.DOT)
    )
    turbo4 = models.DenseVectorNameConfig(
        dense=models.DenseVectorConfig(
            size=4, distance=models.Distance.DOT, datatype=models.VectorStorageDatatype.TURBO4
        )
    )
    for vector, config in (("d", other), ("t", turbo4)):
        with pytest.raises(UnexpectedResponse) as refused:
            client.create_vector_name(name, vector, config)
        assert refused.value.status_code == 400
        rest_message = json_message(refused.value.content.decode())
        assert status_of(lambda: rpc.create_vector_name(name, vector, config)) == (  # noqa: B023
            BAD,
            rest_message,
        )
    params = client.get_collection(name).config.params  # nothing changed
    assert isinstance(params.vectors, dict) and set(params.vectors) == {"", "d"}
    assert params.vectors["d"].size == 3 and not params.sparse_vectors


def test_unserved_rpcs_answer_unimplemented_naming_themselves(
    rpc: QdrantClient, channel: grpc.Channel, client: QdrantClient, name: str
) -> None:
    make_collection(client, name, n=3, dim=4)
    code, message = status_of(
        lambda: pb.PointsStub(channel).Recommend(pb.RecommendPoints(collection_name=name))
    )
    assert code == grpc.StatusCode.UNIMPLEMENTED
    assert "/qdrant.Points/Recommend" in message
    code, message = status_of(lambda: pb.PointsStub(channel).Search(pb.SearchPoints()))
    assert (code, "/qdrant.Points/Search" in message) == (grpc.StatusCode.UNIMPLEMENTED, True)
    code, message = status_of(
        lambda: pb.CollectionsStub(channel).ListShardKeys(pb.ListShardKeysRequest())
    )
    assert code == grpc.StatusCode.UNIMPLEMENTED and "ListShardKeys" in message
    assert client.retrieve(name, [1])[0].payload == points(3, 4)[1].payload


# -- counters, ports -----------------------------------------------------------------------------


def test_metrics_and_telemetry_count_grpc(
    rpc: QdrantClient, http: httpx.Client, client: QdrantClient, name: str
) -> None:
    def upserts_ok() -> float:
        families = {f.name: f for f in text_string_to_metric_families(http.get("/metrics").text)}
        for s in families["grpc_responses"].samples:
            if s.name == "grpc_responses_total" and s.labels == {
                "endpoint": "/qdrant.Points/Upsert",
                "status": "0",
            }:
                return s.value
        return 0.0

    client.create_collection(name, vectors_config=VECTORS)
    before = upserts_ok()
    rpc.upsert(name, points(3, 4))
    rpc.upsert(name, points(3, 4))
    status_of(lambda: rpc.get_collection(name + "_missing"))
    assert upserts_ok() == before + 2
    text = http.get("/metrics").text
    assert 'grpc_responses_total{endpoint="/qdrant.Collections/Get",status="5"}' in text
    assert 'grpc_responses_duration_seconds_bucket{endpoint="/qdrant.Points/Upsert"' in text
    telemetry = models.TelemetryData.model_validate(http.get("/telemetry").json()["result"])
    assert telemetry.requests is not None
    grpc_counts = telemetry.requests.grpc.responses["/qdrant.Points/Upsert"]["0"]
    assert grpc_counts.count >= 2 and grpc_counts.avg_duration_micros
    assert telemetry.requests.rest.responses["GET /metrics"]["200"].count >= 2


def test_grpc_port_options(tmp_path: Path) -> None:
    off = start_server(tmp_path / "off", "--grpc-port", "0")
    try:
        assert off.grpc_url == ""
    finally:
        off.stop()
    auto = start_server(tmp_path / "auto", "--grpc-port", "auto")
    try:
        c = grpc_client(auto)
        assert c.get_collections().collections == []
        c.close()
        busy = ServerProcess(tmp_path / "busy", "--grpc-port", str(auto.grpc_port))
        assert busy.wait_exit() == 64
        assert "Cannot listen for gRPC" in busy.stderr and "Traceback" not in busy.stderr
        assert not (tmp_path / "busy" / ".lock").exists() or (
            (tmp_path / "busy" / ".lock").read_text() == ""
        )
    finally:
        assert auto.stop() == 0, auto.stderr
