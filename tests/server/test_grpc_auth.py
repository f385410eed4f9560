"""API keys over gRPC: every served RPC with no key, a wrong key, the read-only and the full key.

The gRPC twin of test_auth.py's route matrix: Qdrant's gRPC takes the key as `api-key`
metadata or `authorization: Bearer`; no key or a wrong one answers UNAUTHENTICATED,
the read-only key on a write PERMISSION_DENIED, and the health check needs no key.
The kinds below are written out by hand (not read from the server's table), and the
matrix must cover every RPC the servicers implement (`SERVED` in test_grpc.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from qdrant_client import grpc as pb
from qdrant_client import models

from tests.server.conftest import FULL_KEY, READ_ONLY_KEY, qdrant
from tests.server.data import points
from tests.server.serverproc import ServerProcess
from tests.server.test_grpc import SERVED, grpc_client

C = "gauthz"
PUBLIC, READ, WRITE = "public", "read", "write"
VECTOR = pb.Vectors(vector=pb.Vector(data=[1.0, 0.0, 0.0, 0.0]))


@dataclass
class Rpc:
    kind: str
    service: str
    method: str
    request: Any  # a function of the world (names made by the fixture) -> request


def calls() -> list[Rpc]:
    q = pb.QueryPoints(
        collection_name=C,
        query=pb.Query(nearest=pb.VectorInput(dense=pb.DenseVector(data=[1, 0, 0, 0]))),
        limit=2,
    )
    ids = pb.PointsSelector(points=pb.PointsIdsList(ids=[pb.PointId(num=99)]))
    alias = pb.AliasOperations(
        create_alias=pb.CreateAlias(collection_name=C, alias_name="gauthz_alias")
    )
    return [
        Rpc(PUBLIC, "Qdrant", "HealthCheck", lambda w: pb.HealthCheckRequest()),
        Rpc(READ, "Collections", "List", lambda w: pb.ListCollectionsRequest()),
        Rpc(READ, "Collections", "Get", lambda w: pb.GetCollectionInfoRequest(collection_name=C)),
        Rpc(
            READ,
            "Collections",
            "CollectionExists",
            lambda w: pb.CollectionExistsRequest(collection_name=C),
        ),
        Rpc(READ, "Collections", "ListAliases", lambda w: pb.ListAliasesRequest()),
        Rpc(
            READ,
            "Collections",
            "ListCollectionAliases",
            lambda w: pb.ListCollectionAliasesRequest(collection_name=C),
        ),
        Rpc(
            WRITE,
            "Collections",
            "Create",
            lambda w: pb.CreateCollection(
                collection_name="gauthz_new",
                vectors_config=pb.VectorsConfig(
                    params=pb.VectorParams(size=4, distance=pb.Distance.Dot)
                ),
            ),
        ),
        Rpc(
            WRITE,
            "Collections",
            "Delete",
            lambda w: pb.DeleteCollection(collection_name="gauthz_doomed"),
        ),
        Rpc(
            WRITE,
            "Collections",
            "Update",
            lambda w: pb.UpdateCollection(
                collection_name=C, hnsw_config=pb.HnswConfigDiff(ef_construct=64)
            ),
        ),
        Rpc(WRITE, "Collections", "UpdateAliases", lambda w: pb.ChangeAliases(actions=[alias])),
        Rpc(
            READ,
            "Points",
            "Get",
            lambda w: pb.GetPoints(collection_name=C, ids=[pb.PointId(num=1)]),
        ),
        Rpc(READ, "Points", "Scroll", lambda w: pb.ScrollPoints(collection_name=C, limit=3)),
        Rpc(READ, "Points", "Count", lambda w: pb.CountPoints(collection_name=C)),
        Rpc(READ, "Points", "Query", lambda w: q),
        Rpc(
            READ,
            "Points",
            "QueryBatch",
            lambda w: pb.QueryBatchPoints(collection_name=C, query_points=[q, q]),
        ),
        Rpc(
            WRITE,
            "Points",
            "Upsert",
            lambda w: pb.UpsertPoints(
                collection_name=C,
                wait=True,
                points=[pb.PointStruct(id=pb.PointId(num=100), vectors=VECTOR)],
            ),
        ),
        Rpc(
            WRITE,
            "Points",
            "Delete",
            lambda w: pb.DeletePoints(
                collection_name=C,
                points=pb.PointsSelector(points=pb.PointsIdsList(ids=[pb.PointId(num=100)])),
            ),
        ),
        Rpc(
            WRITE,
            "Points",
            "CreateFieldIndex",
            lambda w: pb.CreateFieldIndexCollection(
                collection_name=C,
                field_name="year",
                field_type=pb.FieldType.FieldTypeInteger,
                wait=True,
            ),
        ),
        Rpc(
            WRITE,
            "Points",
            "DeleteFieldIndex",
            lambda w: pb.DeleteFieldIndexCollection(
                collection_name=C, field_name="genre", wait=True
            ),
        ),
        Rpc(READ, "Snapshots", "List", lambda w: pb.ListSnapshotsRequest(collection_name=C)),
        Rpc(READ, "Snapshots", "ListFull", lambda w: pb.ListFullSnapshotsRequest()),
        Rpc(WRITE, "Snapshots", "Create", lambda w: pb.CreateSnapshotRequest(collection_name=C)),
        Rpc(
            WRITE,
            "Snapshots",
            "Delete",
            lambda w: pb.DeleteSnapshotRequest(collection_name=C, snapshot_name=w["snap"]),
        ),
        Rpc(WRITE, "Snapshots", "CreateFull", lambda w: pb.CreateFullSnapshotRequest()),
        Rpc(
            WRITE,
            "Snapshots",
            "DeleteFull",
            lambda w: pb.DeleteFullSnapshotRequest(snapshot_name=w["full"]),
        ),
        Rpc(WRITE, "Points", "SetPayload", lambda w: pb.SetPayloadPoints(collection_name=C)),
        Rpc(WRITE, "Points", "OverwritePayload", lambda w: pb.SetPayloadPoints(collection_name=C)),
        Rpc(
            WRITE,
            "Points",
            "DeletePayload",
            lambda w: pb.DeletePayloadPoints(collection_name=C, keys=["x"], points_selector=ids),
        ),
        Rpc(
            WRITE,
            "Points",
            "ClearPayload",
            lambda w: pb.ClearPayloadPoints(collection_name=C, points=ids),
        ),
        Rpc(WRITE, "Points", "UpdateVectors", lambda w: pb.UpdatePointVectors(collection_name=C)),
        Rpc(
            WRITE,
            "Points",
            "DeleteVectors",
            lambda w: pb.DeletePointVectors(
                collection_name=C, points_selector=ids, vectors=pb.VectorsSelector(names=["zz"])
            ),
        ),
        Rpc(WRITE, "Points", "UpdateBatch", lambda w: pb.UpdateBatchPoints(collection_name=C)),
        Rpc(READ, "Points", "Facet", lambda w: pb.FacetCounts(collection_name=C, key="genre")),
        Rpc(
            READ,
            "Points",
            "SearchMatrixPairs",
            lambda w: pb.SearchMatrixPoints(collection_name=C),
        ),
        Rpc(
            READ,
            "Points",
            "SearchMatrixOffsets",
            lambda w: pb.SearchMatrixPoints(collection_name=C),
        ),
        Rpc(
            READ,
            "Points",
            "QueryGroups",
            lambda w: pb.QueryPointGroups(
                collection_name=C, query=q.query, group_by="genre", limit=2
            ),
        ),
        Rpc(
            READ,
            "Collections",
            "CollectionClusterInfo",
            lambda w: pb.CollectionClusterInfoRequest(collection_name=C),
        ),
        Rpc(
            WRITE,
            "Points",
            "CreateVectorName",
            lambda w: pb.CreateVectorNameRequest(
                collection_name=C,
                vector_name="gauthz_sparse",
                wait=True,
                sparse_config=pb.SparseVectorCreationConfig(),
            ),
        ),
        Rpc(
            WRITE,
            "Points",
            "DeleteVectorName",
            lambda w: pb.DeleteVectorNameRequest(
                collection_name=C, vector_name="gauthz_sparse", wait=True
            ),
        ),
        # not served: the key is judged first, as in Qdrant (a write stays refused to the reader)
        Rpc(
            WRITE,
            "Collections",
            "DeleteShardKey",
            lambda w: pb.DeleteShardKeyRequest(collection_name=C),
        ),
    ]


KEYS: dict[str, list[tuple[str, str]]] = {
    "none": [],
    "wrong key": [("api-key", "not-the-key")],
    "wrong bearer": [("authorization", "Bearer not-the-key")],
    "read-only key": [("api-key", READ_ONLY_KEY)],
    "read-only bearer": [("authorization", f"Bearer {READ_ONLY_KEY}")],
    "full key": [("api-key", FULL_KEY)],
    "full bearer": [("authorization", f"Bearer {FULL_KEY}")],
}


def expected(kind: str, key: str) -> grpc.StatusCode | None:
    """The refusal (None: allowed)."""
    if kind == PUBLIC or key.startswith("full"):
        return None
    if key == "none" or key.startswith("wrong"):
        return grpc.StatusCode.UNAUTHENTICATED
    return None if kind == READ else grpc.StatusCode.PERMISSION_DENIED


@pytest.fixture(scope="module")
def world(auth_server: ServerProcess) -> Iterator[dict[str, str]]:
    admin = qdrant(auth_server.url, api_key=FULL_KEY)
    for name in (C, "gauthz_doomed"):
        admin.create_collection(
            name, vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
        )
        admin.upsert(name, points(10, 4))
    admin.create_payload_index(C, "genre", models.PayloadSchemaType.KEYWORD)
    snap, full = admin.create_snapshot(C), admin.create_full_snapshot()
    assert snap is not None and full is not None
    yield {"snap": snap.name, "full": full.name}
    admin.close()


@pytest.fixture(scope="module")
def stubs(auth_server: ServerProcess) -> Iterator[dict[str, Any]]:
    with grpc.insecure_channel(f"127.0.0.1:{auth_server.grpc_port}") as channel:
        yield {
            "Qdrant": pb.QdrantStub(channel),
            "Collections": pb.CollectionsStub(channel),
            "Points": pb.PointsStub(channel),
            "Snapshots": pb.SnapshotsStub(channel),
        }


def call(stubs: dict[str, Any], rpc: Rpc, w: dict[str, str], metadata: list[Any]) -> Any:
    method: Callable[..., Any] = getattr(stubs[rpc.service], rpc.method)
    try:
        method(rpc.request(w), metadata=metadata, timeout=60)
    except grpc.RpcError as exc:
        return exc
    return None


def test_the_matrix_covers_every_served_rpc() -> None:
    covered: dict[str, set[str]] = {}
    for rpc in calls():
        covered.setdefault(rpc.service, set()).add(rpc.method)
    for service, methods in SERVED.items():
        assert methods <= covered[service], service


def test_every_rpc_with_every_key(
    auth_server: ServerProcess, world: dict[str, str], stubs: dict[str, Any]
) -> None:
    failures = []
    for rpc in calls():
        # refusals first: the full key's write really happens, and only once
        for key in sorted(KEYS, key=lambda k: k.startswith("full")):
            if key == "full bearer" and rpc.kind == WRITE:
                continue
            error = call(stubs, rpc, world, KEYS[key])
            refusal = expected(rpc.kind, key)
            code = None if error is None else error.code()
            if refusal is not None:
                ok = code == refusal and bool(error.details())
            else:  # allowed: anything but a key refusal or an internal error
                ok = code not in (
                    grpc.StatusCode.UNAUTHENTICATED,
                    grpc.StatusCode.PERMISSION_DENIED,
                    grpc.StatusCode.INTERNAL,
                    grpc.StatusCode.UNKNOWN,
                )
            if not ok:
                details = None if error is None else error.details()
                failures.append(f"{rpc.service}/{rpc.method} [{key}] -> {code} {details}")
    assert not failures, "\n".join(failures)


def test_messages_and_nothing_changes(auth_server: ServerProcess, world: dict[str, str]) -> None:
    reader = grpc_client(auth_server, api_key=READ_ONLY_KEY)
    anonymous = grpc_client(auth_server)
    writer = grpc_client(auth_server, api_key=FULL_KEY)
    try:
        before = writer.count(C).count
        assert reader.count(C).count == before
        with pytest.raises(grpc.RpcError) as info:
            reader.upsert(C, points(1, 4, start=500))
        err: Any = info.value
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED
        assert (
            err.details() == "Forbidden: Global manage access is required"  # as over REST
        )
        with pytest.raises(grpc.RpcError) as info:
            anonymous.get_collections()
        err = info.value
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED
        assert err.details() == "Must provide an API key or an Authorization bearer token"
        for who in (reader, anonymous):
            with pytest.raises(grpc.RpcError):
                who.create_collection(
                    "gauthz_never",
                    vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT),
                )
        assert not writer.collection_exists("gauthz_never")
        assert writer.count(C).count == before
        assert anonymous.info().title  # the health check needs no key
    finally:
        for c in (reader, anonymous, writer):
            c.close()
