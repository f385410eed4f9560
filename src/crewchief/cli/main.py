"""The `crewchief` command.  Each command parses, calls one library function and renders.

Exit codes (stable; see docs/cli.md):
    0   success
    1   unexpected failure (a bug: a traceback is printed)
    64  invalid input            65  corrupt snapshot or data
    66  not found                70  engine failure
    73  already exists           75  data directory in use by another process
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from crewchief import __version__
from crewchief.errors import CrewchiefError

app = typer.Typer(
    name="crewchief",
    help="The pit crew for Qdrant vector databases: health, aliases, snapshots.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(fn: F) -> F:
    """Expected failures print one line and a hint and exit with their code."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CrewchiefError as exc:
            err.print(f"[red]error:[/] {exc.message}", highlight=False)
            if exc.hint:
                err.print(f"[dim]hint:[/] {exc.hint}", highlight=False)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


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


def _register_serve() -> None:
    try:
        from crewchief.cli.serve import serve
    except ImportError:  # pragma: no cover - the server package is optional at import time
        return
    app.command("serve")(friendly_errors(serve))


_register_serve()


if __name__ == "__main__":
    app()
