"""crewchief's own routes, beside Qdrant's: what the ops layer needs from a served engine.

    GET  /crewchief/alias-history[?alias=NAME]      the engine's alias journal
    POST /crewchief/aliases                          an alias batch with compare-and-set
    POST /crewchief/collections/{name}/optimize      start an index build (child process)

`POST /crewchief/aliases` takes Qdrant's `POST /collections/aliases` body plus
`expect`, {alias: collection or null}: the engine checks every alias is where
expected and applies the batch under one lock, or answers 409 (in Qdrant's
error format) and changes nothing.  It answers the history entries it recorded.

A real Qdrant server has none of these; the ops layer keeps history in a
collection there, checks the expectation just before the batch (best effort)
and lets the server index by itself.
"""

from __future__ import annotations

from dataclasses import asdict

from pydantic import Field
from qdrant_client.http import models
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crewchief.server.dispatch import call, engine_of
from crewchief.server.envelope import ok, parse_body


class ConditionalAliasChange(models.ChangeAliasesOperation):
    """Qdrant's alias batch and where the aliases must point for it to apply."""

    expect: dict[str, str | None] = Field(
        description="alias -> the collection it must point at now (null: must not exist)"
    )


async def alias_history(request: Request) -> Response:
    alias = request.query_params.get("alias") or None
    changes = await call(engine_of(request).alias_history, alias)
    return ok(request, [asdict(c) for c in changes])


async def change_aliases(request: Request) -> Response:
    body: ConditionalAliasChange = await parse_body(request, ConditionalAliasChange)
    changes = await call(engine_of(request).change_aliases, body.actions, body.expect)
    return ok(request, [asdict(c) for c in changes])


async def optimize(request: Request) -> Response:
    name = request.path_params["collection_name"]
    return ok(request, await call(engine_of(request).optimize, name, wait=False))


routes = [
    Route("/crewchief/alias-history", alias_history, methods=["GET"]),
    Route("/crewchief/aliases", change_aliases, methods=["POST"]),
    Route("/crewchief/collections/{collection_name}/optimize", optimize, methods=["POST"]),
]
