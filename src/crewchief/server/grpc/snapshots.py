"""Qdrant's `Snapshots` gRPC service and `Qdrant.HealthCheck`.

Snapshots are created, listed and deleted as over REST (routes_snapshots.py);
as in Qdrant, gRPC has no download, upload or recovery: those stay REST
routes on the same server.  The health check needs no key (as Qdrant's) and
answers with the version `GET /` reports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qdrant_client import grpc as pb
from qdrant_client.conversions.conversion import RestToGrpc

from crewchief.core.version import version_info
from crewchief.engine import Engine
from crewchief.server.grpc.status import fill_unimplemented, rpc

SnapshotHook = Callable[[str | None], None]  # called with the collection (None: full)


def _listed(snapshots: list[Any]) -> pb.ListSnapshotsResponse:
    return pb.ListSnapshotsResponse(
        snapshot_descriptions=[RestToGrpc.convert_snapshot_description(s) for s in snapshots]
    )


def _created(snapshot: Any) -> pb.CreateSnapshotResponse:
    return pb.CreateSnapshotResponse(
        snapshot_description=RestToGrpc.convert_snapshot_description(snapshot)
    )


@fill_unimplemented("Snapshots", pb.SnapshotsServicer)
class SnapshotsService(pb.SnapshotsServicer):
    def __init__(self, engine: Engine, on_created: SnapshotHook | None = None) -> None:
        self.engine = engine
        self.on_created = on_created

    def _count(self, collection: str | None) -> None:
        if self.on_created is not None:
            self.on_created(collection)

    @rpc
    def Create(self, request: pb.CreateSnapshotRequest, context: Any) -> Any:
        snapshot = self.engine.create_snapshot(request.collection_name, wait=True)
        self._count(request.collection_name)
        return _created(snapshot)

    @rpc
    def List(self, request: pb.ListSnapshotsRequest, context: Any) -> Any:
        return _listed(self.engine.list_snapshots(request.collection_name))

    @rpc
    def Delete(self, request: pb.DeleteSnapshotRequest, context: Any) -> Any:
        self.engine.delete_snapshot(request.collection_name, request.snapshot_name, wait=True)
        return pb.DeleteSnapshotResponse()

    @rpc
    def CreateFull(self, request: pb.CreateFullSnapshotRequest, context: Any) -> Any:
        snapshot = self.engine.create_full_snapshot(wait=True)
        self._count(None)
        return _created(snapshot)

    @rpc
    def ListFull(self, request: pb.ListFullSnapshotsRequest, context: Any) -> Any:
        return _listed(self.engine.list_full_snapshots())

    @rpc
    def DeleteFull(self, request: pb.DeleteFullSnapshotRequest, context: Any) -> Any:
        self.engine.delete_full_snapshot(request.snapshot_name, wait=True)
        return pb.DeleteSnapshotResponse()


@fill_unimplemented("Qdrant", pb.QdrantServicer)
class QdrantService(pb.QdrantServicer):
    def __init__(self) -> None:
        info = version_info()  # what `GET /` says
        commit = {"commit": info.commit} if info.commit else {}
        self.reply = pb.HealthCheckReply(title=info.title, version=info.version, **commit)

    @rpc
    def HealthCheck(self, request: pb.HealthCheckRequest, context: Any) -> Any:
        reply = pb.HealthCheckReply()
        reply.CopyFrom(self.reply)
        return reply
