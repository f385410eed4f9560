"""The `crewchief` command.  Each command parses, calls one library function and renders.

Exit codes (stable; see docs/cli.md):
    0   success                  1   warnings (status) / unexpected failure (traceback)
    2   critical (status)        64  invalid input
    65  corrupt snapshot or data 66  not found
    69  refused by a safety net  70  engine failure
    73  already exists           74  backup storage failed (I/O)
    75  data directory in use by another process
"""

from __future__ import annotations

from pathlib import Path

import typer

from crewchief import __version__
from crewchief.cli import alias, backup, deploy, migrate, snapshot, status
from crewchief.cli.common import friendly_errors, out
from crewchief.cli.dashboard import dashboard as dashboard_cmd
from crewchief.cli.serve import serve

app = typer.Typer(
    name="crewchief",
    help="The pit crew for Qdrant vector databases: health, aliases, deploys, snapshots.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("status")(status.status)
app.command("metrics")(status.metrics)
app.add_typer(alias.app, name="alias")
app.command("deploy")(deploy.deploy)
app.command("gc")(deploy.gc)
app.add_typer(snapshot.app, name="snapshot")
app.command("optimize")(snapshot.optimize)
app.add_typer(backup.app, name="backup")
app.command("migrate")(migrate.migrate)
app.command("dashboard")(friendly_errors(dashboard_cmd))


@app.command()
def version() -> None:
    """Print crewchief's version."""
    out.print(f"crewchief {__version__}")


@app.command()
@friendly_errors
def demo(
    data: Path = typer.Option(
        Path("./crewchief-demo"), "--data", help="Data directory for the demo's collections."
    ),
    points: int = typer.Option(3000, "--points", min=10, help="Points per collection."),
) -> None:
    """Run the lesson end to end on the embedded engine: inspect, alias switch, snapshot."""
    from crewchief.demo import run_demo

    run_demo(data, n=points, say=lambda line: out.print(line, highlight=False))


app.command("serve")(friendly_errors(serve))


if __name__ == "__main__":
    app()
