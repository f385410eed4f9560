"""The gRPC server beside the REST one: same process, same engine, its own threads.

    server = GrpcServer(engine, keys, metrics)
    port = server.start("127.0.0.1", 6334)   # 0: the OS picks; the real port returned
    ...
    server.stop(grace=30)                     # before the engine closes

grpcio's threaded server: each RPC runs on a worker of its own pool (the
engine holds the GIL while it searches, so an event loop would gain nothing);
the engine's own locks serialise what must not overlap, exactly as for the
REST routes running in Starlette's pool.  Messages may be as large as the
client sends (Qdrant sets no limit either).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc
from qdrant_client import grpc as pb

from crewchief.core.keys import ApiKeys
from crewchief.engine import Engine
from crewchief.errors import InvalidInput
from crewchief.server.grpc.collections import CollectionsService
from crewchief.server.grpc.gate import Gate
from crewchief.server.grpc.metrics import GrpcMetrics
from crewchief.server.grpc.points import PointsService
from crewchief.server.grpc.snapshots import QdrantService, SnapshotHook, SnapshotsService

WORKERS = 16

_OPTIONS = [
    ("grpc.max_receive_message_length", -1),
    ("grpc.max_send_message_length", -1),
    ("grpc.so_reuseport", 0),  # a port in use is an error, never silently shared
]


def _address(host: str, port: int) -> str:
    shown = host.strip("[]")
    return f"[{shown}]:{port}" if ":" in shown else f"{shown}:{port}"


class GrpcServer:
    """Qdrant's Collections, Points, Snapshots and Qdrant services over one engine."""

    def __init__(
        self,
        engine: Engine,
        keys: ApiKeys | None = None,
        metrics: GrpcMetrics | None = None,
        *,
        on_snapshot: SnapshotHook | None = None,
        workers: int = WORKERS,
    ) -> None:
        self.metrics = metrics or GrpcMetrics()
        self.port = 0
        self._server = grpc.server(
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crewchief-grpc"),
            interceptors=[Gate(keys or ApiKeys(), self.metrics)],
            options=_OPTIONS,
        )
        pb.add_CollectionsServicer_to_server(CollectionsService(engine), self._server)
        pb.add_PointsServicer_to_server(PointsService(engine), self._server)
        pb.add_SnapshotsServicer_to_server(SnapshotsService(engine, on_snapshot), self._server)
        pb.add_QdrantServicer_to_server(QdrantService(), self._server)
        self._started = False

    def start(self, host: str, port: int) -> int:
        """Bind and start serving; the port bound (`port` 0: one the OS picked)."""
        try:
            bound = self._server.add_insecure_port(_address(host, port))
        except RuntimeError as exc:  # grpcio raises when it cannot bind
            raise _cannot_listen(host, port, str(exc)) from None
        if not bound:
            raise _cannot_listen(host, port, "address in use or not available")
        self._server.start()
        self._started = True
        self.port = bound
        return bound

    def stop(self, grace: float | None = 30.0) -> None:
        """Stop accepting; let running RPCs finish (up to `grace` seconds)."""
        if self._started:
            self._started = False
            self._server.stop(grace).wait()


def _cannot_listen(host: str, port: int, why: str) -> InvalidInput:
    return InvalidInput(
        f"Cannot listen for gRPC on {host}:{port}: {why}",
        hint="Choose another --grpc-port (0 turns gRPC off)",
    )
