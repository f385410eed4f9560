"""The ASGI app: Qdrant's REST API in front of one engine.

    app = create_app(Engine("./data"), api_key="secret")

The app owns no logic of its own: routes validate with Qdrant's schema, call
one engine method in the thread pool and wrap the result in Qdrant's
envelope.  Errors become Qdrant's error body with the status the typed error
carries (`crewchief.errors`), so bad input never answers 500.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from crewchief.dashboard import Dashboard
from crewchief.dashboard.auth import DashboardKeys
from crewchief.engine import Engine
from crewchief.errors import CrewchiefError
from crewchief.server import (
    routes_cluster,
    routes_collections,
    routes_crewchief,
    routes_payload,
    routes_points,
    routes_search,
    routes_service,
    routes_snapshots,
)
from crewchief.server.auth import ApiKeyMiddleware, engine_value_exists
from crewchief.server.dispatch import drain
from crewchief.server.envelope import ApiError, error
from crewchief.server.metrics import Metrics, MetricsMiddleware
from crewchief.server.uploads import DEFAULT_MAX_UPLOAD_BYTES
from crewchief.target import EmbeddedTarget

log = logging.getLogger("crewchief.server")

# Qdrant prefixes its error messages by kind; clients and people grep for these
_PREFIX = {400: "Wrong input: ", 404: "Not found: "}


def qdrant_message(status: int, message: str) -> str:
    prefix = _PREFIX.get(status, "")
    # Qdrant's 400s are "Wrong input: ..." or "Bad request: ..." (an empty update request)
    return message if message.startswith((prefix, "Bad request: ")) else prefix + message


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error(request, exc.status_code, exc.message)


async def _crewchief_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CrewchiefError)
    status = exc.http_status
    if status >= 500:
        log.error("engine failure on %s %s: %s", request.method, request.url.path, exc)
    response = error(request, status, qdrant_message(status, exc.message))
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:  # a strict mode rate limit: seconds, rounded up as Qdrant does
        response.headers["Retry-After"] = str(math.ceil(retry_after))
    return response


async def _bad_input(request: Request, exc: Exception) -> Response:
    """Input the engine (or qdrant-edge beneath it) refused without a typed error."""
    if isinstance(exc, ValidationError):
        message = f"{exc.error_count()} validation error(s): {exc.errors()[0].get('msg')}"
    else:
        message = str(exc) or type(exc).__name__
    return error(request, 400, qdrant_message(400, message))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        # Qdrant guards its routes by method: a known path with another method is 404
        return error(request, 404, f"Not found: {request.method} {request.url.path}")
    return error(request, exc.status_code, exc.detail or "Error")


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error(request, 500, f"Service internal error: {type(exc).__name__}: {exc}")


def create_app(
    engine: Engine,
    api_key: str | None = None,
    read_only_api_key: str | None = None,
    *,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    repo_url: str | None = None,
    jwt_rbac: bool = False,
) -> Starlette:
    """A Qdrant-compatible REST app serving `engine`, with the
    dashboard at /dashboard (`repo_url`: the backup repository its backups page shows;
    `jwt_rbac`: JWTs signed with `api_key` grant the access they name)."""
    metrics = Metrics()
    background: set[asyncio.Task[Any]] = set()
    dashboard = Dashboard(EmbeddedTarget.around(engine), repo_url=repo_url)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with dashboard.running():
            yield
        await drain(background)  # let wait=false work finish before shutdown

    app = Starlette(
        routes=[
            *routes_service.routes,
            *routes_collections.routes,
            *routes_points.routes,
            *routes_search.routes,
            *routes_payload.routes,
            *routes_snapshots.routes,
            *routes_cluster.routes,
            *routes_crewchief.routes,
            dashboard.mount(),
        ],
        middleware=[
            Middleware(MetricsMiddleware, metrics=metrics),
            Middleware(
                ApiKeyMiddleware,
                keys=DashboardKeys(api_key, read_only_api_key, jwt_rbac=jwt_rbac),
                value_exists=engine_value_exists(engine),
            ),
        ],
        exception_handlers={
            ApiError: _api_error,
            CrewchiefError: _crewchief_error,
            ValidationError: _bad_input,
            ValueError: _bad_input,
            NotImplementedError: _bad_input,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.metrics = metrics
    app.state.background = background
    app.state.max_upload_bytes = max_upload_bytes
    app.state.dashboard = dashboard
    app.state.repo_url = repo_url  # /metrics reports its backups too
    return app
