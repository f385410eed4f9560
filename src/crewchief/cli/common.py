"""What every command shares: target options, error handling, JSON output."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:
    from crewchief.target import Target

DEFAULT_TARGET = "./crewchief-data"  # crewchief.target.DEFAULT_TARGET (tests/cli checks)

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])


class lazy:  # noqa: N801 - stands in for a module or a class, so lower case
    """A module (or one of its attributes) imported on first use, not at start-up.

    `crewchief --help` and `crewchief version` must not pay for qdrant_client,
    pyarrow, boto3 or the server stack, so command modules name what they use
    through this (and import the real names under TYPE_CHECKING for mypy).
    """

    def __init__(self, module: str, attr: str | None = None) -> None:
        self._where = (module, attr)

    def _target(self) -> Any:
        module, attr = self._where
        found = importlib.import_module(module)
        return found if attr is None else getattr(found, attr)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._target()(*args, **kwargs)


TargetOpt = typer.Option(
    DEFAULT_TARGET,
    "--target",
    "-t",
    envvar="CREWCHIEF_TARGET",
    help="A data directory (embedded engine), an http(s):// Qdrant URL or grpc://host:6334.",
)
ApiKeyOpt = typer.Option(
    None, "--api-key", envvar="QDRANT_API_KEY", help="API key for a Qdrant server."
)
JsonOpt = typer.Option(False, "--json", help="Print JSON instead of a table.")
DryRunOpt = typer.Option(False, "--dry-run", help="Print the plan; change nothing.")


def friendly_errors(fn: F) -> F:
    """Expected failures print one line and a hint and exit with their code."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            from crewchief.target import as_crewchief_error

            error = as_crewchief_error(exc)
            if error is None:
                raise
            err.print(f"[red]error:[/] {error.message}", highlight=False, markup=True)
            if error.hint:
                err.print(f"[dim]hint:[/] {error.hint}", highlight=False)
            sys.exit(error.exit_code)

    return wrapper  # type: ignore[return-value]


def connect(target: str, api_key: str | None, create: bool = False) -> Target:
    from crewchief.target import open_target

    return open_target(target, api_key, create=create)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


STATUS_STYLE = {"green": "green", "yellow": "yellow", "grey": "bright_black", "red": "red"}


def badge(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, 'white')}]● {status}[/]"


def print_plan(plan: Any, as_json: bool) -> None:
    """A plan's numbered steps (or its JSON): what --dry-run shows."""
    if as_json:
        print_json(plan.to_json())
        return
    for n, step in enumerate(plan.steps, 1):
        out.print(f"{n}. {step}", highlight=False)


@contextmanager
def progress_bars(disable: bool = False) -> Iterator[Callable[[str, int, int], None]]:
    """A `progress(step, done, total)` callback drawing one bar per step on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err, disable=disable) as bar:
        tasks: dict[str, Any] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total or None)
            bar.update(tasks[step], completed=done, total=total or None)

        yield progress
