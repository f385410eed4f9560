"""Qdrant's `Points` gRPC service: writes, reads and the Query API, as the REST routes.

Each RPC reads its request into the REST route's body (convert.py), applies the
route's defaults (routes_points.py: retrieve and scroll return the payload,
query does not, scroll's limit is 10, count is exact) and calls the same typed
`Engine` method.  Updates answer `acknowledged` unless the client waited
(Qdrant's gRPC default is not to wait); either way the engine applied the
update and wrote it to its WAL before answering.  Payload, vector and batch
updates are point_updates.py's; groups, matrices and facets point_searches.py's.
RPCs without a REST route yet (search, recommend, ...) answer UNIMPLEMENTED, naming themselves.
"""

from __future__ import annotations

from typing import Any

from qdrant_client import grpc as pb
from qdrant_client.conversions.conversion import RestToGrpc
from qdrant_client.http import models

from crewchief.engine import Engine
from crewchief.server.grpc import convert
from crewchief.server.grpc.point_searches import PointSearches
from crewchief.server.grpc.point_updates import PointUpdates, updated
from crewchief.server.grpc.status import fill_unimplemented, parsing, rpc
from crewchief.server.routes_points import query_kwargs, upsert_kwargs


def _shard(key: Any) -> dict[str, Any]:
    return {} if key is None else {"shard_key_selector": key}


def _record(record: models.Record) -> pb.RetrievedPoint:
    """A record for gRPC, where "no payload" is an empty map (as Qdrant's gRPC answers)."""
    if record.payload is None:
        record = record.model_copy(update={"payload": {}})
    return RestToGrpc.convert_record(record)


def _scored(response: Any) -> list[Any]:
    return [RestToGrpc.convert_scored_point(p) for p in response.points]


@fill_unimplemented("Points", pb.PointsServicer)
class PointsService(PointUpdates, PointSearches, pb.PointsServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- writes ---------------------------------------------------------------

    @rpc
    def Upsert(self, request: pb.UpsertPoints, context: Any) -> Any:
        with parsing():
            options = convert.write_options(request)
            body = convert.upsert(request)
        result = self.engine.upsert(request.collection_name, **upsert_kwargs(body), **options)
        return updated(options, result)

    @rpc
    def Delete(self, request: pb.DeletePoints, context: Any) -> Any:
        with parsing():
            options = convert.write_options(request)
            selector = convert.points_selector(request)
        result = self.engine.delete(request.collection_name, points_selector=selector, **options)
        return updated(options, result)

    @rpc
    def CreateFieldIndex(self, request: pb.CreateFieldIndexCollection, context: Any) -> Any:
        with parsing():
            options = convert.write_options(request)
            body = convert.field_index(request)
        result = self.engine.create_payload_index(
            request.collection_name,
            field_name=body.field_name,
            field_schema=body.field_schema,
            **options,
        )
        return updated(options, result)

    @rpc
    def DeleteFieldIndex(self, request: pb.DeleteFieldIndexCollection, context: Any) -> Any:
        with parsing():
            options = convert.write_options(request)
        result = self.engine.delete_payload_index(
            request.collection_name, field_name=request.field_name, **options
        )
        return updated(options, result)

    # -- reads ----------------------------------------------------------------

    @rpc
    def Get(self, request: pb.GetPoints, context: Any) -> Any:
        with parsing():
            options = convert.read_options(request)
            body = convert.get_points(request)
        records = self.engine.retrieve(
            request.collection_name,
            ids=body.ids,
            with_payload=True if body.with_payload is None else body.with_payload,
            with_vectors=False if body.with_vector is None else body.with_vector,
            **_shard(body.shard_key),
            **options,
        )
        return pb.GetResponse(result=[_record(r) for r in records])

    @rpc
    def Scroll(self, request: pb.ScrollPoints, context: Any) -> Any:
        with parsing():
            options = convert.read_options(request)
            body = convert.scroll(request)
        extra = {} if body.order_by is None else {"order_by": body.order_by}
        records, next_offset = self.engine.scroll(
            request.collection_name,
            scroll_filter=body.filter,
            limit=10 if body.limit is None else body.limit,
            offset=body.offset,
            with_payload=True if body.with_payload is None else body.with_payload,
            with_vectors=False if body.with_vector is None else body.with_vector,
            **extra,
            **_shard(body.shard_key),
            **options,
        )
        reply = pb.ScrollResponse(result=[_record(r) for r in records])
        if next_offset is not None:
            reply.next_page_offset.CopyFrom(RestToGrpc.convert_extended_point_id(next_offset))
        return reply

    @rpc
    def Count(self, request: pb.CountPoints, context: Any) -> Any:
        with parsing():
            options = convert.read_options(request)
            body = convert.count(request)
        result = self.engine.count(
            request.collection_name,
            count_filter=body.filter,
            exact=True if body.exact is None else body.exact,
            **_shard(body.shard_key),
            **options,
        )
        return pb.CountResponse(result=RestToGrpc.convert_count_result(result))

    @rpc
    def Query(self, request: pb.QueryPoints, context: Any) -> Any:
        with parsing():
            options = convert.read_options(request)
            kwargs = query_kwargs(convert.query(request))
        result = self.engine.query_points(request.collection_name, **kwargs, **options)
        return pb.QueryResponse(result=_scored(result))

    @rpc
    def QueryBatch(self, request: pb.QueryBatchPoints, context: Any) -> Any:
        with parsing():
            options = convert.read_options(request)
            batch = [query_kwargs(convert.query(q)) for q in request.query_points]
        results = [
            self.engine.query_points(request.collection_name, **kwargs, **options)
            for kwargs in batch
        ]
        return pb.QueryBatchResponse(result=[pb.BatchResult(result=_scored(r)) for r in results])
