"""Points and indexed vectors over time, per collection, kept in memory.

Neither Qdrant nor the embedded engine keeps a time series of its counts, so
the dashboard samples them itself: a background task asks the target every
few seconds (5 s by default, `CREWCHIEF_DASHBOARD_SAMPLE_SECONDS`) and keeps
the last few hours in a ring buffer per collection.  The history starts when
the dashboard starts; it is a view for people, not a record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import deque
from typing import Any

from starlette.concurrency import run_in_threadpool

from crewchief.target import Target

log = logging.getLogger("crewchief.dashboard")

DEFAULT_SAMPLE_SECONDS = 5.0
DEFAULT_KEEP_SECONDS = 4 * 3600.0
SAMPLE_ENV = "CREWCHIEF_DASHBOARD_SAMPLE_SECONDS"

Sample = tuple[float, int, int]  # (unix time, points, indexed vectors)


def sample_seconds_from_env(default: float = DEFAULT_SAMPLE_SECONDS) -> float:
    raw = os.environ.get(SAMPLE_ENV, "")
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if value > 0 else default


class History:
    """A bounded series of samples per collection; safe to read while sampling."""

    def __init__(
        self,
        interval: float = DEFAULT_SAMPLE_SECONDS,
        keep_seconds: float = DEFAULT_KEEP_SECONDS,
    ) -> None:
        self.interval = interval
        self.maxlen = max(2, int(keep_seconds / interval) + 1)
        self._series: dict[str, deque[Sample]] = {}
        self._lock = threading.Lock()

    def record(self, now: float, counts: dict[str, tuple[int, int]]) -> None:
        """Add one sample per collection; forget collections that no longer exist."""
        with self._lock:
            for name in list(self._series):
                if name not in counts:
                    del self._series[name]
            for name, (points, indexed) in counts.items():
                series = self._series.setdefault(name, deque(maxlen=self.maxlen))
                series.append((now, points, indexed))

    def series(self, name: str, max_points: int | None = None) -> dict[str, list[Any]]:
        """{"t": [...], "points": [...], "indexed": [...]}, thinned to `max_points`."""
        with self._lock:
            samples = list(self._series.get(name, ()))
        if max_points and len(samples) > max_points:
            step = len(samples) / max_points
            picked = [samples[int(i * step)] for i in range(max_points - 1)]
            samples = [*picked, samples[-1]]  # always end with the newest
        return {
            "t": [round(s[0], 3) for s in samples],
            "points": [s[1] for s in samples],
            "indexed": [s[2] for s in samples],
        }

    def sample(self, target: Target) -> None:
        """Ask the target for every collection's counts (blocking: run it in a thread)."""
        counts: dict[str, tuple[int, int]] = {}
        for name in target.collection_names():
            try:
                info = target.client.get_collection(name)
            except Exception as exc:  # deleted while we looked, or broken: the rest still count
                log.debug("dashboard: no sample of %s: %s", name, exc)
                continue
            counts[name] = (info.points_count or 0, info.indexed_vectors_count or 0)
        self.record(time.time(), counts)


class Sampler:
    """The background task that feeds a History; started and stopped with the app."""

    def __init__(self, history: History, target: Target) -> None:
        self.history = history
        self.target = target
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Let the current sample finish (it may be using the engine), then end."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await run_in_threadpool(self.history.sample, self.target)
            except Exception as exc:  # a target that is down now may answer later
                log.warning("dashboard sampling failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.history.interval)
