"""How route handlers reach the engine: off the event loop, many calls at once.

    result = await call(engine_of(request).upsert, name, points=points, wait=True)

Routes bind to the engine's own typed methods (`engine_of` returns the app's
`Engine`), so mypy checks every call's name and arguments; a typo fails the
type check instead of answering 500 at run time.

Engine calls hold the GIL and may touch the disk, so each one runs in
Starlette's thread pool; the event loop keeps accepting and answering other
requests meanwhile.  Calls run concurrently (as many at once as the pool has
threads); the engine's own locks serialise what must not overlap.  An alias
switch is a single engine call applied under one lock, so every client sees
either the old or the new target, never a half state.

`wait=false` work (snapshots) is handed to a background task the app tracks,
so a graceful shutdown can let it finish before the engine is closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from crewchief.engine import Engine

log = logging.getLogger("crewchief.server")

P = ParamSpec("P")
T = TypeVar("T")


def engine_of(request: Request) -> Engine:
    """The engine the app serves (`create_app(engine)`)."""
    engine: Engine = request.app.state.engine
    return engine


async def call(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run one engine call, `fn(*args, **kwargs)`, in the thread pool."""
    return await run_in_threadpool(fn, *args, **kwargs)


async def inline(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a short read, `fn(*args, **kwargs)`, on the event loop itself.

    Edge holds the GIL while it searches, so the thread pool's hop (a hand-off and a
    wake-up, ~0.3 ms) buys no concurrency for a query; routes whose calls take a few
    milliseconds (query, retrieve, count) run here instead."""
    return fn(*args, **kwargs)


def drop_none(**kwargs: Any) -> dict[str, Any]:
    """Keyword arguments without the ones the client left out."""
    return {k: v for k, v in kwargs.items() if v is not None}


def spawn(
    request: Request, what: str, fn: Callable[P, Any], /, *args: P.args, **kwargs: P.kwargs
) -> None:
    """Run `fn` in the thread pool after the response; log (never raise) failures."""
    tasks: set[asyncio.Task[Any]] = request.app.state.background
    task = asyncio.get_running_loop().create_task(run_in_threadpool(fn, *args, **kwargs))
    tasks.add(task)

    def _done(t: asyncio.Task[Any]) -> None:
        tasks.discard(t)
        if not t.cancelled() and t.exception() is not None:
            log.error("background %s failed: %s", what, t.exception())

    task.add_done_callback(_done)


async def drain(tasks: set[asyncio.Task[Any]]) -> None:
    """Wait for background work (used at shutdown, before the engine closes)."""
    if tasks:
        await asyncio.gather(*list(tasks), return_exceptions=True)
