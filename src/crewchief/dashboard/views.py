"""What each page shows, read from the target through the ops layer (blocking calls).

Every function here takes a `Target`, so the same page works on the engine a
`crewchief serve` runs and on a remote Qdrant server; the results are plain
JSON-ready dicts the JavaScript renders as they are.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from qdrant_client import models

from crewchief.core.vectors import dense_vectors, sparse_vectors
from crewchief.dashboard.history import History
from crewchief.dashboard.repoview import RepoSummary, RepoView, age_seconds
from crewchief.ops.health import (
    CollectionFacts,
    HealthPolicy,
    Indicator,
    assess,
    gather,
    strict_limits,
)
from crewchief.target import Target

OVERVIEW_SERIES_POINTS = 60  # per card; the detail page gets the whole series


def _card(
    c: CollectionFacts,
    aliases: list[str],
    indicators: list[Indicator],
    now: datetime,
    last_backup: str | None,
) -> dict[str, Any]:
    last_snapshot = c.last_snapshot.isoformat() if c.last_snapshot else None
    return {
        "name": c.name,
        "status": c.status,
        "error": c.error,
        "points": c.points,
        "indexed": c.indexed,
        "vectors": c.vectors,
        "indexed_pct": c.indexed_pct,
        "segments": c.segments,
        "aliases": aliases,
        "last_snapshot": last_snapshot,
        "last_snapshot_age_s": age_seconds(last_snapshot, now),
        "last_backup": last_backup,
        "last_backup_age_s": age_seconds(last_backup, now),
        "indicators": [asdict(i) for i in indicators],
    }


def overview(
    target: Target, history: History, repo: RepoView | None, policy: HealthPolicy | None = None
) -> dict[str, Any]:
    """Every collection as a card: status, counts, ages, its indicators, a short series."""
    summary = repo.summary() if repo is not None else None
    backups = summary.backup_state() if summary is not None and not summary.error else None
    facts = gather(target, backups=backups)
    report = assess(facts, policy)
    by_alias: dict[str, list[str]] = {}
    for alias, coll in sorted(facts.aliases.items()):
        by_alias.setdefault(coll, []).append(alias)
    cards = []
    claimed: set[int] = set()
    for c in facts.collections:
        aliases = by_alias.get(c.name, [])
        subjects = {c.name, *aliases}
        mine = [i for i in report.indicators if i.subject in subjects]
        claimed.update(id(i) for i in mine)
        last_backup = summary.last_backup(c.name) if summary is not None else None
        card = _card(c, aliases, mine, facts.now, last_backup)
        card["history"] = history.series(c.name, OVERVIEW_SERIES_POINTS)
        cards.append(card)
    return {
        "target": {"kind": target.kind, "location": target.location},
        "checked_at": report.checked_at,
        "status": report.status,
        "collections": cards,
        # e.g. an alias pointing at a collection that is gone: no card to show it on
        "other_indicators": [asdict(i) for i in report.indicators if id(i) not in claimed],
        "repo": _repo_brief(summary),
    }


def _repo_brief(summary: RepoSummary | None) -> dict[str, Any] | None:
    if summary is None:
        return None
    last = summary.backups[-1] if summary.backups else None
    return {
        "url": summary.url,
        "error": summary.error,
        "backups": len(summary.backups),
        "last_backup": last["created"] if last else None,
        "last_verify_ok": (last.get("verify") or {}).get("ok") if last else None,
    }


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", exclude_none=True) if model is not None else None


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


def _vectors(config: models.CollectionConfig) -> list[dict[str, Any]]:
    """Every vector of the collection with its config, dense ones first ("" for the
    unnamed one), then sparse ones; `searchable` marks what the search tester can query
    (a dense single vector)."""
    out: list[dict[str, Any]] = []
    for n, v in sorted(dense_vectors(config).items()):
        multi = v.multivector_config
        out.append(
            {
                "name": n,
                "kind": "multi" if multi is not None else "dense",
                "size": v.size,
                "distance": _value(v.distance),
                "datatype": _value(v.datatype) or "float32",
                "multivector": _value(multi.comparator) if multi is not None else None,
                "on_disk": bool(v.on_disk),
                "hnsw": _dump(v.hnsw_config),
                "quantization": _dump(v.quantization_config),
                "searchable": multi is None,
            }
        )
    for n, sp in sorted(sparse_vectors(config).items()):
        index = sp.index
        out.append(
            {
                "name": n,
                "kind": "sparse",
                "modifier": _value(sp.modifier) or "none",
                "datatype": (_value(index.datatype) if index else None) or "float32",
                "on_disk": bool(index and index.on_disk),
                "searchable": False,
            }
        )
    return out


def collection_detail(target: Target, history: History, name: str) -> dict[str, Any]:
    info: models.CollectionInfo = target.client.get_collection(name)
    snapshots = target.client.list_snapshots(name)
    now = datetime.now(UTC)
    return {
        "name": name,
        "status": info.status.value,
        "points": info.points_count or 0,
        "indexed": info.indexed_vectors_count or 0,
        "segments": info.segments_count,
        "aliases": sorted(a for a, c in target.aliases().items() if c == name),
        "config": info.config.model_dump(mode="json", exclude_none=True),
        "payload_schema": {
            field: schema.model_dump(mode="json", exclude_none=True)
            for field, schema in (info.payload_schema or {}).items()
        },
        "vectors": _vectors(info.config),
        "quantization": _dump(info.config.quantization_config),
        "strict_mode": strict_limits(info.config),  # None: strict mode off
        "snapshots": [
            {
                "name": s.name,
                "created": s.creation_time,
                "age_s": age_seconds(s.creation_time, now),
                "size": s.size,
                "checksum": s.checksum,
            }
            for s in sorted(snapshots, key=lambda s: s.creation_time or "", reverse=True)
        ],
        "history": history.series(name),
    }


def aliases_view(target: Target) -> dict[str, Any]:
    """Where every alias points, and every change ever recorded (newest first)."""
    current = target.aliases()
    changes = target.alias_history()
    last_change: dict[str, str] = {}
    for change in changes:
        last_change[change.alias] = change.time
    return {
        "aliases": [
            {"alias": a, "collection": c, "since": last_change.get(a)}
            for a, c in sorted(current.items())
        ],
        "collections": target.collection_names(),
        "history": [asdict(c) for c in reversed(changes)],
    }


def backups_view(repo: RepoView | None) -> dict[str, Any]:
    if repo is None:
        return {"configured": False}
    return {"configured": True, **repo.summary(fresh=True).to_json()}
