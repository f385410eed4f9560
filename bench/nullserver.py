"""A server that answers Qdrant's upsert and query envelopes at once, doing no work.

    python bench/nullserver.py   # prints "crewchief null server: REST <port> gRPC <port>"

REST: a raw ASGI app on the same stack as `crewchief serve` (uvicorn, uvloop, httptools);
gRPC: grpcio with qdrant-client's generated servicers.  An upsert reads the whole body and
answers `completed`; a query answers 10 points with a small payload, as a served query
does.  Against it, qdrant-client's own cost (models, JSON or protobuf, HTTP) is all that is
measured: the ceiling of any server through qdrant-client on this machine (bench_http.py).
"""

from __future__ import annotations

import socket
from concurrent import futures
from typing import Any

import grpc
import orjson
import uvicorn
from qdrant_client import grpc as pb

POINTS = [
    {
        "id": i,
        "version": 3,
        "score": 0.9 - i / 100,
        "payload": {"title": f"movie {i}", "year": 1990, "genre": "drama", "rating": 5},
    }
    for i in range(10)
]
UPSERT = orjson.dumps(
    {"result": {"operation_id": 1, "status": "completed"}, "status": "ok", "time": 0.0}
)
QUERY = orjson.dumps({"result": {"points": POINTS}, "status": "ok", "time": 0.0})
INFO = orjson.dumps({"title": "qdrant - vector search engine", "version": "1.19.0"})
OK = orjson.dumps({"result": True, "status": "ok", "time": 0.0})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    more = True
    while more:  # the whole body, as a server must read it
        more = (await receive()).get("more_body", False)
    path = scope["path"]
    body = UPSERT if path.endswith("/points") else QUERY if path.endswith("/query") else OK
    body = INFO if path == "/" else body
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _query_reply() -> Any:
    reply = pb.QueryResponse()
    for p in POINTS:
        point = reply.result.add(version=p["version"], score=p["score"])
        point.id.num = p["id"]
        for key, value in p["payload"].items():
            if isinstance(value, str):
                point.payload[key].string_value = value
            else:
                point.payload[key].integer_value = value
    return reply


class Points(pb.PointsServicer):
    reply = _query_reply()

    def Upsert(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC's names)
        result = pb.UpdateResult(operation_id=1, status=pb.UpdateStatus.Completed)
        return pb.PointsOperationResponse(result=result)

    def Query(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self.reply


class Service(pb.QdrantServicer):
    def HealthCheck(self, request: Any, context: Any) -> Any:  # noqa: N802
        return pb.HealthCheckReply(title="qdrant", version="1.19.0")


def main() -> None:
    unlimited = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=unlimited)
    pb.add_PointsServicer_to_server(Points(), server)
    pb.add_QdrantServicer_to_server(Service(), server)
    grpc_port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(f"crewchief null server: REST {sock.getsockname()[1]} gRPC {grpc_port}", flush=True)
    config = uvicorn.Config(app, loop="uvloop", http="httptools", log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
