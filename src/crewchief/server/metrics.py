"""`/metrics` in Prometheus text format (prometheus_client), and the counters behind it.

The collections' part is `crewchief.core.metrics` (shared with `crewchief metrics`
on a data directory); this module adds what only a server has, under Qdrant's
names where Qdrant has them (`snapshot_created_total`, `rest_responses_total`,
`rest_responses_duration_seconds`), and with a backup repository its backups,
verifications and jobs (prefixed `crewchief_`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crewchief.backup.repository import Repository
from crewchief.backup.state import BackupState, job_failing, read_backup_state
from crewchief.core.client import QdrantAPI
from crewchief.core.metrics import (
    EngineState,
    FamilyWriter,
    collect_engine_state,
    exposition,
    write_engine_state,
)
from crewchief.errors import CrewchiefError

disable_created_metrics()  # no `_created` series: Qdrant has none either

BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Counters the server keeps itself (the engine knows nothing of HTTP), in a
    registry of their own so that two apps in one process never share them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.responses = Counter(
            "rest_responses",
            "REST responses by route and status",
            ["method", "endpoint", "status"],
            registry=self.registry,
        )
        self.durations = Histogram(
            "rest_responses_duration_seconds",
            "REST response time",
            ["method", "endpoint"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.snapshots = Counter(
            "snapshot_created", "snapshots created through this server", registry=self.registry
        )

    def observe(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        self.responses.labels(method, endpoint, str(status)).inc()
        self.durations.labels(method, endpoint).observe(seconds)

    def snapshot_created(self, collection: str | None) -> None:
        self.snapshots.inc()


class MetricsMiddleware:
    """Times every request and counts responses by route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        scope["crewchief.started"] = started
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "unknown"
            self.metrics.observe(scope["method"], endpoint, status, time.perf_counter() - started)


# -- rendering --------------------------------------------------------------


@dataclass
class ServerState:
    """What a scrape reads: the engine's state and, when the server was given a backup
    repository, that repository's (None: it could not be read)."""

    engine: EngineState
    repo_url: str | None = None
    backups: BackupState | None = None


def collect_server_state(engine: QdrantAPI, repo_url: str | None = None) -> ServerState:
    """Everything /metrics needs (runs in the thread pool)."""
    state = ServerState(collect_engine_state(engine), repo_url)
    if repo_url:
        try:
            state.backups = read_backup_state(Repository.open(repo_url))
        except CrewchiefError:
            state.backups = None  # reported as crewchief_backup_repository_up 0
    return state


def _render_backups(w: FamilyWriter, backups: BackupState | None) -> None:
    w.family("crewchief_backup_repository_up", "1 if the backup repository was readable")
    w.sample(0 if backups is None else 1)
    if backups is None:
        return
    w.family(
        "crewchief_last_backup_timestamp_seconds",
        "creation time of the newest backup",
        ("collection",),
    )
    for coll, (_id, created) in sorted(backups.newest.items()):
        w.sample(created.timestamp(), coll)
    w.family(
        "crewchief_backup_verified",
        "1 verified ok, 0 verification failed, -1 never verified (newest backup)",
        ("collection",),
    )
    for coll, (backup_id, _created) in sorted(backups.newest.items()):
        record = backups.verify.get(backup_id)
        w.sample(-1 if record is None else int(record["ok"]), coll)
    w.family(
        "crewchief_backup_job_last_success_timestamp_seconds",
        "time of the last successful run of a scheduled backup action",
        ("job", "action"),
    )
    for job, record in sorted(backups.jobs.items()):
        for action, when in sorted(record.get("last_success", {}).items()):
            w.sample(datetime.fromisoformat(when).timestamp(), job, action)
    w.family(
        "crewchief_backup_job_last_failure_timestamp_seconds",
        "time of the last failed run of a scheduled backup job",
        ("job",),
    )
    for job, record in sorted(backups.jobs.items()):
        if record.get("last_failure"):
            w.sample(datetime.fromisoformat(record["last_failure"]["time"]).timestamp(), job)
    w.family("crewchief_backup_job_failing", "1 if the job's latest run failed", ("job",))
    for job, record in sorted(backups.jobs.items()):
        w.sample(int(job_failing(record) is not None), job)


def render(state: ServerState, metrics: Metrics, version: str) -> bytes:
    """The Prometheus text exposition: the state gathered now, then the server's counters."""
    w = FamilyWriter()
    write_engine_state(w, state.engine, version)
    if state.repo_url:
        _render_backups(w, state.backups)
    return exposition(w.families, metrics.registry)
