"""`/telemetry` as Qdrant 1.19 shapes it, by `details_level`, from what the engine knows.

    level 0   id, app, collections.number_of_collections, cluster, requests, quota
    level 1   + memory, hardware, search_pool; per collection: vectors, optimizer status, params
    level 2   per collection: id, init_time_ms, config
    level 3   + shards (shard 0: local, Active), transfers, resharding
    level 4+  + each shard's segments

`requests` is the server's own statistics (`server.metrics.RequestStats`).  Numbers
Edge does not report are estimated from the shard's files on disk (vector and
payload sizes) or, where a single-node engine knows them, stated as they are (no
transfers, no update queue, one active replica).  Points per segment are exact for
a shard of one segment, Edge's usual layout; with more, all are reported on the first.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from qdrant_client.http import models

from crewchief.core.vectors import dense_vectors
from crewchief.engine import Engine
from crewchief.engine.collection import Collection
from crewchief.errors import NotFound
from crewchief.server.metrics import Metrics


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", exclude_none=True)


def _folder_bytes(folder: Path) -> int:
    if not folder.exists():
        return 0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def memory() -> dict[str, int]:
    """Qdrant reports jemalloc's counters; here: the process's own, from /proc."""
    fields: dict[str, int] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmSize", "RssAnon"):
                fields[key] = int(value.split()[0]) * 1024
    except (OSError, ValueError):
        pass
    anon = fields.get("RssAnon", 0)
    return {
        "active_bytes": anon,
        "allocated_bytes": anon,
        "metadata_bytes": 0,
        "resident_bytes": fields.get("VmRSS", 0),
        "retained_bytes": fields.get("VmSize", 0),
    }


def _segments(col: Collection, info: models.CollectionInfo) -> list[dict[str, Any]]:
    points = info.points_count or 0
    names = sorted(dense_vectors(info.config))
    out = []
    for i, sid in enumerate(col.segment_ids()):
        folder = col.shard_dir / "segments" / sid
        try:
            config = json.loads((folder / "segment.json").read_text()).get("config", {})
        except (OSError, ValueError):
            config = {}
        here = points if i == 0 else 0
        indexed = (info.indexed_vectors_count or 0) if i == 0 else 0
        out.append(
            {
                "info": {
                    "uuid": sid,
                    "segment_type": "indexed" if indexed else "plain",
                    "num_vectors": here * len(names),
                    "num_points": here,
                    "num_indexed_vectors": indexed,
                    "num_deleted_vectors": 0,
                    "vectors_size_bytes": _folder_bytes(folder / "vector_storage"),
                    "payloads_size_bytes": _folder_bytes(folder / "payload_storage"),
                    "ram_usage_bytes": 0,
                    "disk_usage_bytes": _folder_bytes(folder),
                    "is_appendable": not indexed,
                    "index_schema": _dump(info)["payload_schema"],
                    "vector_data": {},
                },
                "config": config,
                "vector_index_searches": [],
                "payload_field_indices": [],
            }
        )
    return out


def _local_shard(col: Collection, info: models.CollectionInfo, level: int) -> dict[str, Any]:
    points = info.points_count or 0
    names = sorted(dense_vectors(info.config))
    record = col.last_build
    builds = 0 if record is None or record.finished is None else 1
    folder = col.shard_dir / "segments"
    local: dict[str, Any] = {
        "variant_name": "local",
        "status": info.status.value,
        "total_optimized_points": points if builds and record and not record.error else 0,
        "vectors_size_bytes": sum(_folder_bytes(p / "vector_storage") for p in folder.glob("*")),
        "payloads_size_bytes": sum(_folder_bytes(p / "payload_storage") for p in folder.glob("*")),
        "num_points": points,
        "num_vectors": points * len(names),
        "num_vectors_by_name": {name: points for name in names},
        "optimizations": {
            "status": _dump(info)["optimizer_status"],
            "optimizations": {"count": builds},
            "log": [],
        },
        "async_scorer": False,
        "update_queue": {"length": 0},
    }
    if level >= 4:
        local["segments"] = _segments(col, info)
        local["indexed_only_excluded_vectors"] = {}
    return local


def _collection(engine: Engine, name: str, level: int, peer: int) -> dict[str, Any] | None:
    try:
        info = engine.get_collection(name)
        col = engine.collection(name)
    except NotFound:
        return None
    if level == 1:
        return {
            "vectors": (info.points_count or 0) * len(dense_vectors(info.config)),
            "optimizers_status": _dump(info)["optimizer_status"],
            "params": _dump(info.config.params),
        }
    entry: dict[str, Any] = {"id": name, "init_time_ms": 0, "config": _dump(info.config)}
    if level >= 3:
        entry["shards"] = [
            {
                "id": 0,
                "key": None,
                "local": _local_shard(col, info, level),
                "remote": [],
                "replicate_states": {str(peer): "Active"},
                "partial_snapshot": None,
            }
        ]
        entry["transfers"] = []
        entry["resharding"] = []
    return entry


def telemetry(
    engine: Engine,
    metrics: Metrics,
    *,
    instance_id: str,
    app: dict[str, Any],
    level: int,
    per_collection: bool,
    peer: int,
    threads: int,
) -> dict[str, Any]:
    """The whole `/telemetry` result (runs in the thread pool)."""
    names = [c.name for c in engine.get_collections().collections]
    collections: dict[str, Any] = {"number_of_collections": len(names)}
    data: dict[str, Any] = {"id": instance_id, "app": app, "collections": collections}
    if level >= 1:
        entries = [_collection(engine, name, level, peer) for name in names]
        collections["collections"] = [e for e in entries if e is not None]
        counts = metrics.requests.snapshots
        collections["snapshots"] = [
            {
                "id": name,
                "running_snapshots": 0,
                "running_snapshot_recovery": 0,
                "total_snapshot_creations": counts.get(name, 0),
            }
            for name in names
        ]
    data["cluster"] = {"enabled": False}
    data["requests"] = metrics.requests.telemetry(per_collection)
    if level >= 1:
        data["memory"] = memory()
        data["hardware"] = {"collection_data": {}}
        data["search_pool"] = {
            "mode": "high_cpu",
            "high_cpu_threads": threads,
            "high_io_threads": 0,
        }
    data["quota"] = {"config": {"enabled": False}, "exceeded": {}}
    return data


def startup_iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")
