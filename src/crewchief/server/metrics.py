"""`/metrics` in Prometheus text format, and the request counters behind it.

Names follow Qdrant's own `/metrics` where Qdrant has them (`collections_total`,
`collection_points`, `collection_vectors`, `collection_running_optimizations`,
`snapshot_created_total`, `rest_responses_total`,
`rest_responses_duration_seconds`); what Qdrant lacks is prefixed `crewchief_`
(collection status, optimizer state, alias targets, last snapshot time).
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crewchief.backup.repository import Repository
from crewchief.backup.state import BackupState, job_failing, read_backup_state
from crewchief.errors import CrewchiefError, NotFound

BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STATUSES = ("green", "yellow", "grey", "red")


class Metrics:
    """Counters the server keeps itself (the engine knows nothing of HTTP)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.responses: dict[tuple[str, str, int], int] = defaultdict(int)
        self.durations: dict[tuple[str, str], list[int]] = {}
        self.duration_sums: dict[tuple[str, str], float] = defaultdict(float)
        self.snapshots_created = 0

    def observe(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        with self._lock:
            self.responses[(method, endpoint, status)] += 1
            counts = self.durations.setdefault((method, endpoint), [0] * (len(BUCKETS) + 1))
            counts[bisect.bisect_left(BUCKETS, seconds)] += 1
            self.duration_sums[(method, endpoint)] += seconds

    def snapshot_created(self, collection: str | None) -> None:
        with self._lock:
            self.snapshots_created += 1


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


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: object) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, metric: str, value: float, /, **labels: object) -> None:
        number = int(value) if float(value).is_integer() else value
        self.lines.append(f"{metric}{_labels(**labels)} {number}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


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
    w.family("crewchief_backup_repository_up", "gauge", "1 if the backup repository was readable")
    w.sample("crewchief_backup_repository_up", 0 if backups is None else 1)
    if backups is None:
        return
    w.family(
        "crewchief_last_backup_timestamp_seconds", "gauge", "creation time of the newest backup"
    )
    for coll, (_id, created) in sorted(backups.newest.items()):
        w.sample(
            "crewchief_last_backup_timestamp_seconds",
            round(created.timestamp(), 3),
            collection=coll,
        )
    w.family(
        "crewchief_backup_verified",
        "gauge",
        "1 verified ok, 0 verification failed, -1 never verified (newest backup)",
    )
    for coll, (backup_id, _created) in sorted(backups.newest.items()):
        record = backups.verify.get(backup_id)
        w.sample(
            "crewchief_backup_verified",
            -1 if record is None else int(record["ok"]),
            collection=coll,
        )
    w.family(
        "crewchief_backup_job_last_success_timestamp_seconds",
        "gauge",
        "time of the last successful run of a scheduled backup action",
    )
    w.family(
        "crewchief_backup_job_last_failure_timestamp_seconds",
        "gauge",
        "time of the last failed run of a scheduled backup job",
    )
    w.family("crewchief_backup_job_failing", "gauge", "1 if the job's latest run failed")
    for job, record in sorted(backups.jobs.items()):
        for action, when in sorted(record.get("last_success", {}).items()):
            w.sample(
                "crewchief_backup_job_last_success_timestamp_seconds",
                round(datetime.fromisoformat(when).timestamp(), 3),
                job=job,
                action=action,
            )
        if record.get("last_failure"):
            when = datetime.fromisoformat(record["last_failure"]["time"]).timestamp()
            w.sample("crewchief_backup_job_last_failure_timestamp_seconds", round(when, 3), job=job)
        w.sample("crewchief_backup_job_failing", int(job_failing(record) is not None), job=job)


def _render_collections(w: _Writer, infos: dict[str, Any]) -> None:
    w.family("collections_total", "gauge", "number of collections")
    w.sample("collections_total", len(infos))
    w.family("collection_points", "gauge", "approximate number of points in the collection")
    for name, info in infos.items():
        w.sample("collection_points", info.points_count or 0, collection=name)
    w.family("collection_vectors", "gauge", "approximate number of vectors by vector name")
    for name, info in infos.items():
        for vector in _vector_names(info):
            w.sample("collection_vectors", info.points_count or 0, collection=name, vector=vector)
    w.family("collection_running_optimizations", "gauge", "optimizations running now")
    for name, info in infos.items():
        running = 1 if str(getattr(info.status, "value", info.status)) == "yellow" else 0
        w.sample("collection_running_optimizations", running, collection=name)
    w.family("crewchief_collection_status", "gauge", "1 for the collection's current status")
    for name, info in infos.items():
        current = str(getattr(info.status, "value", info.status))
        for status in STATUSES:
            w.sample(
                "crewchief_collection_status",
                int(status == current),
                collection=name,
                status=status,
            )
    w.family("crewchief_collection_optimizer_ok", "gauge", "1 when the optimizer reports ok")
    for name, info in infos.items():
        optimizer_ok = str(getattr(info.optimizer_status, "value", info.optimizer_status)) == "ok"
        w.sample("crewchief_collection_optimizer_ok", int(optimizer_ok), collection=name)


def _render_requests(w: _Writer, metrics: Metrics) -> None:
    with metrics._lock:
        responses = dict(metrics.responses)
        durations = {k: list(v) for k, v in metrics.durations.items()}
        sums = dict(metrics.duration_sums)
        created = metrics.snapshots_created
    w.family("snapshot_created_total", "counter", "snapshots created through this server")
    w.sample("snapshot_created_total", created)
    w.family("rest_responses_total", "counter", "REST responses by route and status")
    for (method, endpoint, status), count in sorted(responses.items()):
        w.sample("rest_responses_total", count, method=method, endpoint=endpoint, status=status)
    w.family("rest_responses_duration_seconds", "histogram", "REST response time")
    for (method, endpoint), counts in sorted(durations.items()):
        total = 0
        for bound, count in zip((*BUCKETS, float("inf")), counts, strict=True):
            total += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            w.sample(
                "rest_responses_duration_seconds_bucket",
                total,
                method=method,
                endpoint=endpoint,
                le=le,
            )
        w.sample(
            "rest_responses_duration_seconds_sum",
            round(sums[(method, endpoint)], 6),
            method=method,
            endpoint=endpoint,
        )
        w.sample("rest_responses_duration_seconds_count", total, method=method, endpoint=endpoint)


def render(state: dict[str, Any], metrics: Metrics, version: str) -> str:
    w = _Writer()
    w.family("app_info", "gauge", "information about the server")
    w.sample("app_info", 1, name="crewchief", version=version)
    _render_collections(w, state["infos"])
    w.family("crewchief_alias_target", "gauge", "1 for each alias and the collection it names")
    for alias, collection in sorted(state["aliases"]):
        w.sample("crewchief_alias_target", 1, alias=alias, collection=collection)
    w.family(
        "crewchief_last_snapshot_timestamp_seconds", "gauge", "creation time of the newest snapshot"
    )
    for name, when in sorted(state["last_snapshot"].items()):
        w.sample("crewchief_last_snapshot_timestamp_seconds", round(when, 3), collection=name)
    if "backups" in state:
        _render_backups(w, state["backups"])
    _render_requests(w, metrics)
    return w.text()
