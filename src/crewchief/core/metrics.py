"""Collections, aliases and snapshots as Prometheus text (prometheus_client).

What `/metrics` says about the data, gathered through the QdrantClient API:
`crewchief serve` renders it and adds its request counters and backups
(`crewchief.server.metrics`); `crewchief metrics` on a data directory renders it
alone (`EmbeddedTarget.metrics`).

Names follow Qdrant's own `/metrics` where Qdrant has them (`collections_total`,
`collection_points`, `collection_vectors`, `collection_running_optimizations`);
what Qdrant lacks is prefixed `crewchief_` (collection status, optimizer state,
indexed vectors, alias targets, last snapshot time).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
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
        self.families: list[GaugeMetricFamily] = []

    def family(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> None:
        self.families.append(GaugeMetricFamily(name, help_text, labels=list(labels)))

    def sample(self, value: float, *labels: object) -> None:
        self.families[-1].add_metric([str(v) for v in labels], value)


def write_engine_state(w: FamilyWriter, state: EngineState, version: str) -> None:
    w.family("app_info", "information about the server", ("name", "version"))
    w.sample(1, "crewchief", version)
    _write_collections(w, state.infos)
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


def exposition(families: list[GaugeMetricFamily], counters: CollectorRegistry | None) -> bytes:
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
    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self.families
