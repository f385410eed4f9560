"""`crewchief deploy` (blue-green) and `crewchief gc` (old versions)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from crewchief.cli.common import (
    ApiKeyOpt,
    DryRunOpt,
    JsonOpt,
    TargetOpt,
    connect,
    friendly_errors,
    lazy,
    out,
    print_json,
    print_plan,
    progress_bars,
)
from crewchief.errors import InvalidInput

if TYPE_CHECKING:
    from qdrant_client import models

    from crewchief.ops import deploy as ops
    from crewchief.ops.gc import execute_gc, plan_gc
else:
    models = lazy("qdrant_client.models")
    ops = lazy("crewchief.ops.deploy")
    execute_gc = lazy("crewchief.ops.gc", "execute_gc")
    plan_gc = lazy("crewchief.ops.gc", "plan_gc")


@friendly_errors
def deploy(
    alias: str = typer.Argument(..., help="The alias the app uses, e.g. production_alias."),
    to: str = typer.Option(..., "--to", help="The new version to build, e.g. my_app_v2."),
    source: str = typer.Option(None, "--from", help="Copy from here (default: ALIAS's target)."),
    embed: str = typer.Option(
        None, "--embed", help="module:function re-embedding payloads -> vectors."
    ),
    vector_size: int = typer.Option(None, "--vector-size", help="New vector size (with --embed)."),
    distance: str = typer.Option(None, "--distance", help="Cosine, Dot, Euclid or Manhattan."),
    hnsw_m: int = typer.Option(None, "--hnsw-m", help="HNSW m for the new version."),
    hnsw_ef: int = typer.Option(None, "--hnsw-ef-construct", help="HNSW ef_construct."),
    quantization: str = typer.Option(
        None, "--quantization", help="'scalar' (int8), 'binary' or 'none' (default: as source)."
    ),
    queries: Path = typer.Option(None, "--queries", help="JSONL queries for the quality gates."),
    using: str = typer.Option(
        None, "--using", help="The dense vector changed, re-embedded and gated (named vectors)."
    ),
    k: int = typer.Option(10, "--k", help="k for overlap@k and recall@k."),
    min_overlap: float = typer.Option(0.5, "--min-overlap", help="Gate: overlap@k with source."),
    min_recall: float = typer.Option(0.9, "--min-recall", help="Gate: recall@k vs exact search."),
    keep: int = typer.Option(2, "--keep", help="Versions to keep after the switch."),
    batch_size: int = typer.Option(256, "--batch-size", help="Points per copy batch."),
    wait_timeout: float = typer.Option(600, "--wait-timeout", help="Seconds to wait for green."),
    target: str = TargetOpt,
    api_key: str = ApiKeyOpt,
    dry_run: bool = DryRunOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Build a new version beside the live one, check it, switch the alias, clean up.

    With --json a failed gate still prints the result (gates measured, switched: false)."""
    changes = ops.ConfigChanges(
        distance=_distance(distance) if distance else None,
        vector_size=vector_size,
        hnsw_m=hnsw_m,
        hnsw_ef_construct=hnsw_ef,
        quantization=quantization,
        using=using,
    )
    with connect(target, api_key) as tgt:
        plan = ops.plan_deploy(tgt, alias, to, source, changes, embed, queries, keep)
        if dry_run:
            print_plan(plan, as_json)
            return
        with progress_bars(disable=as_json) as progress:
            try:
                result = ops.execute(
                    tgt,
                    plan,
                    batch_size=batch_size,
                    k=k,
                    min_overlap=min_overlap,
                    min_recall=min_recall,
                    wait_timeout=wait_timeout,
                    progress=progress,
                )
            except ops.GateFailed as exc:
                if as_json and exc.result is not None:
                    print_json(exc.result.to_json())
                raise
    if as_json:
        print_json(result.to_json())
        return
    out.print(f"copied {result.copied} points ({result.skipped} already there)")
    for g in result.gates:
        out.print(f"[green]gate passed[/] {g.name} = {g.value:.4g} (needs {g.threshold:.4g})")
    out.print(f"[green]switched[/] `{alias}` -> `{to}` (was {plan.current or 'unset'})")
    for name in result.deleted:
        out.print(f"deleted old version `{name}`")


def _distance(name: str) -> models.Distance:
    try:
        return models.Distance(name)
    except ValueError:
        raise InvalidInput(
            f"--distance {name!r} is not a distance",
            hint=f"Use one of: {', '.join(d.value for d in models.Distance)}",
        ) from None


@friendly_errors
def gc(
    keep: int = typer.Option(..., "--keep", help="Newest versions to keep per family."),
    family: str = typer.Option(None, "--family", help="Only this family (e.g. my_app)."),
    target: str = TargetOpt,
    api_key: str = ApiKeyOpt,
    dry_run: bool = DryRunOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Delete old versions: never an alias target, never the newest of a family."""
    with connect(target, api_key) as tgt:
        plan = plan_gc(tgt.collection_names(), tgt.aliases(), keep, family)
        deleted = [] if dry_run else execute_gc(tgt, plan)
    if as_json:
        print_json({"plan": plan.to_json(), "deleted": deleted, "dry_run": dry_run})
        return
    for name, why in plan.keep.items():
        out.print(f"keep   {name}: {why}", highlight=False)
    verb = "would delete" if dry_run else "delete"
    for name, why in plan.delete.items():
        out.print(f"{verb} {name}: {why}", highlight=False)
    if not plan.delete:
        out.print("nothing to delete")
