"""`crewchief status [COLLECTION]`: health indicators, exit 0 / 1 / 2; `crewchief metrics`."""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from typing import TYPE_CHECKING

import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from crewchief.cli.common import (
    ApiKeyOpt,
    JsonOpt,
    TargetOpt,
    badge,
    connect,
    friendly_errors,
    lazy,
    out,
    print_json,
)
from crewchief.errors import InvalidInput

if TYPE_CHECKING:
    from crewchief.backup.repository import Repository
    from crewchief.backup.state import read_backup_state
    from crewchief.ops.health import HealthPolicy, HealthReport, assess, gather
else:
    Repository = lazy("crewchief.backup.repository", "Repository")
    read_backup_state = lazy("crewchief.backup.state", "read_backup_state")
    HealthPolicy = lazy("crewchief.ops.health", "HealthPolicy")
    assess = lazy("crewchief.ops.health", "assess")
    gather = lazy("crewchief.ops.health", "gather")


def render(report: HealthReport) -> Group:
    title = Text.from_markup(
        f"{badge(report.status)}  {report.kind} target {report.location}  "
        f"[dim]checked {report.checked_at}[/]"
    )
    table = Table(show_lines=False)
    for col in ("status", "indicator", "subject", "symptom", "action"):
        table.add_column(col)
    for i in report.indicators:
        table.add_row(badge(i.status), i.name, i.subject, i.symptom, i.action or "")
    return Group(title, table)


@friendly_errors
def status(
    collection: str = typer.Argument(None, help="Only this collection (or alias)."),
    target: str = TargetOpt,
    api_key: str = ApiKeyOpt,
    as_json: bool = JsonOpt,
    watch: bool = typer.Option(False, "--watch", help="Refresh until interrupted."),
    interval: float = typer.Option(2.0, "--interval", help="Seconds between refreshes."),
    rpo_hours: float = typer.Option(24.0, "--rpo-hours", help="Max snapshot age (RPO)."),
    max_segments: int = typer.Option(32, "--max-segments", help="Warn above this many."),
    repo: str = typer.Option(
        None, "--repo", envvar="CREWCHIEF_REPO", help="Also check backups in this repository."
    ),
) -> None:
    """Health of every collection and alias.  Exit 0 all green, 1 warnings, 2 critical."""
    if watch and as_json:
        raise InvalidInput(
            "--watch draws a live table; it cannot be combined with --json",
            hint="For JSON over time, run `crewchief status --json` repeatedly (cron, watch)",
        )
    policy = HealthPolicy(rpo=timedelta(hours=rpo_hours), max_segments=max_segments)
    with connect(target, api_key) as tgt:

        def check() -> HealthReport:
            backups = read_backup_state(Repository.open(repo)) if repo else None
            return assess(gather(tgt, collection, backups), policy)

        report = check()
        if watch:
            with Live(render(report), console=out, refresh_per_second=4) as live:
                try:
                    while True:
                        time.sleep(interval)
                        report = check()
                        live.update(render(report))
                except KeyboardInterrupt:
                    pass
        elif as_json:
            print_json(report.to_json())
        else:
            out.print(render(report))
    sys.exit(report.exit_code)


@friendly_errors
def metrics(target: str = TargetOpt, api_key: str = ApiKeyOpt) -> None:
    """The target's metrics in Prometheus text format (e.g. for a textfile collector).

    A server's own /metrics; for a data directory, the same text `crewchief serve`
    would render for it, without the server's request counters."""
    with connect(target, api_key) as tgt:
        text = tgt.metrics()
    sys.stdout.write(text)
