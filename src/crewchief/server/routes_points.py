"""Points and payload indexes: Qdrant's `/collections/{name}/points...` routes.

Defaults follow Qdrant's REST API (not qdrant-client's keyword defaults):
query returns no payload unless asked, retrieve and scroll return it.
Updates answer like Qdrant: 200 with an UpdateResult whose status is
`completed` with `wait=true` and `acknowledged` without it (Qdrant's REST
default).  Either way the engine has applied the update and written it to
its WAL before answering, which is more than `acknowledged` promises.

Each route calls a typed `Engine` method (see dispatch.py), so mypy checks every call.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from qdrant_client.http import models
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crewchief.engine import Engine
from crewchief.engine.convert.index_schema import schema_problem
from crewchief.server.bodies import decode_data
from crewchief.server.dispatch import call, drop_none, engine_of, inline
from crewchief.server.envelope import (
    ApiError,
    decode_body,
    ok,
    parse_body,
    parse_json,
    query_bool,
    query_enum,
    query_int,
    read_body,
)

_NO_SCHEMA = (
    "Bad request: Can't auto-detect field type, please specify `field_schema` in the request"
)


def _collection(request: Request) -> str:
    return str(request.path_params["collection_name"])


def _update_options(request: Request) -> dict[str, Any]:
    """`wait` (Qdrant's default for REST: false), `timeout`, `ordering`."""
    query_enum(request, "ordering", models.WriteOrdering)  # validated; one replica
    options: dict[str, Any] = {"wait": query_bool(request, "wait", False)}
    options.update(drop_none(timeout=query_int(request, "timeout")))
    return options


def _updated(request: Request, options: dict[str, Any], result: Any) -> Response:
    """The UpdateResult, `acknowledged` when the client did not ask to wait."""
    if not options["wait"]:
        result = result.model_copy(update={"status": models.UpdateStatus.ACKNOWLEDGED})
    return ok(request, result)


def _read_options(request: Request) -> dict[str, Any]:
    """`timeout`; `consistency` is accepted and ignored (one replica satisfies all)."""
    return drop_none(timeout=query_int(request, "timeout"))


def _shard(key: Any) -> dict[str, Any]:
    return drop_none(shard_key_selector=key)


def parse_point_id(raw: str) -> int | str:
    if raw.isdigit():
        return int(raw)
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise ApiError(400, f"Wrong input: {raw!r} is not a valid point id") from None


async def upsert_points(request: Request) -> Response:
    """The body is decoded and written in one trip to the thread pool (a bulk body's
    decoding takes milliseconds; one hop instead of two)."""
    options = _update_options(request)
    raw = await read_body(request)
    assert raw is not None
    result = await call(_upsert, engine_of(request), _collection(request), raw, options)
    return _updated(request, options, result)


def _upsert(engine: Engine, name: str, raw: bytes, options: dict[str, Any]) -> Any:
    body = decode_body(raw, models.PointInsertOperations)
    return engine.upsert(name, **upsert_kwargs(body), **options)


def upsert_kwargs(body: models.PointsList | models.PointsBatch) -> dict[str, Any]:
    """An upsert body (points or a batch) as `Engine.upsert` keywords (REST and gRPC)."""
    points = body.points if isinstance(body, models.PointsList) else body.batch
    return {
        "points": points,
        **drop_none(update_filter=body.update_filter, update_mode=body.update_mode),
        **_shard(body.shard_key),
    }


async def retrieve_points(request: Request) -> Response:
    options = _read_options(request)
    body: models.PointRequest = await parse_body(request, models.PointRequest)
    records = await call(
        engine_of(request).retrieve,
        _collection(request),
        ids=body.ids,
        with_payload=True if body.with_payload is None else body.with_payload,
        with_vectors=False if body.with_vector is None else body.with_vector,
        **_shard(body.shard_key),
        **options,
    )
    return ok(request, records)


async def get_point(request: Request) -> Response:
    options = _read_options(request)
    point_id = parse_point_id(request.path_params["id"])
    records = await call(
        engine_of(request).retrieve,
        _collection(request),
        ids=[point_id],
        with_payload=True,
        with_vectors=True,
        **options,
    )
    if not records:
        raise ApiError(404, f"Not found: No point with id {point_id} found")
    return ok(request, records[0])


async def delete_points(request: Request) -> Response:
    options = _update_options(request)
    body = await parse_body(request, models.PointsSelector)
    result = await call(
        engine_of(request).delete, _collection(request), points_selector=body, **options
    )
    return _updated(request, options, result)


async def scroll_points(request: Request) -> Response:
    options = _read_options(request)
    body = await parse_body(request, models.ScrollRequest, required=False)
    body = body or models.ScrollRequest()
    points, next_offset = await call(
        engine_of(request).scroll,
        _collection(request),
        scroll_filter=body.filter,
        limit=10 if body.limit is None else body.limit,
        offset=body.offset,
        with_payload=True if body.with_payload is None else body.with_payload,
        with_vectors=False if body.with_vector is None else body.with_vector,
        **drop_none(order_by=body.order_by),
        **_shard(body.shard_key),
        **options,
    )
    # Qdrant writes `next_page_offset: null` on the last page (no skip_serializing_if)
    return ok(request, {"points": points, "next_page_offset": next_offset})


async def count_points(request: Request) -> Response:
    options = _read_options(request)
    body = await parse_body(request, models.CountRequest, required=False)
    body = body or models.CountRequest()
    result = await call(
        engine_of(request).count,
        _collection(request),
        count_filter=body.filter,
        exact=True if body.exact is None else body.exact,
        **_shard(body.shard_key),
        **options,
    )
    return ok(request, result)


def query_kwargs(body: models.QueryRequest) -> dict[str, Any]:
    """A QueryRequest body as `QdrantClient.query_points` keywords."""
    return {
        "query": body.query,
        "using": body.using,
        "prefetch": body.prefetch,
        "query_filter": body.filter,
        "search_params": body.params,
        "limit": 10 if body.limit is None else body.limit,
        "offset": body.offset,
        "with_payload": False if body.with_payload is None else body.with_payload,
        "with_vectors": False if body.with_vector is None else body.with_vector,
        "score_threshold": body.score_threshold,
        "lookup_from": body.lookup_from,
        **_shard(body.shard_key),
    }


async def _query_body(request: Request, schema: Any) -> Any:
    """Parsed once (orjson) and validated in Python mode (`decode_data`, which also reads
    Qdrant's aliases such as `with_vectors`)."""
    data = await parse_json(request, required=False)
    return None if data is None else decode_data(data, schema)


async def query_points(request: Request) -> Response:
    options = _read_options(request)
    body = await _query_body(request, models.QueryRequest)
    kwargs = query_kwargs(body or models.QueryRequest())
    result = await inline(
        engine_of(request).query_points, _collection(request), **kwargs, **options
    )
    return ok(request, result)


async def query_batch(request: Request) -> Response:
    """Every request of the batch on the engine's batch path (one planned edge batch)."""
    options = _read_options(request)
    body = await _query_body(request, models.QueryRequestBatch)
    if body is None:
        raise ApiError(400, "Json deserialize error: the request body is empty")
    result = await call(
        engine_of(request).query_batch_points,
        _collection(request),
        requests=body.searches,
        **options,
    )
    return ok(request, result)


async def create_index(request: Request) -> Response:
    options = _update_options(request)
    data = await parse_body(request, dict[str, Any])
    if "field_type" in data and "field_schema" not in data:  # Qdrant's alias
        data["field_schema"] = data.pop("field_type")
    body: models.CreateFieldIndex = decode_body(json.dumps(data).encode(), models.CreateFieldIndex)
    problem = schema_problem(body.field_schema)
    if problem is not None:  # Qdrant validates the schema while it parses the body
        field, message = problem
        raise ApiError(422, f"Validation error in JSON body: [field_schema.{field}: {message}]")
    if body.field_schema is None:
        await call(engine_of(request).collection, _collection(request))  # 404 comes first
        raise ApiError(400, _NO_SCHEMA)
    result = await call(
        engine_of(request).create_payload_index,
        _collection(request),
        field_name=body.field_name,
        field_schema=body.field_schema,
        **options,
    )
    return _updated(request, options, result)


async def delete_index(request: Request) -> Response:
    options = _update_options(request)
    field = request.path_params["field_name"]
    result = await call(
        engine_of(request).delete_payload_index, _collection(request), field_name=field, **options
    )
    return _updated(request, options, result)


_P = "/collections/{collection_name}"
routes = [
    Route(_P + "/points", upsert_points, methods=["PUT"]),
    Route(_P + "/points", retrieve_points, methods=["POST"]),
    Route(_P + "/points/delete", delete_points, methods=["POST"]),
    Route(_P + "/points/scroll", scroll_points, methods=["POST"]),
    Route(_P + "/points/count", count_points, methods=["POST"]),
    Route(_P + "/points/query", query_points, methods=["POST"]),
    Route(_P + "/points/query/batch", query_batch, methods=["POST"]),
    Route(_P + "/points/{id}", get_point, methods=["GET"]),
    Route(_P + "/index", create_index, methods=["PUT"]),
    Route(_P + "/index/{field_name}", delete_index, methods=["DELETE"]),
]
