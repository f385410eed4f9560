"""Move collections between two targets (embedded <-> server), resumably.

    plan_migrate()  which collections are created or resumed, with how many points,
                    and which aliases will be set (printed by --dry-run)
    execute()       create with the source's config -> payload indexes -> copy the
                    points (ops.copy, resumable) -> index -> set aliases (compare-and-set)

A collection is recreated "like that one" by the config helpers of
`crewchief.core.collection_config`; the portable backup format uses the same ones,
so a migrated and a restored collection come out configured alike.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qdrant_client import models

from crewchief.core.aliases import create_op
from crewchief.core.collection_config import (
    check_fits,
    config_json,
    ensure_collection,
    ensure_payload_indexes,
    payload_schema_json,
)
from crewchief.errors import CollectionNotFound, InvalidInput, Refused
from crewchief.ops.copy import Progress, copy_points
from crewchief.target import Target


@dataclass
class CollectionMove:
    name: str
    action: str  # "create" | "resume"
    source_points: int
    destination_points: int
    vectors: dict[str, Any]
    payload_indexes: list[str]
    sparse_vectors: dict[str, Any] = field(default_factory=dict)


@dataclass
class AliasMove:
    alias: str
    collection: str
    current: str | None  # where it points on the destination now
    action: str  # "create" | "keep" | "move"


@dataclass
class MigratePlan:
    source: str
    destination: str
    collections: list[CollectionMove] = field(default_factory=list)
    aliases: list[AliasMove] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MigrateResult:
    plan: MigratePlan
    copied: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    indexes_created: dict[str, list[str]] = field(default_factory=dict)
    aliases_set: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def same_place(a: str, b: str) -> bool:
    """Whether two target specs name the same place (checked before opening both)."""
    if a.startswith(("http://", "https://")) or b.startswith(("http://", "https://")):
        return a.rstrip("/") == b.rstrip("/")
    return Path(a).resolve() == Path(b).resolve()


def _chosen(src: Target, names: list[str] | None) -> list[str]:
    existing, aliases = src.collection_names(), src.aliases()
    out: list[str] = []
    for name in names if names is not None else existing:
        real = name if name in existing else aliases.get(name)
        if real is None:
            raise CollectionNotFound(name)
        if real not in out:
            out.append(real)
    return out


def plan_migrate(
    src: Target,
    dst: Target,
    collections: list[str] | None = None,
    with_aliases: bool = False,
    force: bool = False,
) -> MigratePlan:
    """Decide what to move; raise before anything changes if it would clash."""
    if (src.kind, src.location) == (dst.kind, dst.location):  # e.g. a dir and its server
        raise InvalidInput(f"Source and destination are both {src.location}")
    plan = MigratePlan(source=src.location, destination=dst.location)
    dst_names, dst_aliases = set(dst.collection_names()), dst.aliases()
    for name in _chosen(src, collections):
        info = src.client.get_collection(name)
        config = config_json(info.config)
        if name in dst_aliases:
            raise Refused(
                f"`{name}` is an alias on the destination", hint="Delete or rename it first"
            )
        resume = name in dst_names
        if resume:
            check_fits(dst.client, name, config)
        have = dst.client.count(name, exact=True).count if resume else 0
        move = CollectionMove(
            name=name,
            action="resume" if resume else "create",
            source_points=src.client.count(name, exact=True).count,
            destination_points=have,
            vectors=config["params"].get("vectors") or {},
            payload_indexes=sorted(payload_schema_json(info.payload_schema)),
            sparse_vectors=config["params"].get("sparse_vectors") or {},
        )
        plan.collections.append(move)
        plan.steps.append(
            f"resume `{name}` ({have} of {move.source_points} points already there)"
            if resume
            else f"create `{name}` ({move.source_points} points) with the source's config"
        )
    moved = {m.name for m in plan.collections}
    for alias, target in sorted(src.aliases().items()) if with_aliases else []:
        if target not in moved:
            continue
        current = dst_aliases.get(alias)
        action = "keep" if current == target else "create" if current is None else "move"
        if alias in dst_names:
            raise Refused(f"`{alias}` is a collection on the destination, not an alias")
        if action == "move" and not force:
            raise Refused(
                f"Alias `{alias}` on the destination points at `{current}`, not `{target}`",
                hint="Pass --force to re-point it, or leave out --with-aliases",
            )
        plan.aliases.append(AliasMove(alias, target, current, action))
        plan.steps.append(
            f"alias `{alias}` -> `{target}`"
            + {"keep": " (already set)", "create": "", "move": f" (was `{current}`)"}[action]
        )
    if not plan.steps:
        plan.steps.append("nothing to migrate: the source has no collections")
    return plan


def execute(
    src: Target,
    dst: Target,
    plan: MigratePlan,
    batch_size: int = 256,
    progress: Progress = lambda step, done, total: None,
) -> MigrateResult:
    """Carry out `plan`; running it again after an interruption continues."""
    result = MigrateResult(plan=plan)
    start = time.monotonic()
    for move in plan.collections:
        info = src.client.get_collection(move.name)
        ensure_collection(dst.client, move.name, config_json(info.config))
        schema = payload_schema_json(info.payload_schema)
        result.indexes_created[move.name] = ensure_payload_indexes(dst.client, move.name, schema)
        stats = copy_points(
            src.client,
            move.name,
            dst.client,
            move.name,
            batch_size=batch_size,
            progress=progress,
            step=f"copy {move.name}",
        )
        result.copied[move.name], result.skipped[move.name] = stats.copied, stats.skipped
        if dst.client.get_collection(move.name).status == models.CollectionStatus.GREY:
            dst.optimize(move.name)  # build the index now rather than on first use
    changes = [a for a in plan.aliases if a.action != "keep"]
    if changes:
        dst.update_aliases(
            [create_op(a.alias, a.collection) for a in changes],
            expect={a.alias: a.current for a in changes},
        )
        result.aliases_set = [a.alias for a in changes]
    result.seconds = round(time.monotonic() - start, 3)
    return result
