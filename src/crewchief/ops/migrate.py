"""Move collections between two targets (embedded <-> server), resumably.

    plan_migrate()  which collections are created or resumed, with how many points,
                    and which aliases will be set (printed by --dry-run)
    execute()       create with the source's config -> payload indexes -> copy the
                    points (ops.copy, resumable) -> index -> set aliases (compare-and-set)

The config helpers at the top recreate a collection "like that one" from the JSON
form of its `CollectionConfig`; the portable backup format uses the same ones, so a
migrated and a restored collection come out configured alike.  They drop fields this
qdrant-client does not know, so a config written by a newer Qdrant still applies.
"""

from __future__ import annotations

import time
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from qdrant_client import models

from crewchief.core.client import QdrantAPI
from crewchief.errors import AlreadyExists, CollectionNotFound, InvalidInput, Refused
from crewchief.ops.aliases import create_op
from crewchief.ops.copy import Progress, copy_points
from crewchief.target import Target

M = TypeVar("M", bound=BaseModel)

# -- a collection's config, across targets and versions ------------------------------------------


def config_json(config: models.CollectionConfig) -> dict[str, Any]:
    return config.model_dump(mode="json", exclude_none=True)


def payload_schema_json(schema: dict[str, models.PayloadIndexInfo] | None) -> dict[str, Any]:
    """field -> the type name ("keyword"), or the index params when it has any."""
    out: dict[str, Any] = {}
    for name, info in sorted((schema or {}).items()):
        if info.params is not None:
            out[name] = info.params.model_dump(mode="json", exclude_none=True)
        else:
            out[name] = models.PayloadSchemaType(info.data_type).value
    return out


def _tolerant(cls: type[M], data: dict[str, Any]) -> M:
    """Validate `data` as `cls`, dropping fields this qdrant-client does not know."""
    kept: dict[str, Any] = {}
    for key, value in data.items():
        info = cls.model_fields.get(key)
        if info is None:
            continue
        subs = [a for a in typing.get_args(info.annotation) or (info.annotation,) if _is_model(a)]
        kept[key] = (
            _tolerant(subs[0], value) if len(subs) == 1 and isinstance(value, dict) else value
        )
    return cls.model_validate(kept)


def _is_model(a: Any) -> bool:
    return isinstance(a, type) and issubclass(a, BaseModel)


def _from_union(union: Any, data: dict[str, Any], what: str) -> Any:
    try:
        return TypeAdapter(union).validate_python(data)
    except ValidationError:
        pass
    for cls in (a for a in typing.get_args(union) if _is_model(a)):
        try:
            return _tolerant(cls, data)
        except ValidationError:
            continue
    raise InvalidInput(f"Cannot read {what} {data}", hint="Upgrade crewchief (qdrant-client)")


def field_schema(value: str | dict[str, Any]) -> Any:
    if isinstance(value, str):
        return models.PayloadSchemaType(value)
    return _from_union(models.PayloadSchemaParams, value, "payload index")


def create_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    """`create_collection` arguments for a collection configured like `config`.

    Shard and replica counts are left to the destination: they describe a deployment,
    not the data (the embedded engine has one of each)."""
    params = config.get("params", {})
    vectors = params["vectors"]
    kwargs: dict[str, Any] = {
        "vectors_config": _tolerant(models.VectorParams, vectors)
        if isinstance(vectors.get("size"), int)
        else {n: _tolerant(models.VectorParams, v) for n, v in vectors.items()}
    }
    if params.get("sparse_vectors"):
        kwargs["sparse_vectors_config"] = {
            n: _tolerant(models.SparseVectorParams, v) for n, v in params["sparse_vectors"].items()
        }
    if "on_disk_payload" in params:
        kwargs["on_disk_payload"] = params["on_disk_payload"]
    for key, arg, cls in (
        ("hnsw_config", "hnsw_config", models.HnswConfigDiff),
        ("optimizer_config", "optimizers_config", models.OptimizersConfigDiff),
        ("wal_config", "wal_config", models.WalConfigDiff),
    ):
        if config.get(key):
            kwargs[arg] = _tolerant(cls, config[key])
    if config.get("quantization_config"):
        kwargs["quantization_config"] = _from_union(
            models.QuantizationConfig, config["quantization_config"], "quantization config"
        )
    return kwargs


def vectors_signature(config: dict[str, Any]) -> dict[str, tuple[int, str]]:
    """Vector name ("" for the unnamed one) -> (size, distance): what points must fit."""
    vectors = config["params"]["vectors"]
    named = {"": vectors} if isinstance(vectors.get("size"), int) else vectors
    return {n: (int(p["size"]), str(p["distance"])) for n, p in named.items()}


def check_fits(client: QdrantAPI, name: str, config: dict[str, Any]) -> None:
    """An existing collection is resumed only if its vectors fit (same names, sizes and
    distances); anything else would mix two different collections."""
    have = vectors_signature(config_json(client.get_collection(name).config))
    if have != vectors_signature(config):
        raise AlreadyExists(
            f"`{name}` exists on the destination with other vectors ({have})",
            hint="Pick another name, or delete that collection first",
        )


def ensure_collection(client: QdrantAPI, name: str, config: dict[str, Any]) -> bool:
    """Create `name` configured like `config` unless it exists; True if created."""
    if client.collection_exists(name):
        check_fits(client, name, config)
        return False
    client.create_collection(name, **create_kwargs(config))
    return True


def ensure_payload_indexes(client: QdrantAPI, name: str, schema: dict[str, Any]) -> list[str]:
    """Create the payload indexes of `schema` that `name` lacks; return their fields."""
    have = client.get_collection(name).payload_schema or {}
    created = []
    for field_name, value in sorted(schema.items()):
        if field_name not in have:
            client.create_payload_index(name, field_name, field_schema=field_schema(value))
            created.append(field_name)
    return created


# -- plan and execute ------------------------------------------------------------------------------


@dataclass
class CollectionMove:
    name: str
    action: str  # "create" | "resume"
    source_points: int
    destination_points: int
    vectors: dict[str, Any]
    payload_indexes: list[str]


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
            vectors=config["params"]["vectors"],
            payload_indexes=sorted(payload_schema_json(info.payload_schema)),
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
