"""Qdrant's response envelope, request parsing and error bodies, written once.

Every answer looks like Qdrant's:

    {"result": ..., "status": "ok", "time": 0.0012}          success
    {"result": null, "status": "accepted", "time": ...}      202, wait=false
    {"status": {"error": "..."}, "time": ...}                failure

Bodies are validated with `qdrant_client.http.models` (Qdrant's own OpenAPI
schema): malformed JSON answers 400, a body of the wrong shape 422.  Engine
results are `qdrant_client.models` objects and are serialised the way
qdrant-client parses them back (`model_dump(mode="json", exclude_none=True)`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

T = TypeVar("T")


class ApiError(Exception):
    """An error answered in Qdrant's format with an explicit HTTP status."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


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


def ok(request: Request, result: Any, status_code: int = 200) -> JSONResponse:
    body = {"result": to_jsonable(result), "status": "ok", "time": elapsed(started_at(request))}
    return JSONResponse(body, status_code=status_code)


def accepted(request: Request) -> JSONResponse:
    """What Qdrant answers when `wait=false` hands work to the background."""
    body = {"result": None, "status": "accepted", "time": elapsed(started_at(request))}
    return JSONResponse(body, status_code=202)


def error_body(message: str, started: float | None = None) -> dict[str, Any]:
    return {"status": {"error": message}, "time": elapsed(started) if started else 0.0}


def error(request: Request | None, status_code: int, message: str) -> JSONResponse:
    started = started_at(request) if request is not None else None
    return JSONResponse(error_body(message, started), status_code=status_code)


# -- request bodies ---------------------------------------------------------

_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(schema: Any) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(schema)
    if adapter is None:
        adapter = _ADAPTERS[schema] = TypeAdapter(schema)
    return adapter


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if not _is_union_tag(p))
        parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    more = exc.error_count() - len(parts)
    if more > 0:
        parts.append(f"... and {more} more")
    return "Validation error in JSON body: " + "; ".join(parts)


def _is_union_tag(part: Any) -> bool:
    # pydantic names union members in error locations ("PointsList", "list[...]")
    return isinstance(part, str) and (part[:1].isupper() or "[" in part)


# bodies larger than this are decoded and validated in the thread pool, so a
# bulk upsert does not hold the event loop while pydantic walks it
_INLINE_BODY_BYTES = 64 * 1024


def decode_body(raw: bytes, schema: Any) -> Any:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"Json deserialize error: {exc}") from None
    try:
        return _adapter(schema).validate_python(data)
    except ValidationError as exc:
        raise ApiError(422, describe_validation_error(exc)) from None


async def parse_body(request: Request, schema: Any, *, required: bool = True) -> Any:
    """Validate the JSON body against a qdrant_client.http.models schema.

    `schema` may be a model class or a Union (e.g. models.PointInsertOperations).
    Returns None for an empty optional body.
    """
    raw = await request.body()
    if not raw.strip():
        if required:
            raise ApiError(400, "Json deserialize error: the request body is empty")
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
    raise ApiError(400, f"Query deserialize error: `{name}` must be true or false, got {raw!r}")


def query_int(request: Request, name: str, *, minimum: int = 1) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"Query deserialize error: `{name}` must be an integer") from None
    if value < minimum:
        raise ApiError(400, f"Query deserialize error: `{name}` must be at least {minimum}")
    return value


def query_str(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name)
    return raw if raw else None


def query_enum(request: Request, name: str, schema: type[T]) -> T | None:
    raw = query_str(request, name)
    if raw is None:
        return None
    try:
        return _adapter(schema).validate_python(raw)
    except ValidationError:
        raise ApiError(
            400, f"Query deserialize error: unknown value {raw!r} for `{name}`"
        ) from None
