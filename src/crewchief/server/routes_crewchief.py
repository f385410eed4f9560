"""crewchief's own routes, beside Qdrant's: what the ops layer needs from a served engine.

    GET  /crewchief/alias-history[?alias=NAME]      the engine's alias journal
    POST /crewchief/collections/{name}/optimize      start an index build (child process)

A real Qdrant server has neither; the ops layer keeps history in a collection
there and lets the server index by itself.
"""

from __future__ import annotations

from dataclasses import asdict

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crewchief.server.dispatch import call
from crewchief.server.envelope import ok


async def alias_history(request: Request) -> Response:
    alias = request.query_params.get("alias") or None
    changes = await call(request, "alias_history", alias)
    return ok(request, [asdict(c) for c in changes])


async def optimize(request: Request) -> Response:
    name = request.path_params["collection_name"]
    return ok(request, await call(request, "optimize", name, wait=False))


routes = [
    Route("/crewchief/alias-history", alias_history, methods=["GET"]),
    Route("/crewchief/collections/{collection_name}/optimize", optimize, methods=["POST"]),
]
