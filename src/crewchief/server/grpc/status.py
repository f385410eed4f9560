"""Errors as gRPC status codes, the way Qdrant maps them, and the RPC wrapper.

    @rpc
    def Get(self, request, context):
        with parsing():
            ...  # gRPC request -> REST models (qdrant-client's GrpcToRest)
        return answer(...)  # engine call, then the reply; `time` is filled in

The codes follow Qdrant's `impl From<StorageError> for tonic::Status`
(lib/storage/src/content_manager/conversions.rs): bad input INVALID_ARGUMENT,
NotFound NOT_FOUND, AlreadyExists ALREADY_EXISTS, a refused precondition
FAILED_PRECONDITION, a key refused UNAUTHENTICATED / PERMISSION_DENIED, the
engine failing INTERNAL.  Messages are the REST answer's, with Qdrant's
prefixes ("Wrong input: ", "Not found: "), so both APIs say the same thing.
A request the converters cannot read (`parsing`) is bad input, never INTERNAL.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import grpc
from pydantic import ValidationError

from crewchief.errors import AlreadyExists, CrewchiefError, InvalidInput
from crewchief.server.app import qdrant_message

log = logging.getLogger("crewchief.server.grpc")

F = TypeVar("F", bound=Callable[..., Any])

# by the HTTP status a typed error carries (crewchief.errors)
_BY_HTTP = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.FAILED_PRECONDITION,  # Refused, DataDirLocked (Qdrant: Locked)
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    422: grpc.StatusCode.INVALID_ARGUMENT,  # ValidationFailed (Qdrant: a validation error)
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    502: grpc.StatusCode.UNAVAILABLE,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}


class RpcError(Exception):
    """An answer with an explicit gRPC status (e.g. UNIMPLEMENTED)."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def status_of(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """The gRPC status and message Qdrant would answer `exc` with."""
    if isinstance(exc, RpcError):
        return exc.code, exc.message
    if isinstance(exc, CrewchiefError):
        status = exc.http_status
        if isinstance(exc, AlreadyExists):  # Qdrant: "Wrong input: ... already exists!"
            return grpc.StatusCode.ALREADY_EXISTS, qdrant_message(400, exc.message)
        return _BY_HTTP.get(status, grpc.StatusCode.INTERNAL), qdrant_message(status, exc.message)
    if isinstance(exc, ValidationError):
        message = f"{exc.error_count()} validation error(s): {exc.errors()[0].get('msg')}"
        return grpc.StatusCode.INVALID_ARGUMENT, qdrant_message(400, message)
    if isinstance(exc, ValueError | NotImplementedError):  # as the REST app: bad input
        message = str(exc) or type(exc).__name__
        return grpc.StatusCode.INVALID_ARGUMENT, qdrant_message(400, message)
    return grpc.StatusCode.INTERNAL, f"Service internal error: {type(exc).__name__}: {exc}"


@contextmanager
def parsing() -> Iterator[None]:
    """Reading the request: whatever the converters raise is the client's bad input
    (an `RpcError` keeps its own status and message)."""
    try:
        yield
    except (CrewchiefError, RpcError):
        raise
    except Exception as exc:
        if isinstance(exc, ValidationError):
            raise
        raise InvalidInput(f"{exc}" or type(exc).__name__) from exc


def abort(context: grpc.ServicerContext, exc: BaseException) -> NoReturn:
    code, message = status_of(exc)
    if code == grpc.StatusCode.INTERNAL:
        log.error("gRPC call failed: %s", message, exc_info=exc)
    context.abort(code, message)
    raise AssertionError("context.abort returns only by raising")  # pragma: no cover


_TIMED: dict[type[Any], bool] = {}


def _has_time(reply: Any) -> bool:
    kind = type(reply)
    timed = _TIMED.get(kind)
    if timed is None:
        descriptor = getattr(kind, "DESCRIPTOR", None)
        timed = _TIMED[kind] = descriptor is not None and "time" in descriptor.fields_by_name
    return timed


def rpc(fn: F) -> F:
    """A servicer method: errors become Qdrant's status, the reply gets its `time`."""

    @functools.wraps(fn)
    def handler(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        started = time.perf_counter()
        try:
            reply = fn(self, request, context)
        except Exception as exc:
            abort(context, exc)
        if _has_time(reply):
            reply.time = time.perf_counter() - started
        return reply

    return handler  # type: ignore[return-value]


def unimplemented(service: str, method: str) -> Callable[..., Any]:
    """The answer for an RPC crewchief serve does not serve (yet): UNIMPLEMENTED, named."""
    message = (
        f"crewchief serve does not implement /qdrant.{service}/{method}; "
        "docs/serve.md lists the RPCs it serves"
    )

    def handler(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, message)

    handler.__name__ = method
    return handler


def fill_unimplemented(service: str, base: type[Any]) -> Callable[[type[Any]], type[Any]]:
    """Class decorator: every RPC of `base` the class does not define answers UNIMPLEMENTED
    with a message naming it (the generated base says only "Method not implemented!")."""

    def decorate(cls: type[Any]) -> type[Any]:
        own = [k for k in cls.__mro__ if k not in base.__mro__]  # the class and its mixins
        for method in vars(base):
            if method.startswith("_") or any(method in vars(k) for k in own):
                continue
            setattr(cls, method, unimplemented(service, method))
        return cls

    return decorate
