"""The dashboard's JSON API, under `/dashboard/api/`.

    GET  overview                                  cards for every collection
    GET  collections/{c}                           config, schema, snapshots, series
    GET  collections/{c}/history                   points/indexed samples
    POST collections/{c}/search                    the search tester (a read; vector, random
                                                   or query_body: a Query API body)
    POST collections/{c}/snapshots                 create a snapshot
    POST collections/{c}/snapshots/{s}/delete      delete one
    GET  collections/{c}/snapshots/{s}/file        download one
    GET  aliases                                   targets and history
    GET  aliases/{a}/plan?collection=C | ?rollback=1[&to=C]
    POST aliases/{a}/switch    {"collection", "expect", "force"}
    POST aliases/{a}/rollback  {"expect", "to", "force"}
    GET  backups                                   repository contents, schedules

Answers use Qdrant's envelope (`{"result": ..., "status": "ok"}`, errors as
`{"status": {"error": ...}, "hint": ...}`), so the page reads the auth
middleware's 401/403 and our own errors the same way.  Every call runs in the
thread pool: the ops layer blocks (engine or HTTP to a remote Qdrant).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from crewchief.dashboard import actions, views
from crewchief.errors import InvalidInput
from crewchief.target import as_crewchief_error

if TYPE_CHECKING:
    from crewchief.dashboard.app import Dashboard

log = logging.getLogger("crewchief.dashboard")


def _dashboard(request: Request) -> Dashboard:
    board: Dashboard = request.app.state.dashboard
    return board


def _error(status: int, message: str, hint: str | None = None) -> JSONResponse:
    return JSONResponse({"status": {"error": message}, "hint": hint}, status_code=status)


def error_response(exc: Exception) -> JSONResponse:
    """Any failure as an answer the page can show; a bug is logged with its traceback."""
    error = as_crewchief_error(exc)
    if error is not None:
        return _error(error.http_status, error.message, error.hint)
    log.exception("dashboard: unexpected error")
    return _error(500, f"{type(exc).__name__}: {exc}")


async def run(fn: Callable[..., Any], *args: Any) -> Response:
    """Call `fn(*args)` in the thread pool and wrap its result (or failure)."""
    try:
        result = await run_in_threadpool(fn, *args)
    except Exception as exc:
        return error_response(exc)
    return JSONResponse({"result": result, "status": "ok"})


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise InvalidInput("The request body is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object")
    return body


def _param(request: Request, name: str) -> str:
    return str(request.path_params[name])


# -- reads ---------------------------------------------------------------------------------------


async def overview(request: Request) -> Response:
    d = _dashboard(request)
    return await run(views.overview, d.target, d.history, d.repo, d.policy)


async def collection(request: Request) -> Response:
    d = _dashboard(request)
    return await run(views.collection_detail, d.target, d.history, _param(request, "c"))


async def history(request: Request) -> Response:
    d = _dashboard(request)
    return await run(d.history.series, _param(request, "c"))


async def aliases(request: Request) -> Response:
    return await run(views.aliases_view, _dashboard(request).target)


async def alias_plan(request: Request) -> Response:
    d, alias, q = _dashboard(request), _param(request, "a"), request.query_params
    force = q.get("force") in ("1", "true")
    if q.get("rollback") in ("1", "true"):
        return await run(_plan_json, actions.rollback_plan, d.target, alias, q.get("to"), force)
    target_collection = q.get("collection")
    if not target_collection:
        return _error(400, "Say which collection: ?collection=NAME (or ?rollback=1)")
    return await run(_plan_json, actions.switch_plan, d.target, alias, target_collection, force)


def _plan_json(plan_fn: Callable[..., Any], *args: Any) -> dict[str, Any]:
    result: dict[str, Any] = plan_fn(*args).to_json()
    return result


async def backups(request: Request) -> Response:
    return await run(views.backups_view, _dashboard(request).repo)


async def snapshot_file(request: Request) -> Response:
    d, c, s = _dashboard(request), _param(request, "c"), _param(request, "s")
    tmp = Path(tempfile.mkdtemp(prefix="crewchief-dashboard-"))
    try:
        path = await run_in_threadpool(d.target.download_snapshot, c, s, tmp / Path(s).name)
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        return error_response(exc)
    cleanup = BackgroundTask(shutil.rmtree, tmp, ignore_errors=True)
    return FileResponse(
        path, media_type="application/octet-stream", filename=path.name, background=cleanup
    )


# -- actions (the full key only, when the server has keys) ---------------------------------------


async def _with_body(request: Request, fn: Callable[..., Any], *args: Any) -> Response:
    try:
        body = await _body(request)
    except InvalidInput as exc:
        return error_response(exc)
    return await run(fn, *args, body)


async def search(request: Request) -> Response:
    d = _dashboard(request)
    return await _with_body(request, actions.search, d.target, _param(request, "c"))


async def switch(request: Request) -> Response:
    d = _dashboard(request)
    return await _with_body(request, actions.switch, d.target, _param(request, "a"))


async def rollback(request: Request) -> Response:
    d = _dashboard(request)
    return await _with_body(request, actions.rollback, d.target, _param(request, "a"))


async def create_snapshot(request: Request) -> Response:
    d = _dashboard(request)
    return await run(actions.create_snapshot, d.target, _param(request, "c"))


async def delete_snapshot(request: Request) -> Response:
    d, c, s = _dashboard(request), _param(request, "c"), _param(request, "s")
    return await run(actions.delete_snapshot, d.target, c, s)


_C = "/api/collections/{c}"
routes = [
    Route("/api/overview", overview, methods=["GET"]),
    Route(_C, collection, methods=["GET"]),
    Route(_C + "/history", history, methods=["GET"]),
    Route(_C + "/search", search, methods=["POST"]),
    Route(_C + "/snapshots", create_snapshot, methods=["POST"]),
    Route(_C + "/snapshots/{s}/delete", delete_snapshot, methods=["POST"]),
    Route(_C + "/snapshots/{s}/file", snapshot_file, methods=["GET"]),
    Route("/api/aliases", aliases, methods=["GET"]),
    Route("/api/aliases/{a}/plan", alias_plan, methods=["GET"]),
    Route("/api/aliases/{a}/switch", switch, methods=["POST"]),
    Route("/api/aliases/{a}/rollback", rollback, methods=["POST"]),
    Route("/api/backups", backups, methods=["GET"]),
]
