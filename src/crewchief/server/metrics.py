"""`/metrics` in Prometheus text format (prometheus_client), and the counters behind it.

The collections' part is `crewchief.core.metrics` (shared with `crewchief metrics`
on a data directory); this module adds what only a server has, as Qdrant 1.19
renders it (`src/common/metrics.rs`): `snapshot_*{id}`, the `rest_responses_*`
families (total, avg/min/max duration, duration histogram) by `method`,
`endpoint` and `status` for Qdrant's whitelist of point endpoints (with
`?per_collection=true`: by `collection` too, instead), and the process families
read from /proc.  With a backup repository: its backups, verifications and jobs
(prefixed `crewchief_`).

The same request statistics feed `/telemetry`'s `requests` section
(`RequestStats.telemetry`), per endpoint (`"PUT /collections/{collection_name}/points"`)
and status, as Qdrant's `OperationDurationStatistics`.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
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

# Qdrant's histogram bounds (DEFAULT_BUCKET_BOUNDARIES_MICROS), in seconds
BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 50.0)
AVERAGE_OVER = 128  # Qdrant's avg_duration_micros: the latest 128 operations
TIMED_STATUS = "200"  # Qdrant reports REST timings for this status only
# Qdrant's REST endpoints in /metrics (REST_ENDPOINT_WHITELIST); /telemetry has all
_WHITELISTED_TAILS = """
    index points points/batch points/count points/delete points/discover
    points/discover/batch points/facet points/payload points/payload/clear
    points/payload/delete points/query points/query/batch points/query/groups
    points/recommend points/recommend/batch points/recommend/groups points/scroll
    points/search points/search/batch points/search/groups
    points/search/matrix/offsets points/search/matrix/pairs points/vectors
    points/vectors/delete vectors/{vector_name}
"""
REST_ENDPOINT_WHITELIST = frozenset(
    "/collections/{collection_name}/" + tail for tail in _WHITELISTED_TAILS.split()
)


@dataclass
class OperationStats:
    """Qdrant's `OperationDurationStatistics` for one endpoint and status."""

    count: int = 0
    total: float = 0.0
    low: float = float("inf")
    high: float = 0.0
    latest: deque[float] = field(default_factory=lambda: deque(maxlen=AVERAGE_OVER))
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    last: datetime | None = None

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        self.low, self.high = min(self.low, seconds), max(self.high, seconds)
        self.latest.append(seconds)
        self.last = datetime.now(UTC)
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.buckets[i] += 1
                break

    def avg(self) -> float:
        return sum(self.latest) / len(self.latest) if self.latest else 0.0

    def telemetry(self) -> dict[str, Any]:
        micros = 1_000_000
        return {
            "count": self.count,
            "avg_duration_micros": self.avg() * micros,
            "min_duration_micros": self.low * micros,
            "max_duration_micros": self.high * micros,
            "total_duration_micros": int(self.total * micros),
            "last_responded": self.last.isoformat().replace("+00:00", "Z") if self.last else None,
        }


Key = tuple[str, str]  # ("PUT /collections/{collection_name}/points", "200")


class RequestStats:
    """Responses the server answered, by endpoint and status, overall and per collection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.overall: dict[Key, OperationStats] = {}
        self.by_collection: dict[str, dict[Key, OperationStats]] = {}
        self.snapshots: dict[str, int] = {}  # collection -> snapshots created

    def observe(
        self, method: str, endpoint: str, status: int, seconds: float, collection: str | None
    ) -> None:
        key = (f"{method} {endpoint}", str(status))
        with self._lock:
            self.overall.setdefault(key, OperationStats()).add(seconds)
            if collection is not None:
                per = self.by_collection.setdefault(collection, {})
                per.setdefault(key, OperationStats()).add(seconds)

    def snapshot_created(self, collection: str) -> None:
        with self._lock:
            self.snapshots[collection] = self.snapshots.get(collection, 0) + 1

    def telemetry(self, per_collection: bool = False) -> dict[str, Any]:
        """`/telemetry`'s `requests` section (gRPC: none, crewchief serves REST only)."""
        with self._lock:
            rest: dict[str, Any] = {"responses": _nest(self.overall)}
            if per_collection:
                rest["per_collection_responses"] = {
                    name: _nest(stats) for name, stats in sorted(self.by_collection.items())
                }
        grpc: dict[str, Any] = {"responses": {}}
        if per_collection:
            grpc["per_collection_responses"] = {}
        return {"rest": rest, "grpc": grpc}

    def families(self, per_collection: bool) -> list[Metric]:
        """The `rest_responses_*` families, as Qdrant renders them (whitelisted endpoints)."""
        label_names = ["method", "endpoint", "status"] + (["collection"] if per_collection else [])
        total = CounterMetricFamily(
            "rest_responses", "total number of responses", labels=label_names
        )
        avg, low, high = (
            GaugeMetricFamily(f"rest_responses_{kind}_duration_seconds", text, labels=label_names)
            for kind, text in (
                ("avg", "average response duration"),
                ("min", "minimum response duration"),
                ("max", "maximum response duration"),
            )
        )
        hist = HistogramMetricFamily(
            "rest_responses_duration_seconds", "response duration histogram", labels=label_names
        )
        with self._lock:
            if per_collection:
                rows = [
                    (key, stats, [name])
                    for name, per in sorted(self.by_collection.items())
                    for key, stats in sorted(per.items())
                ]
            else:
                rows = [(key, stats, []) for key, stats in sorted(self.overall.items())]
            for (endpoint_key, status), stats, extra in rows:
                method, endpoint = endpoint_key.split(" ", 1)
                if endpoint not in REST_ENDPOINT_WHITELIST:
                    continue
                labels = [method, endpoint, status, *extra]
                total.add_metric(labels, stats.count)
                if status != TIMED_STATUS:
                    continue
                avg.add_metric(labels, stats.avg())
                low.add_metric(labels, stats.low)
                high.add_metric(labels, stats.high)
                cumulative, buckets = 0, []
                for bound, n in zip(BUCKETS, stats.buckets, strict=True):
                    cumulative += n
                    buckets.append((repr(bound), cumulative))
                buckets.append(("+Inf", stats.count))
                hist.add_metric(labels, buckets, stats.total)
        return [f for f in (total, avg, low, high, hist) if f.samples]


def _nest(stats: dict[Key, OperationStats]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for (endpoint, status), s in sorted(stats.items()):
        out.setdefault(endpoint, {})[status] = s.telemetry()
    return out


class Metrics:
    """What the server counts itself (the engine knows nothing of HTTP)."""

    def __init__(self) -> None:
        self.requests = RequestStats()

    def observe(
        self,
        method: str,
        endpoint: str,
        status: int,
        seconds: float,
        collection: str | None = None,
    ) -> None:
        self.requests.observe(method, endpoint, status, seconds, collection)

    def snapshot_created(self, collection: str) -> None:
        self.requests.snapshot_created(collection)


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
            collection = (scope.get("path_params") or {}).get("collection_name")
            seconds = time.perf_counter() - started
            self.metrics.observe(scope["method"], endpoint, status, seconds, collection)


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


def _render_snapshots(w: FamilyWriter, infos: list[str]) -> None:
    for name, text in (
        ("snapshot_creation_running", "amount of snapshot creations that are currently running"),
        ("snapshot_recovery_running", "amount of snapshot recovery operations currently running"),
    ):
        w.family(name, text, ("id",))
        for collection in infos:
            w.sample(0, collection)  # snapshot work runs inside one request (or wait=false task)


def _snapshot_counter(names: list[str], metrics: Metrics) -> Metric:
    created = CounterMetricFamily(
        "snapshot_created", "total amount of snapshots created", labels=["id"]
    )
    counts = metrics.requests.snapshots
    for collection in names:
        created.add_metric([collection], counts.get(collection, 0))
    return created


def _proc_families(w: FamilyWriter) -> None:
    """Qdrant's /proc readings (Linux), under its names; nothing where /proc is absent."""
    me = Path("/proc/self")
    try:
        stat = (me / "stat").read_text().rsplit(")", 1)[1].split()
        threads = len(os.listdir(me / "task"))
        maps = sum(1 for _ in (me / "maps").open())
        fds = len(os.listdir(me / "fd"))
        max_maps = int(Path("/proc/sys/vm/max_map_count").read_text())
        soft = hard = 0
        for line in (me / "limits").read_text().splitlines():
            if line.startswith("Max open files"):
                parts = line.split()
                soft, hard = (int(p) if p.isdigit() else 0 for p in parts[3:5])
    except (OSError, ValueError, IndexError):
        return
    minflt, cminflt, majflt, cmajflt = (int(stat[i]) for i in (7, 8, 9, 10))
    for name, text, value in (
        ("process_threads", "count of active threads", threads),
        ("process_open_mmaps", "count of open mmaps", maps),
        ("system_max_mmaps", "system wide limit of open mmaps", max_maps),
        ("process_open_fds", "count of currently open file descriptors", fds),
        (
            "process_max_fds",
            "limit for open file descriptors",
            min(x for x in (soft, hard) if x) if soft or hard else 0,
        ),
    ):
        w.family(name, text)
        w.sample(value)
    w.add(
        _counter(
            "process_minor_page_faults",
            "count of minor page faults which didn't cause a disk access",
            minflt + cminflt,
        )
    )
    w.add(
        _counter(
            "process_major_page_faults",
            "count of disk accesses caused by a mmap page fault",
            majflt + cmajflt,
        )
    )


def _counter(name: str, text: str, value: float) -> Metric:
    family = CounterMetricFamily(name, text, labels=[])
    family.add_metric([], value)
    return family


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


def render(
    state: ServerState,
    metrics: Metrics,
    api_version: str,
    crewchief_version: str,
    *,
    per_collection: bool = False,
) -> bytes:
    """The Prometheus text exposition: Qdrant's families in Qdrant's order, then crewchief's."""
    w = FamilyWriter()
    write_engine_state(w, state.engine, api_version)
    names = list(state.engine.infos)
    _render_snapshots(w, names)
    w.add(_snapshot_counter(names, metrics))
    for family in metrics.requests.families(per_collection):
        w.add(family)
    _proc_families(w)
    w.family("crewchief_info", "the crewchief release serving this API", ("version",))
    w.sample(1, crewchief_version)
    if state.repo_url:
        _render_backups(w, state.backups)
    return exposition(w.families, None)
