"""What a standalone Qdrant answers about its cluster, optimizations, issues and quotas.

crewchief serve is one node with one shard (id 0) per collection, always active,
so it answers these routes as a standalone Qdrant 1.19 does:

- `GET /cluster`: `{"status": "disabled"}`; operations that need consensus
  (`POST /cluster/recover`, `DELETE /cluster/peer/{id}`, the cluster metadata keys)
  answer 405 `Qdrant is running in standalone mode`, as Qdrant does;
- `GET /collections/{name}/cluster`: shard 0, local, `Active`, with its points;
  `POST` there (move, replicate, abort transfers, shard keys...) is refused 400:
  there is no other peer or shard to move anything to;
- `GET /collections/{name}/optimizations`: the background index build
  (`engine/collection.py`) as Qdrant's `indexing` optimizer: running, queued (status
  grey), the last completed one, and the idle segments (`?with=`);
- `GET`/`DELETE /issues`: Qdrant's issue report; crewchief reports a collection that
  is red (a failed index build or load) as an issue, until it is healthy again;
- `GET /quotas`: quotas off (crewchief enforces none) and this node's usage;
  `PUT /quotas` honours `enabled: false` and refuses to enable them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qdrant_client.http import models
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crewchief.engine import Engine
from crewchief.engine.collection import Collection
from crewchief.server.bodies import ApiError
from crewchief.server.dispatch import call, engine_of
from crewchief.server.envelope import ok, parse_body, query_int

STANDALONE = "Qdrant is running in standalone mode"


def peer_id(engine: Engine) -> int:
    """A stable id for this node (Qdrant keeps a random one), from the data directory."""
    digest = hashlib.sha256(str(engine.path.resolve()).encode()).digest()
    return int.from_bytes(digest[:7], "big")


def _name(request: Request) -> str:
    return str(request.path_params["collection_name"])


async def cluster_status(request: Request) -> Response:
    return ok(request, {"status": "disabled"})


async def standalone_only(request: Request) -> Response:
    raise ApiError(405, STANDALONE)


def cluster_info(engine: Engine, info: models.CollectionInfo) -> dict[str, Any]:
    """A collection's `CollectionClusterInfo` on this node (REST and gRPC answer it)."""
    shard = {"shard_id": 0, "points_count": info.points_count or 0, "state": "Active"}
    return {
        "peer_id": peer_id(engine),
        "shard_count": 1,
        "local_shards": [shard],
        "remote_shards": [],
        "shard_transfers": [],
    }


async def collection_cluster(request: Request) -> Response:
    engine = engine_of(request)
    info = await call(engine.get_collection, _name(request))
    return ok(request, cluster_info(engine, info))


async def update_collection_cluster(request: Request) -> Response:
    await call(engine_of(request).get_collection, _name(request))  # 404 first
    await parse_body(request, models.ClusterOperations)
    raise ApiError(
        400,
        "Bad request: crewchief serve is one node with one shard (0) per collection: "
        "there is no other peer or shard to move, replicate or key",
    )


# -- optimizations -----------------------------------------------------------------------------


def _build_id(col: Collection, started: float) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"crewchief:{col.name}:{started}"))


def _when(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts is not None else None


def optimizations_of(col: Collection, wanted: set[str], completed_limit: int | None) -> Any:
    """`OptimizationsResponse` for a collection, from its builder's state (read only)."""
    points = col.counts()[0] if col.load_error is None else 0
    segment_ids = col.segment_ids()
    # Edge does not report points per segment: exact for the usual single segment
    segments = [
        {"uuid": sid, "points_count": points if i == 0 else 0} for i, sid in enumerate(segment_ids)
    ]
    record = col.last_build
    running, completed, queued = [], [], []
    if col.building and record is not None:
        running.append(
            {
                "uuid": _build_id(col, record.started),
                "optimizer": "indexing",
                "status": "optimizing",
                "segments": segments,
                "progress": {"name": "Segment Optimizing", "started_at": _when(record.started)},
            }
        )
    elif col.needs_index():
        queued.append({"optimizer": "indexing", "segments": segments})
    if record is not None and record.finished is not None:
        status: Any = "done" if record.error is None else {"error": record.error}
        completed.append(
            {
                "uuid": _build_id(col, record.started),
                "optimizer": "indexing",
                "status": status,
                "segments": segments,
                "progress": {
                    "name": "Segment Optimizing",
                    "started_at": _when(record.started),
                    "finished_at": _when(record.finished),
                    "duration_sec": record.finished - record.started,
                },
            }
        )
    busy = running or queued
    idle = [] if busy else segments
    result: dict[str, Any] = {
        "summary": {
            "queued_optimizations": len(queued),
            "queued_segments": len(segments) if queued else 0,
            "queued_points": points if queued else 0,
            "idle_segments": len(idle),
        },
        "running": running,
    }
    if "queued" in wanted:
        result["queued"] = queued
    if "completed" in wanted:
        result["completed"] = completed[:completed_limit] if completed_limit else completed
    if "idle_segments" in wanted:
        result["idle_segments"] = idle
    return models.OptimizationsResponse.model_validate(result)


_WITH = ("queued", "completed", "idle_segments")


async def optimizations(request: Request) -> Response:
    raw = request.query_params.get("with") or ""
    wanted = {part.strip() for part in raw.split(",") if part.strip()}
    unknown = wanted.difference(_WITH)
    if unknown:
        raise ApiError(
            400,
            f"Bad request: unknown `with` value(s): {', '.join(sorted(unknown))} "
            f"(expected: {', '.join(_WITH)})",
        )
    limit = query_int(request, "completed_limit", minimum=0)
    engine = engine_of(request)
    col = await call(engine.collection, _name(request))
    return ok(request, await call(optimizations_of, col, wanted, limit))


# -- issues ------------------------------------------------------------------------------------


def collect_issues(engine: Engine, dismissed: dict[str, str]) -> list[dict[str, Any]]:
    """Red collections (failed index build or load), unless dismissed with the same error."""
    found = []
    for description in engine.get_collections().collections:
        try:
            col = engine.collection(description.name)
        except Exception:  # deleted while we looked
            continue
        status, error = col.status()
        if status != models.CollectionStatus.RED or error is None:
            dismissed.pop(col.name, None)
            continue
        if dismissed.get(col.name) == error:
            continue
        found.append(
            {
                "id": f"COLLECTION_RED/{col.name}",
                "description": f"Collection `{col.name}` is red: {error}",
                "solution": {
                    "immediate_choice": [
                        {
                            "message": "Rebuild its index, or recover it from a snapshot",
                            "action": {
                                "method": "POST",
                                "uri": f"/crewchief/collections/{col.name}/optimize",
                            },
                        }
                    ]
                },
                "timestamp": datetime.now(UTC).isoformat(),
                "related_collection": col.name,
            }
        )
    return found


def _dismissed(request: Request) -> dict[str, str]:
    state = request.app.state
    if not hasattr(state, "dismissed_issues"):
        state.dismissed_issues = {}
    found: dict[str, str] = state.dismissed_issues
    return found


async def get_issues(request: Request) -> Response:
    issues = await call(collect_issues, engine_of(request), _dismissed(request))
    return ok(request, {"issues": issues})


async def clear_issues(request: Request) -> Response:
    """Qdrant forgets the issues it reported; a collection still red is reported again
    only when its error changes (a new failed build), as Qdrant re-reports new ones."""
    engine, dismissed = engine_of(request), _dismissed(request)
    for issue in await call(collect_issues, engine, dismissed):
        col = await call(engine.collection, issue["related_collection"])
        _status, error = col.status()
        if error is not None:
            dismissed[col.name] = error
    return ok(request, True)


# -- quotas ------------------------------------------------------------------------------------


def quota_usage(data_dir: Path) -> dict[str, int | None]:
    """This node's resident memory and disk use, in percent (None where unknown)."""
    memory: int | None = None
    try:
        resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
        total = os.sysconf("SC_PHYS_PAGES")
        memory = min(100, round(100 * resident_pages / total)) if total > 0 else None
    except (OSError, ValueError, IndexError):
        pass
    disk = shutil.disk_usage(data_dir)
    return {
        "resident_memory_percent": memory,
        "disk_usage_percent": min(100, round(100 * disk.used / disk.total)) if disk.total else None,
    }


async def get_quotas(request: Request) -> Response:
    usage = await call(quota_usage, engine_of(request).path)
    return ok(request, {"config": {"enabled": False}, "usage": usage})


async def update_quotas(request: Request) -> Response:
    """Quotas off is honoured (it is what crewchief does); enabling them is refused."""
    config: models.QuotaConfig = await parse_body(request, models.QuotaConfig)
    if config.enabled:
        raise ApiError(
            400,
            "Bad request: crewchief serve enforces no resource quotas: "
            "watch memory and disk with /metrics (process_*, crewchief_*) instead",
        )
    return ok(request, True)


routes = [
    Route("/cluster", cluster_status, methods=["GET"]),
    Route("/cluster/recover", standalone_only, methods=["POST"]),
    Route("/cluster/peer/{peer_id}", standalone_only, methods=["DELETE"]),
    Route("/cluster/telemetry", standalone_only, methods=["GET"]),
    Route("/cluster/metadata/keys", standalone_only, methods=["GET"]),
    Route("/cluster/metadata/keys/{key}", standalone_only, methods=["GET", "PUT", "DELETE"]),
    Route("/collections/{collection_name}/cluster", collection_cluster, methods=["GET"]),
    Route("/collections/{collection_name}/cluster", update_collection_cluster, methods=["POST"]),
    Route("/collections/{collection_name}/optimizations", optimizations, methods=["GET"]),
    Route("/issues", get_issues, methods=["GET"]),
    Route("/issues", clear_issues, methods=["DELETE"]),
    Route("/quotas", get_quotas, methods=["GET"]),
    Route("/quotas", update_quotas, methods=["PUT"]),
]
