"""Every RPC passes here first: the API key (Qdrant's gRPC rules), then the counters.

    grpc.server(pool, interceptors=[Gate(ApiKeys(full, read_only), GrpcMetrics())])

A key arrives as `api-key` metadata or `authorization: Bearer <key>`, as over
REST.  Each RPC is judged as its REST counterpart would be (`REST_EQUIVALENT`:
`/qdrant.Points/Query` is `POST /collections/{name}/points/query`), by the same
`crewchief.core.keys` rules, so the read-only key may call exactly the read
RPCs and both APIs can never disagree.  No key, or a wrong one, answers
UNAUTHENTICATED; the read-only key on a write PERMISSION_DENIED.  The health
check needs no key (Qdrant's `/qdrant.Qdrant/HealthCheck` bypass).  RPCs
nobody mapped count as writes.
"""

from __future__ import annotations

import time
from typing import Any

import grpc

from crewchief.core.keys import ApiKeys, presented_key
from crewchief.server.grpc.metrics import GrpcMetrics

_C = "/collections/_"  # any collection name: the rules look at the shape of the path
_READ, _WRITE = "GET", "POST"

REST_EQUIVALENT: dict[str, tuple[str, str]] = {
    "/qdrant.Qdrant/HealthCheck": ("GET", "/"),
    # Collections
    "/qdrant.Collections/Get": (_READ, _C),
    "/qdrant.Collections/List": (_READ, "/collections"),
    "/qdrant.Collections/CollectionExists": (_READ, _C + "/exists"),
    "/qdrant.Collections/ListAliases": (_READ, "/aliases"),
    "/qdrant.Collections/ListCollectionAliases": (_READ, _C + "/aliases"),
    "/qdrant.Collections/CollectionClusterInfo": (_READ, _C + "/cluster"),
    "/qdrant.Collections/ListShardKeys": (_READ, _C + "/shards"),
    "/qdrant.Collections/Create": ("PUT", _C),
    "/qdrant.Collections/Update": ("PATCH", _C),
    "/qdrant.Collections/Delete": ("DELETE", _C),
    "/qdrant.Collections/UpdateAliases": (_WRITE, "/collections/aliases"),
    "/qdrant.Collections/UpdateCollectionClusterSetup": (_WRITE, _C + "/cluster"),
    "/qdrant.Collections/CreateShardKey": ("PUT", _C + "/shards"),
    "/qdrant.Collections/DeleteShardKey": (_WRITE, _C + "/shards/delete"),
    # Points: reads are POSTs the read-only key may make
    "/qdrant.Points/Get": (_WRITE, _C + "/points"),
    "/qdrant.Points/Scroll": (_WRITE, _C + "/points/scroll"),
    "/qdrant.Points/Count": (_WRITE, _C + "/points/count"),
    "/qdrant.Points/Query": (_WRITE, _C + "/points/query"),
    "/qdrant.Points/QueryBatch": (_WRITE, _C + "/points/query/batch"),
    "/qdrant.Points/QueryGroups": (_WRITE, _C + "/points/query/groups"),
    "/qdrant.Points/Search": (_WRITE, _C + "/points/search"),
    "/qdrant.Points/SearchBatch": (_WRITE, _C + "/points/search/batch"),
    "/qdrant.Points/SearchGroups": (_WRITE, _C + "/points/search/groups"),
    "/qdrant.Points/SearchMatrixPairs": (_WRITE, _C + "/points/search/matrix/pairs"),
    "/qdrant.Points/SearchMatrixOffsets": (_WRITE, _C + "/points/search/matrix/offsets"),
    "/qdrant.Points/Recommend": (_WRITE, _C + "/points/recommend"),
    "/qdrant.Points/RecommendBatch": (_WRITE, _C + "/points/recommend/batch"),
    "/qdrant.Points/RecommendGroups": (_WRITE, _C + "/points/recommend/groups"),
    "/qdrant.Points/Discover": (_WRITE, _C + "/points/discover"),
    "/qdrant.Points/DiscoverBatch": (_WRITE, _C + "/points/discover/batch"),
    "/qdrant.Points/Facet": (_WRITE, _C + "/facet"),
    "/qdrant.Points/Upsert": ("PUT", _C + "/points"),
    "/qdrant.Points/Delete": (_WRITE, _C + "/points/delete"),
    "/qdrant.Points/UpdateVectors": ("PUT", _C + "/points/vectors"),
    "/qdrant.Points/DeleteVectors": (_WRITE, _C + "/points/vectors/delete"),
    "/qdrant.Points/SetPayload": (_WRITE, _C + "/points/payload"),
    "/qdrant.Points/OverwritePayload": ("PUT", _C + "/points/payload"),
    "/qdrant.Points/DeletePayload": (_WRITE, _C + "/points/payload/delete"),
    "/qdrant.Points/ClearPayload": (_WRITE, _C + "/points/payload/clear"),
    "/qdrant.Points/UpdateBatch": (_WRITE, _C + "/points/batch"),
    "/qdrant.Points/CreateFieldIndex": ("PUT", _C + "/index"),
    "/qdrant.Points/DeleteFieldIndex": ("DELETE", _C + "/index/_"),
    "/qdrant.Points/CreateVectorName": ("PUT", _C + "/vectors/_"),
    "/qdrant.Points/DeleteVectorName": ("DELETE", _C + "/vectors/_"),
    # Snapshots
    "/qdrant.Snapshots/List": (_READ, _C + "/snapshots"),
    "/qdrant.Snapshots/ListFull": (_READ, "/snapshots"),
    "/qdrant.Snapshots/Create": (_WRITE, _C + "/snapshots"),
    "/qdrant.Snapshots/Delete": ("DELETE", _C + "/snapshots/_"),
    "/qdrant.Snapshots/CreateFull": (_WRITE, "/snapshots"),
    "/qdrant.Snapshots/DeleteFull": ("DELETE", "/snapshots/_"),
}

_UNMAPPED = (_WRITE, "/grpc")  # anything else: a write


def rest_equivalent(method: str) -> tuple[str, str]:
    """The REST request an RPC is judged as (full method name, e.g. /qdrant.Points/Get)."""
    return REST_EQUIVALENT.get(method, _UNMAPPED)


def _headers(metadata: Any) -> list[tuple[bytes, bytes]]:
    pairs = []
    for key, value in metadata or ():
        if isinstance(value, str):  # binary (`-bin`) metadata carries no key
            pairs.append((key.lower().encode("latin-1"), value.encode("utf-8")))
    return pairs


def _code(context: grpc.ServicerContext) -> int:
    code = context.code()
    if code is None:
        return 0
    if isinstance(code, grpc.StatusCode):
        return int(code.value[0])
    return int(code)


class Gate(grpc.ServerInterceptor):
    """Auth and metrics around every unary RPC (all of Qdrant's are unary)."""

    def __init__(self, keys: ApiKeys, metrics: GrpcMetrics) -> None:
        self.keys = keys
        self.metrics = metrics
        self._wrapped: dict[str, Any] = {}

    def refusal(self, method: str, metadata: Any) -> tuple[grpc.StatusCode, str] | None:
        verb, path = rest_equivalent(method)
        refused = self.keys.check(verb, path, presented_key(_headers(metadata)))
        if refused is None:
            return None
        status, message = refused
        if status == 403:
            return grpc.StatusCode.PERMISSION_DENIED, message
        return grpc.StatusCode.UNAUTHENTICATED, message

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        method = details.method
        wrapped = self._wrapped.get(method)
        if wrapped is not None:
            return wrapped
        handler = continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler  # unknown method: grpc answers UNIMPLEMENTED itself
        wrapped = self._wrapped[method] = self._wrap(method, handler)
        return wrapped

    def _wrap(self, method: str, handler: Any) -> Any:
        inner = handler.unary_unary
        gate = self

        def behavior(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                refused = gate.refusal(method, context.invocation_metadata())
                if refused is not None:
                    context.abort(*refused)
                return inner(request, context)
            finally:
                gate.metrics.observe(method, _code(context), time.perf_counter() - started)

        return grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
