"""Collections, aliases and snapshots as Prometheus text (prometheus_client).

What `/metrics` says about the data, gathered through the QdrantClient API:
`crewchief serve` renders it and adds its request counters and backups
(`crewchief.server.metrics`); `crewchief metrics` on a data directory renders it
alone (`EmbeddedTarget.metrics`).

Qdrant's own families come first, with Qdrant 1.19's names, types, HELP texts and
labels (`src/common/metrics.rs`: `collection_points{id="..."}`,
`collection_vectors{collection,vector}`, `collections_vector_total`, ...), so a
dashboard or alert written for Qdrant reads them unchanged; `app_info` says
`name="crewchief"` (and, from a server, the Qdrant API version it serves).  Values Qdrant has and a
single-node engine knows for certain (one active replica per shard, no transfers, no
update queue) are reported as they are.  What Qdrant lacks is prefixed `crewchief_`
(collection status, optimizer state, indexed vectors, alias targets, last snapshot
time) and labelled `collection`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from qdrant_client import models

from crewchief.core.client import QdrantAPI
from crewchief.core.vectors import dense_vectors
from crewchief.errors import NotFound

STATUSES = ("green", "yellow", "grey", "red")


@dataclass
class EngineState:
    """Everything the rendering needs, read in one go (in a server: in the thread pool)."""

    infos: dict[str, models.CollectionInfo]
    aliases: list[tuple[str, str]]  # (alias, collection)
    last_snapshot: dict[str, float]  # collection -> newest snapshot's creation time


def collect_engine_state(client: QdrantAPI) -> EngineState:
    infos: dict[str, models.CollectionInfo] = {}
    last_snapshot: dict[str, float] = {}
    for description in client.get_collections().collections:
        name = description.name
        try:
            infos[name] = client.get_collection(name)
            times = [_snapshot_time(s) for s in client.list_snapshots(name)]
        except NotFound:
            continue  # deleted while we looked
        known = [t for t in times if t is not None]
        if known:
            last_snapshot[name] = max(known)
    aliases = [(a.alias_name, a.collection_name) for a in client.get_aliases().aliases]
    return EngineState(infos=infos, aliases=aliases, last_snapshot=last_snapshot)


class FamilyWriter:
    """Gauge families built at scrape time: open a family, then add its samples."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def family(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> None:
        self.families.append(GaugeMetricFamily(name, help_text, labels=list(labels)))

    def add(self, family: Metric) -> None:
        """A family of another type (a counter, a histogram), built by the caller."""
        self.families.append(family)

    def sample(self, value: float, *labels: object) -> None:
        family = self.families[-1]
        assert isinstance(family, GaugeMetricFamily), "sample() follows family()"
        family.add_metric([str(v) for v in labels], value)


def write_engine_state(w: FamilyWriter, state: EngineState, version: str) -> None:
    """Every family the data itself tells (`version`: what `app_info` reports)."""
    w.family("app_info", "information about qdrant server", ("name", "version"))
    w.sample(1, "crewchief", version)
    w.family("app_status_recovery_mode", "features enabled in qdrant server")
    w.sample(0)
    _write_collections(w, state.infos)
    w.family("cluster_enabled", "is cluster support enabled")
    w.sample(0)
    _write_crewchief(w, state)


def _write_crewchief(w: FamilyWriter, state: EngineState) -> None:
    infos = state.infos
    w.family(
        "crewchief_collection_indexed_vectors",
        "vectors in the HNSW index (the rest are searched by brute force)",
        ("collection",),
    )
    for name, info in infos.items():
        w.sample(info.indexed_vectors_count or 0, name)
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
    w.family(
        "crewchief_alias_target",
        "1 for each alias and the collection it names",
        ("alias", "collection"),
    )
    for alias, collection in sorted(state.aliases):
        w.sample(1, alias, collection)
    w.family(
        "crewchief_last_snapshot_timestamp_seconds",
        "creation time of the newest snapshot",
        ("collection",),
    )
    for name, when in sorted(state.last_snapshot.items()):
        w.sample(when, name)


def exposition(families: list[Metric], counters: CollectorRegistry | None) -> bytes:
    """The text exposition of `families`, then of the `counters` registry (if any)."""
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Families(families))
    return generate_latest(scrape) + (generate_latest(counters) if counters is not None else b"")


def render_engine_state(state: EngineState, version: str) -> str:
    """The state alone, without a server's counters (`crewchief metrics DIR`)."""
    w = FamilyWriter()
    write_engine_state(w, state, version)
    return exposition(w.families, None).decode()


def _write_collections(w: FamilyWriter, infos: dict[str, models.CollectionInfo]) -> None:
    """Qdrant's collection families, in Qdrant's order (one shard, one replica each)."""
    w.family("collections_total", "number of collections")
    w.sample(len(infos))
    per_vector = [
        (name, vector, info.points_count or 0)
        for name, info in infos.items()
        for vector in _vector_names(info)
    ]
    w.family("collections_vector_total", "total number of vectors in all collections")
    w.sample(sum(count for _n, _v, count in per_vector))
    w.family(
        "collection_vectors", "amount of vectors grouped by vector name", ("collection", "vector")
    )
    for name, vector, count in per_vector:
        w.sample(count, name, vector)
    replicas = 1 if infos else 0
    w.family(
        "collection_active_replicas_min", "minimum number of active replicas across all shards"
    )
    w.sample(replicas)
    w.family(
        "collection_active_replicas_max", "maximum number of active replicas across all shards"
    )
    w.sample(replicas)
    w.family(
        "collection_running_optimizations",
        "number of currently running optimization tasks per collection",
        ("id",),
    )
    for name, info in infos.items():
        w.sample(1 if _value(info.status) == "yellow" else 0, name)
    w.family("collection_points", "approximate amount of points per collection", ("id",))
    for name, info in infos.items():
        w.sample(info.points_count or 0, name)
    w.family("collection_dead_replicas", "total amount of shard replicas in non-active state")
    w.sample(0)
    for family, help_text in _ZERO_PER_COLLECTION:
        w.family(family, help_text, ("id",))
        for name in infos:
            w.sample(0, name)


# Qdrant families that are always 0 on one node that applies updates as they arrive
_ZERO_PER_COLLECTION = (
    ("collection_shard_transfer_incoming", "incoming shard transfers currently running"),
    ("collection_shard_transfer_outgoing", "outgoing shard transfers currently running"),
    (
        "collection_update_queue_length",
        "number of pending operations in update queues per collection",
    ),
    (
        "collection_update_queue_deferred_points",
        "number of points currently hidden during read operations as they're not yet optimized",
    ),
)


def _vector_names(info: models.CollectionInfo) -> list[str]:
    return sorted(dense_vectors(info.config))


def _snapshot_time(snapshot: models.SnapshotDescription) -> float | None:
    raw = snapshot.creation_time
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(str(raw))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _value(x: object) -> str:
    return str(getattr(x, "value", x))


class _Families(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families
