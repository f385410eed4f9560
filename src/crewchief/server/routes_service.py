"""Service routes: version info, probes, `/metrics` and `/telemetry`.

`GET /` reports a Qdrant version with the installed qdrant-client's
major.minor: the REST schema we speak *is* that client's schema, and
qdrant-client warns at start-up when the minor versions differ by more
than one.
"""

from __future__ import annotations

import importlib.metadata
import uuid
from datetime import UTC, datetime

from prometheus_client import CONTENT_TYPE_LATEST
from qdrant_client.http import models
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

import crewchief
from crewchief.server.dispatch import call, engine_of
from crewchief.server.envelope import ok
from crewchief.server.grpc import render_grpc, requests_telemetry
from crewchief.server.metrics import collect_server_state, render

TITLE = "crewchief (qdrant-compatible)"


def qdrant_api_version() -> str:
    """The Qdrant server version whose REST API we implement, e.g. "1.20.0"."""
    try:
        client = importlib.metadata.version("qdrant-client")
        major, minor = client.split(".")[:2]
        return f"{int(major)}.{int(minor)}.0"
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return "1.15.0"


VERSION = qdrant_api_version()
INSTANCE_ID = str(uuid.uuid4())
STARTED = datetime.now(UTC)


async def root(request: Request) -> Response:
    info = models.VersionInfo(title=TITLE, version=VERSION, commit=None)
    return JSONResponse(info.model_dump(mode="json", exclude_none=True))


async def healthz(request: Request) -> Response:
    return PlainTextResponse("healthz check passed")


async def livez(request: Request) -> Response:
    return PlainTextResponse("healthz check passed")


async def readyz(request: Request) -> Response:
    return PlainTextResponse("all shards are ready")


async def metrics(request: Request) -> Response:
    repo_url = getattr(request.app.state, "repo_url", None)
    state = await run_in_threadpool(collect_server_state, engine_of(request), repo_url)
    text = render(state, request.app.state.metrics, crewchief.__version__)
    text += render_grpc(getattr(request.app.state, "grpc_metrics", None))
    return Response(text, media_type=CONTENT_TYPE_LATEST)


async def telemetry(request: Request) -> Response:
    collections = await call(engine_of(request).get_collections)
    data = models.TelemetryData(
        id=INSTANCE_ID,
        app=models.AppBuildTelemetry(name="crewchief", version=VERSION, startup=STARTED),
        collections=models.CollectionsTelemetry(number_of_collections=len(collections.collections)),
        requests=requests_telemetry(
            request.app.state.metrics.registry, getattr(request.app.state, "grpc_metrics", None)
        ),
    )
    return ok(request, data)


routes = [
    Route("/", root, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/livez", livez, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/telemetry", telemetry, methods=["GET"]),
]
