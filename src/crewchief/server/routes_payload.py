"""Payload, vector and batch updates: Qdrant's `/points/payload`, `/vectors` and `/batch` routes.

`wait`, `ordering` and `timeout` as the other update routes take them (routes_points).
What Qdrant refuses while it parses a body is refused here with its status and text
(422 for a validation error, 400 for a body it cannot read), before the engine is
called; the rest (a missing collection or point, an unknown vector name) comes from
the engine's typed errors.
"""

from __future__ import annotations

from typing import Any

from qdrant_client.http import models
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crewchief.engine import updates
from crewchief.server.dispatch import call, engine_of
from crewchief.server.envelope import ApiError, ok, parse_body
from crewchief.server.routes_points import _collection, _update_options, _updated

_NO_SELECTOR = f"Format error in JSON body: {updates.NO_SELECTOR}"


def _invalid(where: str, message: str) -> ApiError:
    return ApiError(422, f"Validation error in JSON body: [{where}: {message}]")


def _selector(body: models.SetPayload | models.DeletePayload) -> Any:
    """Ids win over the filter, as in Qdrant; neither is a body Qdrant cannot read."""
    if body.points is not None:
        return body.points
    if body.filter is not None:
        return body.filter
    raise ApiError(400, _NO_SELECTOR)


def _check_delete_vectors(body: models.DeleteVectors, at: str) -> None:
    if not body.vector:
        raise _invalid(f"{at}vector", updates.NO_VECTOR_NAMES)
    if body.points is None and body.filter is None:
        raise ApiError(400, _NO_SELECTOR)


def _check_operation(i: int, op: Any) -> None:
    """Qdrant's parse-time checks of one batch operation (the whole batch fails)."""
    at = f"operations[{i}]"
    if isinstance(op, models.UpdateVectorsOperation) and not op.update_vectors.points:
        raise _invalid(f"{at}.update_vectors.points", updates.NO_POINTS_TO_UPDATE)
    if isinstance(op, models.DeleteVectorsOperation):
        _check_delete_vectors(op.delete_vectors, f"{at}.delete_vectors.")
    body = getattr(op, "set_payload", None) or getattr(op, "overwrite_payload", None)
    body = body or getattr(op, "delete_payload", None)
    if body is not None and body.points is None and body.filter is None:
        raise ApiError(400, _NO_SELECTOR)


async def update_vectors(request: Request) -> Response:
    options = _update_options(request)
    body: models.UpdateVectors = await parse_body(request, models.UpdateVectors)
    if not body.points:
        raise _invalid("points", updates.NO_POINTS_TO_UPDATE)
    result = await call(
        engine_of(request).update_vectors,
        _collection(request),
        points=body.points,
        update_filter=body.update_filter,
        **options,
    )
    return _updated(request, options, result)


async def delete_vectors(request: Request) -> Response:
    options = _update_options(request)
    body: models.DeleteVectors = await parse_body(request, models.DeleteVectors)
    _check_delete_vectors(body, "")
    # by filter, then by ids, when the body has both (as Qdrant does): one engine call
    results = await call(
        engine_of(request).batch_update_points,
        _collection(request),
        update_operations=[models.DeleteVectorsOperation(delete_vectors=body)],
        **options,
    )
    return _updated(request, options, results[0])


async def set_payload(request: Request) -> Response:
    options = _update_options(request)
    body: models.SetPayload = await parse_body(request, models.SetPayload)
    result = await call(
        engine_of(request).set_payload,
        _collection(request),
        payload=body.payload,
        points=_selector(body),
        key=body.key,
        **options,
    )
    return _updated(request, options, result)


async def overwrite_payload(request: Request) -> Response:
    options = _update_options(request)
    body: models.SetPayload = await parse_body(request, models.SetPayload)
    result = await call(
        engine_of(request).overwrite_payload,
        _collection(request),
        payload=body.payload,
        points=_selector(body),  # Qdrant ignores `key` here
        **options,
    )
    return _updated(request, options, result)


async def delete_payload(request: Request) -> Response:
    options = _update_options(request)
    body: models.DeletePayload = await parse_body(request, models.DeletePayload)
    result = await call(
        engine_of(request).delete_payload,
        _collection(request),
        keys=body.keys,
        points=_selector(body),
        **options,
    )
    return _updated(request, options, result)


async def clear_payload(request: Request) -> Response:
    options = _update_options(request)
    body = await parse_body(request, models.PointsSelector)
    result = await call(
        engine_of(request).clear_payload,
        _collection(request),
        points_selector=body,
        **options,
    )
    return _updated(request, options, result)


async def batch_update(request: Request) -> Response:
    options = _update_options(request)
    body: models.UpdateOperations = await parse_body(request, models.UpdateOperations)
    for i, op in enumerate(body.operations):
        _check_operation(i, op)
    results = await call(
        engine_of(request).batch_update_points,
        _collection(request),
        update_operations=body.operations,
        **options,
    )
    if not options["wait"]:
        status = models.UpdateStatus.ACKNOWLEDGED
        results = [r.model_copy(update={"status": status}) for r in results]
    return ok(request, results)


_P = "/collections/{collection_name}/points"
routes = [
    Route(_P + "/vectors", update_vectors, methods=["PUT"]),
    Route(_P + "/vectors/delete", delete_vectors, methods=["POST"]),
    Route(_P + "/payload", set_payload, methods=["POST"]),
    Route(_P + "/payload", overwrite_payload, methods=["PUT"]),
    Route(_P + "/payload/delete", delete_payload, methods=["POST"]),
    Route(_P + "/payload/clear", clear_payload, methods=["POST"]),
    Route(_P + "/batch", batch_update, methods=["POST"]),
]
