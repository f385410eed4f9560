"""The docs tell the truth about the command line: every command is documented."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from crewchief.cli.main import app

ROOT = Path(__file__).resolve().parent.parent


def _commands(typer_app: typer.Typer, prefix: str = "") -> list[str]:
    names = [prefix + (c.name or c.callback.__name__) for c in typer_app.registered_commands]  # type: ignore[union-attr]
    for group in typer_app.registered_groups:
        assert group.typer_instance is not None
        names += _commands(group.typer_instance, prefix + f"{group.name} ")
    return names


def test_every_command_is_in_the_cli_docs() -> None:
    text = (ROOT / "docs" / "cli.md").read_text() + (ROOT / "docs" / "operations.md").read_text()
    lines = text.splitlines()
    missing = []
    for name in _commands(app):
        *group, leaf = name.split()
        prefix = "crewchief " + " ".join(group)
        documented = any(
            f"crewchief {name}" in line or (group and prefix in line and leaf in line.split())
            for line in lines
        )
        if not documented:
            missing.append(name)
    assert not missing, f"undocumented commands: {missing}"


def test_readme_quick_start_is_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"^```\w*\n(.*?)^```", section, re.DOTALL | re.MULTILINE)
    assert block, "the quick start has no code block"
    commands = [line.split("#", 1)[0].strip() for line in block[1].splitlines()]
    assert [c for c in commands if c] == ["make demo", "make test"]
