"""`crewchief alias ...`: list, set (compare-and-set), delete, rename, history, rollback.

Every command that changes an alias makes a plan first: `--dry-run` prints it,
`--json` prints {"plan": ..., "executed": ..., "changes": [...]}.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

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
)

if TYPE_CHECKING:
    from crewchief.core.aliases import AliasChange
    from crewchief.ops import aliases as ops
    from crewchief.ops.aliases import SwitchPlan
    from crewchief.target import Target
else:
    ops = lazy("crewchief.ops.aliases")

app = typer.Typer(help="Aliases: where the app's names point, how they moved, and undo.")


def _changes(changes: list[AliasChange], as_json: bool) -> None:
    if as_json:
        print_json([asdict(c) for c in changes])
        return
    table = Table()
    for col in ("time", "alias", "from", "to", "op"):
        table.add_column(col)
    for c in changes:
        table.add_row(c.time, c.alias, c.old or "-", c.new or "-", c.op)
    out.print(table)


def _apply(
    tgt: Target,
    plan: Any,
    execute: Callable[[Target, Any], list[AliasChange]],
    done: str,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Print the plan (--dry-run), or execute it and say `done`."""
    if dry_run:
        if as_json:
            print_json({"plan": plan.to_json(), "executed": False})
        else:
            for reason in plan.reasons:
                out.print(f"would: {reason}")
        return
    changes = execute(tgt, plan)
    if as_json:
        print_json(
            {"plan": plan.to_json(), "executed": True, "changes": [asdict(c) for c in changes]}
        )
    else:
        out.print(done)


def _switch(plan: SwitchPlan, dry_run: bool, as_json: bool, tgt: Target) -> None:
    if plan.changes_nothing:
        done = f"`{plan.alias}` already points at `{plan.new}`: nothing to do"
    else:
        done = "\n".join(
            [f"[green]switched[/] `{plan.alias}`: {plan.current or 'unset'} -> `{plan.new}`"]
            + [f"[yellow]forced past:[/] {why}" for why in plan.forced]
        )
    _apply(tgt, plan, ops.execute_switch, done, dry_run, as_json)


@app.command("list")
@friendly_errors
def list_(target: str = TargetOpt, api_key: str = ApiKeyOpt, as_json: bool = JsonOpt) -> None:
    """Every alias and the collection it points at."""
    with connect(target, api_key) as tgt:
        aliases = tgt.aliases()
    if as_json:
        print_json(aliases)
        return
    table = Table()
    table.add_column("alias")
    table.add_column("collection")
    for a, c in sorted(aliases.items()):
        table.add_row(a, c)
    out.print(table)


@app.command("set")
@friendly_errors
def set_(
    alias: str,
    collection: str,
    expect: str = typer.Option(
        None, "--expect", help="Refuse unless the alias points here now ('-' = unset)."
    ),
    force: bool = typer.Option(False, "--force", help="Allow an empty or red collection."),
    target: str = TargetOpt,
    api_key: str = ApiKeyOpt,
    dry_run: bool = DryRunOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Point ALIAS at COLLECTION in one atomic request."""
    with connect(target, api_key) as tgt:
        kwargs = {} if expect is None else {"expect": None if expect == "-" else expect}
        plan = ops.plan_switch(tgt, alias, collection, force=force, **kwargs)
        _switch(plan, dry_run, as_json, tgt)


@app.command()
@friendly_errors
def rollback(
    alias: str,
    to: str = typer.Option(None, "--to", help="Collection to go back to (default: previous)."),
    force: bool = typer.Option(False, "--force", help="Allow an empty or red collection."),
    target: str = TargetOpt,
    api_key: str = ApiKeyOpt,
    dry_run: bool = DryRunOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Point ALIAS back where it was before its last move (a new history entry)."""
    with connect(target, api_key) as tgt:
        _switch(ops.plan_rollback(tgt, alias, to=to, force=force), dry_run, as_json, tgt)


@app.command()
@friendly_errors
def history(
    alias: str = typer.Argument(None, help="Only this alias."),
    target: str = TargetOpt,
    api_key: str = ApiKeyOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Every recorded alias change, oldest first."""
    with connect(target, api_key) as tgt:
        _changes(tgt.alias_history(alias), as_json)


@app.command()
@friendly_errors
def delete(
    alias: str,
    target: str = TargetOpt,
    api_key: str = ApiKeyOpt,
    dry_run: bool = DryRunOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Delete ALIAS (the collection stays); refused if it moved since the plan."""
    with connect(target, api_key) as tgt:
        plan = ops.plan_delete(tgt, alias)
        done = f"[green]deleted[/] `{alias}` (pointed at `{plan.current}`; the collection stays)"
        _apply(tgt, plan, ops.execute_delete, done, dry_run, as_json)


@app.command()
@friendly_errors
def rename(
    old: str,
    new: str,
    target: str = TargetOpt,
    api_key: str = ApiKeyOpt,
    dry_run: bool = DryRunOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Rename alias OLD to NEW (same target); refused if NEW names an alias or collection."""
    with connect(target, api_key) as tgt:
        plan = ops.plan_rename(tgt, old, new)
        done = f"[green]renamed[/] `{old}` -> `{new}` (points at `{plan.collection}`)"
        _apply(tgt, plan, ops.execute_rename, done, dry_run, as_json)
