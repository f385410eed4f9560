"""Qdrant's response envelope, request parsing and error bodies, written once.

Every answer looks like Qdrant's:

    {"result": ..., "status": "ok", "time": 0.0012}          success
    {"result": null, "status": "accepted", "time": ...}      202, wait=false
    {"status": {"error": "..."}, "time": ...}                failure

Bodies are read as Qdrant reads them (`crewchief.server.bodies`).  Engine results
are `qdrant_client.models` objects, serialised the way qdrant-client parses them
back (`model_dump(mode="json", exclude_none=True)`) and written with orjson.
Numbers come out as Qdrant writes them: stored vectors and scores are float32 in
Qdrant, so they are echoed at float32 precision (`0.05`, not `0.05000000074505806`:
`float32_points`), payload numbers and ids exactly.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np
import orjson
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from crewchief.server.bodies import ApiError, adapter, decode_body, load_json

__all__ = ["ApiError", "accepted", "error", "ok", "parse_body", "query_bool", "query_int"]

T = TypeVar("T")


def started_at(request: Request) -> float:
    """When the request began; set by the metrics middleware, else now."""
    value = request.scope.get("crewchief.started")
    return float(value) if value is not None else time.perf_counter()


def elapsed(started: float) -> float:
    return round(time.perf_counter() - started, 6)


def to_jsonable(value: Any) -> Any:
    """Turn engine results (pydantic models, lists, tuples, dicts) into JSON."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


def float32_points(value: Any) -> Any:
    """Dumped results with every point's vectors and score as float32 (numpy), which
    orjson writes in float32's shortest form; walks only down to the points."""
    if isinstance(value, list):
        if value and isinstance(value[0], dict | list):
            return [float32_points(v) for v in value]
        return value
    if isinstance(value, dict):
        if "id" in value and ("vector" in value or "score" in value):
            point = dict(value)
            if point.get("vector") is not None:
                point["vector"] = _float32_vectors(point["vector"])
            if isinstance(point.get("score"), float):
                point["score"] = np.float32(point["score"])
            return point
        return {k: float32_points(v) if isinstance(v, dict | list) else v for k, v in value.items()}
    return value


def _float32_vectors(vector: Any) -> Any:
    if isinstance(vector, list):
        try:
            return np.asarray(vector, dtype=np.float32)
        except (ValueError, TypeError):  # ragged or not numbers: leave it
            return vector
    if isinstance(vector, dict):
        if "indices" in vector and "values" in vector:
            return {**vector, "values": _float32_vectors(vector["values"])}
        return {name: _float32_vectors(v) for name, v in vector.items()}
    return vector


def dumps(body: Any) -> bytes:
    """JSON bytes of `body`; numpy arrays and scalars as orjson writes them."""
    try:
        return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    except TypeError:  # integers beyond 64 bits: Python's encoder writes them exactly
        return json.dumps(body, default=_plain).encode()


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def ok(request: Request, result: Any, status_code: int = 200) -> Response:
    result = float32_points(to_jsonable(result))
    body = {"result": result, "status": "ok", "time": elapsed(started_at(request))}
    return JSON(body, status_code=status_code)


def accepted(request: Request) -> Response:
    """What Qdrant answers when `wait=false` hands work to the background."""
    body = {"result": None, "status": "accepted", "time": elapsed(started_at(request))}
    return JSON(body, status_code=202)


def error_body(message: str, started: float | None = None) -> dict[str, Any]:
    return {"status": {"error": message}, "time": elapsed(started) if started else 0.0}


def error(request: Request | None, status_code: int, message: str) -> Response:
    started = started_at(request) if request is not None else None
    return JSON(error_body(message, started), status_code=status_code)


# -- request bodies ---------------------------------------------------------

# bodies larger than this are decoded and validated in the thread pool, so a
# bulk upsert does not hold the event loop while pydantic walks it
_INLINE_BODY_BYTES = 64 * 1024


async def read_body(request: Request, *, required: bool = True) -> bytes | None:
    """The raw body; None for an empty optional one, Qdrant's EOF error for a required one."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise ApiError(
                400, "Format error in JSON body: EOF while parsing a value at line 1 column 0"
            )
        return None
    return raw


async def parse_json(request: Request, *, required: bool = True) -> Any:
    """The JSON body parsed (not validated: `decode_data` does that); None when empty."""
    raw = await read_body(request, required=required)
    if raw is None:
        return None
    if len(raw) <= _INLINE_BODY_BYTES:
        return load_json(raw)
    return await run_in_threadpool(load_json, raw)


async def parse_body(request: Request, schema: Any, *, required: bool = True) -> Any:
    """Validate the JSON body against a qdrant_client.http.models schema.

    `schema` may be a model class or a Union (e.g. models.PointInsertOperations).
    Returns None for an empty optional body.
    """
    raw = await read_body(request, required=required)
    if raw is None:
        return None
    if len(raw) <= _INLINE_BODY_BYTES:
        return decode_body(raw, schema)
    return await run_in_threadpool(decode_body, raw, schema)


# -- query parameters -------------------------------------------------------


def query_bool(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = raw.lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise ApiError(
        400,
        f"Deserialize error in query parameters: `{name}`: "
        "provided string was not `true` or `false`",
    )


def query_int(request: Request, name: str, *, minimum: int = 1) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            400, f"Deserialize error in query parameters: `{name}`: invalid digit found in string"
        ) from None
    if value < minimum:
        raise ApiError(
            422,
            f"Validation error in query parameters: [{name}: value {value} invalid, "
            f"must be {minimum} or larger]",
        )
    return value


def query_str(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name)
    return raw if raw else None


def query_enum(request: Request, name: str, schema: type[T]) -> T | None:
    raw = query_str(request, name)
    if raw is None:
        return None
    try:
        return adapter(schema).validate_python(raw)
    except ValidationError:
        raise ApiError(
            400, f"Deserialize error in query parameters: unknown variant `{raw}` for `{name}`"
        ) from None
