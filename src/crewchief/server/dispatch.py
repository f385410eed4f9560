"""How route handlers reach the engine: off the event loop, one call at a time.

Engine calls hold the GIL and may touch the disk, so each one runs in
Starlette's thread pool; the event loop keeps accepting and answering other
requests meanwhile.  An alias switch is a single engine call, so every client
sees either the old or the new target, never a half state.

`wait=false` work (snapshots) is handed to a background task the app tracks,
so a graceful shutdown can let it finish before the engine is closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

log = logging.getLogger("crewchief.server")


def engine_of(request: Request) -> Any:
    return request.app.state.engine


async def call(request: Request, method: str, *args: Any, **kwargs: Any) -> Any:
    """Run `engine.<method>(*args, **kwargs)` in the thread pool."""
    fn = getattr(engine_of(request), method)
    return await run_in_threadpool(fn, *args, **kwargs)


def drop_none(**kwargs: Any) -> dict[str, Any]:
    """Keyword arguments without the ones the client left out."""
    return {k: v for k, v in kwargs.items() if v is not None}


def spawn(request: Request, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
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
