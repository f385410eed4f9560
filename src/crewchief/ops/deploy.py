"""Blue-green deploy: build NEW beside the live version, check it, switch the alias.

    plan_deploy()  what will happen and why (printed by --dry-run)
    execute()      create -> copy (resumable, optional re-embedding) -> wait until
                   green -> gates -> compare-and-set switch -> keep the last N versions

Every vector kind is copied unchanged (named and unnamed dense, multi-vectors,
sparse) with the source's whole config (core.collection_config).  Config changes,
re-embedding and the plain-vector query gates apply to one dense vector: the unnamed
one, the only dense single vector, or the one `ConfigChanges.using` names; a gate line
may also be any Query API body (ops/gates.py).

A failed gate raises `GateFailed` naming the gate and the figures, with the
result so far (`switched` false); the alias is untouched.  Copying is
resumable: points already in NEW are skipped, so running the same deploy again
after an interruption continues where it stopped.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qdrant_client import models

from crewchief.core.collection_config import (
    config_json,
    create_kwargs,
    ensure_payload_indexes,
    payload_schema_json,
)
from crewchief.core.vectors import UNNAMED, dense_vectors
from crewchief.errors import CollectionNotFound, InvalidInput, Refused
from crewchief.ops.aliases import SwitchPlan, execute_switch, plan_switch
from crewchief.ops.copy import EmbedFn, Progress, copy_points
from crewchief.ops.gates import Gate, is_plain, read_queries, run_gates
from crewchief.ops.gc import GcPlan, execute_gc, plan_gc
from crewchief.ops.versions import parse_version
from crewchief.target import Target


class GateFailed(Refused):
    """A deploy gate failed; the alias was not touched.  `result`: what was measured."""

    result: DeployResult | None = None


# --quantization values -> the new collection's quantization config ("none": without)
QUANTIZATIONS: dict[str, models.QuantizationConfig | None] = {
    "scalar": models.ScalarQuantization(
        scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8)
    ),
    "binary": models.BinaryQuantization(binary=models.BinaryQuantizationConfig()),
    "none": None,
}


@dataclass
class ConfigChanges:
    """What NEW changes relative to SOURCE's config."""

    distance: models.Distance | None = None
    vector_size: int | None = None  # only with an embed function
    hnsw_m: int | None = None
    hnsw_ef_construct: int | None = None
    quantization: str | None = None  # a key of QUANTIZATIONS; None: as the source
    using: str | None = None  # the dense vector changed, re-embedded and gated (named ones)


@dataclass
class DeployPlan:
    alias: str
    source: str
    new: str
    current: str | None
    new_exists: bool
    source_points: int
    copied_already: int
    vectors: dict[str, Any]  # the new `params.vectors` (one unnamed vector, or by name)
    hnsw: dict[str, Any]
    quantization: str | None
    embed: str | None
    queries: str | None
    keep: int
    steps: list[str] = field(default_factory=list)
    using: str | None = None  # the dense vector changed, re-embedded and gated; None: unnamed
    sparse_vectors: dict[str, Any] = field(default_factory=dict)  # copied unchanged

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DeployResult:
    plan: DeployPlan
    copied: int = 0
    skipped: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    gates: list[Gate] = field(default_factory=list)
    switch: dict[str, Any] | None = None
    gc: dict[str, Any] | None = None
    deleted: list[str] = field(default_factory=list)
    switched: bool = False
    switched_at: float | None = None  # epoch seconds, taken as soon as the switch answered

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_embed(spec: str) -> EmbedFn:
    """`package.module:function` -> the function (payloads -> vectors)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise InvalidInput(f"--embed {spec!r} is not module:function", hint="e.g. myapp.emb:embed")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise InvalidInput(
            f"Cannot load --embed {spec}: {exc}", hint="Is it on PYTHONPATH?"
        ) from exc
    if not callable(fn):
        raise InvalidInput(f"--embed {spec} is not callable")
    return fn


def resolve_using(config: models.CollectionConfig, using: str | None, needed: bool) -> str | None:
    """The dense vector a deploy changes and gates ("" for the unnamed one); None when the
    deploy needs none (everything copied unchanged, count gate only)."""
    dense = dense_vectors(config)
    single = sorted(n for n, p in dense.items() if p.multivector_config is None)
    hint = "Name a dense single vector: --using NAME (ConfigChanges(using=NAME))" + (
        f" (one of {', '.join(single)})" if single else ""
    )
    if using is not None:
        if using in dense and using not in single:
            raise InvalidInput(
                f"`{using}` holds multi-vectors: deploy gates and re-embeds one vector a point",
                hint=hint,
            )
        if using not in single:
            raise InvalidInput(f"The source has no dense vector named `{using}`", hint=hint)
        return using
    if UNNAMED in single:
        return UNNAMED
    if len(single) == 1:
        return single[0]
    if not needed:
        return None
    if not single:
        raise InvalidInput(
            "The source has no dense single vector (sparse or multi-vectors only): "
            "there is none to re-embed, change or compare",
            hint="Deploy without --embed, --queries, --distance and --vector-size: "
            "every vector is then copied unchanged",
        )
    raise InvalidInput(
        f"The source has several dense vectors ({', '.join(single)}): "
        "say which one to re-embed, change or compare",
        hint=hint,
    )


def _new_vectors(
    source: models.CollectionConfig, ch: ConfigChanges, using: str | None
) -> dict[str, Any]:
    """The source's `params.vectors`, with the changes applied to the `using` vector."""
    vectors: dict[str, Any] = dict(config_json(source)["params"].get("vectors") or {})
    if using is None:
        return vectors
    if using == UNNAMED and isinstance(vectors.get("size"), int):
        changed = vectors = dict(vectors)
    else:
        changed = vectors[using] = dict(vectors[using])
    if ch.vector_size:
        changed["size"] = ch.vector_size
    if ch.distance:
        changed["distance"] = models.Distance(ch.distance).value
    return vectors


def plan_deploy(
    target: Target,
    alias: str,
    new: str,
    source: str | None = None,
    changes: ConfigChanges | None = None,
    embed: str | None = None,
    queries: Path | None = None,
    keep: int = 2,
) -> DeployPlan:
    changes = changes or ConfigChanges()
    if changes.quantization is not None and changes.quantization not in QUANTIZATIONS:
        raise InvalidInput(
            f"--quantization {changes.quantization!r} is not supported",
            hint=f"Use one of: {', '.join(QUANTIZATIONS)} (or leave it out: as the source)",
        )
    current = target.aliases().get(alias)
    source = source or current
    if source is None:
        raise InvalidInput(
            f"Alias `{alias}` does not exist, so there is no source to deploy from",
            hint=f"Name one: crewchief deploy {alias} --from COLLECTION --to {new}",
        )
    names = target.collection_names()
    if source not in names:
        raise CollectionNotFound(source)
    if new == source:
        raise InvalidInput("--to must differ from --from", hint="Deploy into a new version name")
    if changes.vector_size and not embed:
        raise InvalidInput(
            "Changing the vector size needs new vectors",
            hint="Pass --embed module:function to re-embed every point",
        )
    src_info = target.client.get_collection(source)
    # a plain --queries line is a vector for the deploy's dense vector; a Query API line
    # names its own (`using`), so a sparse-only collection can be gated on those
    plain = queries is not None and any(map(is_plain, read_queries(queries, bool(embed))))
    needed = bool(changes.vector_size or changes.distance or embed or plain)
    using = resolve_using(src_info.config, changes.using, needed)
    vectors = _new_vectors(src_info.config, changes, using)
    hnsw = src_info.config.hnsw_config.model_dump(exclude_none=True)
    hnsw.update(
        {k: v for k, v in (("m", changes.hnsw_m), ("ef_construct", changes.hnsw_ef_construct)) if v}
    )
    quant = changes.quantization
    new_exists = new in names
    copied = target.client.count(new, exact=True).count if new_exists else 0
    source_points = target.client.count(source, exact=True).count
    plan = DeployPlan(
        alias=alias,
        source=source,
        new=new,
        current=current,
        new_exists=new_exists,
        source_points=source_points,
        copied_already=copied,
        vectors=vectors,
        hnsw=hnsw,
        quantization=quant,
        embed=embed,
        queries=str(queries) if queries else None,
        keep=keep,
        using=using or None,
        sparse_vectors=config_json(src_info.config)["params"].get("sparse_vectors") or {},
    )
    sparse = f", sparse {sorted(plan.sparse_vectors)}" if plan.sparse_vectors else ""
    plan.steps = [
        f"resume `{new}` ({copied} of {source_points} points already there)"
        if new_exists
        else f"create `{new}`: {plan.vectors}{sparse}, hnsw {hnsw}, "
        f"quantization {quant or 'as source'}",
        f"copy {source_points - copied} points from `{source}`"
        + (f", re-embedding payloads with {embed}" if embed else "")
        + (f" into `{using}`" if embed and using else ""),
        f"create the payload indexes of `{source}` that `{new}` lacks",
        f"wait until `{new}` is green (index built)",
        "gate: point count parity with the source",
    ]
    if queries:
        plan.steps.append(
            f"gates: overlap@k with `{source}` and recall@k vs exact search ({queries})"
            + (f" on `{using}`" if using else "")
        )
    plan.steps.append(f"switch `{alias}`: {current or 'unset'} -> `{new}` (compare-and-set)")
    base = parse_version(new)
    plan.steps.append(
        f"keep the {keep} newest versions of `{base[0]}`, delete older ones no alias points at"
        if base
        else f"no retention: `{new}` has no version suffix"
    )
    return plan


def _create_new(target: Target, plan: DeployPlan) -> None:
    """Create NEW like the source (with the plan's changes) and its payload indexes."""
    info = target.client.get_collection(plan.source)
    if not plan.new_exists:
        _create(target, plan, info.config)
    ensure_payload_indexes(target.client, plan.new, payload_schema_json(info.payload_schema))


def _create(target: Target, plan: DeployPlan, config: models.CollectionConfig) -> None:
    src = config_json(config)
    src["params"]["vectors"] = plan.vectors
    src["hnsw_config"] = plan.hnsw
    kwargs = create_kwargs(src)  # sparse vectors, strict mode, metadata... as the source
    if plan.quantization is not None:
        kwargs["quantization_config"] = QUANTIZATIONS[plan.quantization]
    target.client.create_collection(plan.new, **kwargs)


def _wait_green(target: Target, name: str, timeout: float, progress: Progress) -> None:
    target.optimize(name)
    deadline = time.monotonic() + timeout
    while True:
        info = target.client.get_collection(name)
        if info.status == models.CollectionStatus.GREEN:
            return
        if info.status == models.CollectionStatus.RED:
            raise GateFailed(
                f"`{name}` turned red while indexing: {info.optimizer_status}",
                hint="The alias was not touched; see crewchief status",
            )
        if time.monotonic() > deadline:
            raise GateFailed(
                f"`{name}` is still {info.status.value} after {timeout:.0f} s",
                hint="The alias was not touched; raise --wait-timeout or try again later",
            )
        progress("index", info.indexed_vectors_count or 0, info.points_count or 0)
        time.sleep(0.2)


def execute(
    target: Target,
    plan: DeployPlan,
    batch_size: int = 256,
    k: int = 10,
    min_overlap: float = 0.5,
    min_recall: float = 0.9,
    wait_timeout: float = 600.0,
    progress: Progress = lambda step, done, total: None,
) -> DeployResult:
    result = DeployResult(plan=plan)
    embed = load_embed(plan.embed) if plan.embed else None
    queries = read_queries(Path(plan.queries), embed is not None) if plan.queries else None
    clock = time.monotonic()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.monotonic()
        result.seconds[step] = round(now - clock, 3)
        clock = now

    _create_new(target, plan)
    stats = copy_points(
        target.client,
        plan.source,
        target.client,
        plan.new,
        embed,
        batch_size,
        progress,
        using=plan.using,
    )
    result.copied, result.skipped = stats.copied, stats.skipped
    lap("copy")
    try:
        _wait_green(target, plan.new, wait_timeout, progress)
        lap("index")
        result.gates = run_gates(target, plan, embed, queries, k, min_overlap, min_recall)
        lap("gates")
        failed = [g for g in result.gates if not g.passed]
        if failed:
            detail = "; ".join(
                f"{g.name} = {g.value:.4g} (needs {g.threshold:.4g}): {g.detail}" for g in failed
            )
            raise GateFailed(
                f"Deploy stopped before the switch, `{plan.alias}` untouched. Failed: {detail}",
                hint=f"Inspect `{plan.new}`, then re-run the deploy (copying resumes)",
            )
    except GateFailed as exc:
        exc.result = result
        raise
    switch: SwitchPlan = plan_switch(target, plan.alias, plan.new, expect=plan.current)
    execute_switch(target, switch)
    result.switched, result.switched_at = True, time.time()
    result.switch = switch.to_json()
    lap("switch")
    base = parse_version(plan.new)
    if base:
        gc_plan: GcPlan = plan_gc(target.collection_names(), target.aliases(), plan.keep, base[0])
        result.gc = gc_plan.to_json()
        result.deleted = execute_gc(target, gc_plan)
    return result
