"""Service routes: version info (core/version.py), probes, `/metrics` and `/telemetry`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

import crewchief
from crewchief.core.version import version_info
from crewchief.errors import InvalidInput
from crewchief.server.dispatch import call, engine_of
from crewchief.server.envelope import ok, query_bool, query_int
from crewchief.server.grpc import grpc_telemetry, render_grpc
from crewchief.server.metrics import collect_server_state, render
from crewchief.server.routes_cluster import peer_id
from crewchief.server.telemetry import startup_iso
from crewchief.server.telemetry import telemetry as build_telemetry

VERSION = version_info().version
_FEATURES = ("debug", "service_debug_feature", "recovery_mode", "gpu", "rocksdb", "staging")
INSTANCE_ID = str(uuid.uuid4())
STARTED = datetime.now(UTC)


async def root(request: Request) -> Response:
    return JSONResponse(version_info().model_dump(mode="json"))


async def healthz(request: Request) -> Response:
    return PlainTextResponse("healthz check passed")


async def livez(request: Request) -> Response:
    return PlainTextResponse("healthz check passed")


async def readyz(request: Request) -> Response:
    return PlainTextResponse("all shards are ready")


def _no_anonymize(request: Request) -> None:
    """Qdrant's `anonymize=true` hashes names and rounds counts field by field; crewchief
    does not, and a privacy option must not be accepted and ignored: it is refused."""
    if query_bool(request, "anonymize", False):
        raise InvalidInput(
            "Bad request: anonymize=true is not supported: crewchief serve does not "
            "anonymize its telemetry and metrics",
            hint="Leave anonymize out: the answer names collections and counts their points",
        )


async def metrics(request: Request) -> Response:
    per_collection = query_bool(request, "per_collection", False)
    _no_anonymize(request)
    query_int(request, "timeout")
    repo_url = getattr(request.app.state, "repo_url", None)
    state = await run_in_threadpool(collect_server_state, engine_of(request), repo_url)
    text = render(
        state,
        request.app.state.metrics,
        VERSION,
        crewchief.__version__,
        per_collection=per_collection,
    )
    text += render_grpc(getattr(request.app.state, "grpc_metrics", None))
    return Response(text, media_type=CONTENT_TYPE_LATEST)


async def telemetry(request: Request) -> Response:
    level = query_int(request, "details_level", minimum=0) or 0
    per_collection = query_bool(request, "per_collection", False)
    _no_anonymize(request)
    query_int(request, "timeout")
    engine = engine_of(request)
    app: dict[str, Any] = {"name": "crewchief", "version": VERSION, "startup": startup_iso(STARTED)}
    if level >= 1:  # Qdrant's build features: none of them is in crewchief
        app["features"] = dict.fromkeys(_FEATURES, False)
    data = await call(
        build_telemetry,
        engine,
        request.app.state.metrics,
        instance_id=INSTANCE_ID,
        app=app,
        level=level,
        per_collection=per_collection,
        peer=peer_id(engine),
        threads=40,  # anyio's default thread pool, where engine calls run
    )
    grpc = grpc_telemetry(getattr(request.app.state, "grpc_metrics", None))
    data["requests"]["grpc"]["responses"] = grpc.model_dump(mode="json")["responses"]
    return ok(request, data)


routes = [
    Route("/", root, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/livez", livez, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/telemetry", telemetry, methods=["GET"]),
]
