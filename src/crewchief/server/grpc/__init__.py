"""Qdrant's gRPC API on `crewchief serve`, beside the REST API, over the same engine.

    server = GrpcServer(engine, ApiKeys(key, read_only_key))    # server.py
    server.start("127.0.0.1", 6334)

The servicers are qdrant-client's generated base classes
(`qdrant_client.grpc.*_pb2_grpc`), one module per service: `collections.py`,
`points.py`, `snapshots.py` (with the health check).  Each RPC reads its request
into the REST route's body with qdrant-client's `GrpcToRest` (convert.py) and
calls the same typed `Engine` method, with the same defaults; results go back
with `RestToGrpc`.  `gate.py` checks keys and counts every call (metrics.py),
`status.py` turns errors into Qdrant's status codes, `server.py` runs it all.
"""

from crewchief.server.grpc.metrics import (
    GrpcMetrics,
    grpc_telemetry,
    render_grpc,
)

# the server itself is `crewchief.server.grpc.server.GrpcServer`: not imported here, as
# the REST app imports this package for the counters and the servicers import the app
__all__ = ["GrpcMetrics", "grpc_telemetry", "render_grpc"]
