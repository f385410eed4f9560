"""`/metrics` in Prometheus text format (prometheus_client), and the counters behind it.

Names follow Qdrant's own `/metrics` where Qdrant has them (`collections_total`,
`collection_points`, `collection_vectors`, `collection_running_optimizations`,
`snapshot_created_total`, `rest_responses_total`,
`rest_responses_duration_seconds`); what Qdrant lacks is prefixed `crewchief_`
(collection status, optimizer state, indexed vectors, alias targets, last
snapshot time, and with a backup repository its backups, verifications and jobs).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crewchief.backup.repository import Repository
from crewchief.backup.state import BackupState, job_failing, read_backup_state
from crewchief.errors import CrewchiefError, NotFound

disable_created_metrics()  # no `_created` series: Qdrant has none either

BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STATUSES = ("green", "yellow", "grey", "red")


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


class _Writer:
    """Gauge families built at scrape time from the engine's state."""

    def __init__(self) -> None:
        self.families: list[GaugeMetricFamily] = []

    def family(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> None:
        self.families.append(GaugeMetricFamily(name, help_text, labels=list(labels)))

    def sample(self, value: float, *labels: object) -> None:
        self.families[-1].add_metric([str(v) for v in labels], value)


def _vector_names(info: Any) -> list[str]:
    vectors = info.config.params.vectors
    if isinstance(vectors, dict):
        return sorted(vectors)
    return [""] if vectors is not None else []


def _snapshot_time(snapshot: Any) -> float | None:
    raw = getattr(snapshot, "creation_time", None)
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(str(raw))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def collect_engine_state(engine: Any, repo_url: str | None = None) -> dict[str, Any]:
    """Everything /metrics needs from the engine, and from the backup repository when
    the server was given one (runs in the thread pool)."""
    infos: dict[str, Any] = {}
    last_snapshot: dict[str, float] = {}
    for description in engine.get_collections().collections:
        name = description.name
        try:
            infos[name] = engine.get_collection(name)
            times = [_snapshot_time(s) for s in engine.list_snapshots(name)]
        except NotFound:
            continue  # deleted while we looked
        known = [t for t in times if t is not None]
        if known:
            last_snapshot[name] = max(known)
    aliases = [(a.alias_name, a.collection_name) for a in engine.get_aliases().aliases]
    state: dict[str, Any] = {"infos": infos, "aliases": aliases, "last_snapshot": last_snapshot}
    if repo_url:
        try:
            state["backups"] = read_backup_state(Repository.open(repo_url))
        except CrewchiefError:
            state["backups"] = None  # reported as crewchief_backup_repository_up 0
    return state


def _render_backups(w: _Writer, backups: BackupState | None) -> None:
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


def _render_collections(w: _Writer, infos: dict[str, Any]) -> None:
    w.family("collections_total", "number of collections")
    w.sample(len(infos))
    w.family("collection_points", "number of points in the collection", ("collection",))
    for name, info in infos.items():
        w.sample(info.points_count or 0, name)
    w.family("collection_vectors", "number of vectors by vector name", ("collection", "vector"))
    for name, info in infos.items():
        for vector in _vector_names(info):
            w.sample(info.points_count or 0, name, vector)
    w.family(
        "crewchief_collection_indexed_vectors",
        "vectors in the HNSW index (the rest are searched by brute force)",
        ("collection",),
    )
    for name, info in infos.items():
        w.sample(info.indexed_vectors_count or 0, name)
    w.family(
        "collection_running_optimizations",
        "1 while an index build runs (status yellow), else 0: one build at a time per collection",
        ("collection",),
    )
    for name, info in infos.items():
        w.sample(1 if _value(info.status) == "yellow" else 0, name)
    w.family(
        "crewchief_collection_status",
        "1 for the collection's current status",
        ("collection", "status"),
    )
    for name, info in infos.items():
        for status in STATUSES:
            w.sample(int(status == _value(info.status)), name, status)
    w.family(
        "crewchief_collection_optimizer_ok",
        "1 when the optimizer reports ok, 0 when the last index build or the load failed",
        ("collection",),
    )
    for name, info in infos.items():
        w.sample(int(_value(info.optimizer_status) == "ok"), name)


def _value(x: Any) -> str:
    return str(getattr(x, "value", x))


def render(state: dict[str, Any], metrics: Metrics | None, version: str) -> bytes:
    """The Prometheus text exposition: the state gathered now, then the server's counters
    (none without a server: `crewchief metrics` on a data directory)."""
    w = _Writer()
    w.family("app_info", "information about the server", ("name", "version"))
    w.sample(1, "crewchief", version)
    _render_collections(w, state["infos"])
    w.family(
        "crewchief_alias_target",
        "1 for each alias and the collection it names",
        ("alias", "collection"),
    )
    for alias, collection in sorted(state["aliases"]):
        w.sample(1, alias, collection)
    w.family(
        "crewchief_last_snapshot_timestamp_seconds",
        "creation time of the newest snapshot",
        ("collection",),
    )
    for name, when in sorted(state["last_snapshot"].items()):
        w.sample(when, name)
    if "backups" in state:
        _render_backups(w, state["backups"])
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Families(w.families))
    counters = generate_latest(metrics.registry) if metrics is not None else b""
    return generate_latest(scrape) + counters


class _Families(Collector):
    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self.families
