"""`crewchief migrate`: move collections between an embedded directory and a server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from crewchief.cli.common import (
    ApiKeyOpt,
    DryRunOpt,
    JsonOpt,
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
    from crewchief.ops import migrate as ops
else:
    ops = lazy("crewchief.ops.migrate")


@friendly_errors
def migrate(
    source: str = typer.Option(
        ..., "--from", help="Move from here: a data directory or an http(s):// Qdrant URL."
    ),
    destination: str = typer.Option(
        ..., "--to", help="Move to here: a data directory or an http(s):// Qdrant URL."
    ),
    collections: str = typer.Option(
        None, "--collections", help="Comma-separated collections or aliases (default: all)."
    ),
    with_aliases: bool = typer.Option(
        False, "--with-aliases", help="Set the source's aliases of these collections too."
    ),
    force: bool = typer.Option(
        False, "--force", help="Re-point destination aliases that point elsewhere."
    ),
    batch_size: int = typer.Option(256, "--batch-size", help="Points per copy batch."),
    api_key: str = ApiKeyOpt,
    to_api_key: str = typer.Option(
        None, "--to-api-key", help="API key for the destination (default: --api-key)."
    ),
    dry_run: bool = DryRunOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Copy collections (config, payload indexes, points) to another target; resumable."""
    if ops.same_place(source, destination):
        raise InvalidInput("--from and --to are the same target", hint="Name two targets")
    names = [n.strip() for n in collections.split(",") if n.strip()] if collections else None
    with (
        connect(source, api_key) as src,
        connect(destination, to_api_key or api_key, create=True) as dst,
    ):
        plan = ops.plan_migrate(src, dst, names, with_aliases, force)
        if dry_run:
            print_plan(plan, as_json)
            return
        with progress_bars(disable=as_json) as progress:
            result = ops.execute(src, dst, plan, batch_size=batch_size, progress=progress)
    if as_json:
        print_json(result.to_json())
        return
    for move in plan.collections:
        out.print(
            f"[green]{move.action}d[/] `{move.name}`: copied {result.copied[move.name]} points "
            f"({result.skipped[move.name]} already there)",
            highlight=False,
        )
    for alias in plan.aliases:
        out.print(f"alias `{alias.alias}` -> `{alias.collection}`", highlight=False)
    if not plan.collections:
        out.print("nothing to migrate")
