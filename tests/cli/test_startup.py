"""The command starts fast: help and version import none of the heavy stacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("qdrant_client", "qdrant_edge", "pyarrow", "boto3", "numpy", "starlette", "uvicorn")
PROBE = """
import json, runpy, sys
heavy = json.loads(sys.argv[2])
sys.argv = ["crewchief", *json.loads(sys.argv[1])]
try:
    runpy.run_module("crewchief.cli.main", run_name="__main__")
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


@pytest.mark.parametrize(
    "args", [["--help"], ["version"], ["backup", "--help"], ["backup", "create", "--help"]]
)
def test_help_and_version_import_no_heavy_module(args: list[str]) -> None:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert "Usage" in run.stdout or "crewchief 0" in run.stdout
    assert json.loads(lines[-1]) == []


def test_the_lazy_names_are_the_real_ones() -> None:
    """The CLI's copy of the default target and `crewchief.Engine` resolve as before."""
    import crewchief
    from crewchief.cli import common
    from crewchief.engine import Engine
    from crewchief.target import DEFAULT_TARGET

    assert common.DEFAULT_TARGET == DEFAULT_TARGET
    assert crewchief.Engine is Engine
    with pytest.raises(AttributeError):
        _ = crewchief.NoSuchThing  # type: ignore[attr-defined]
    assert common.lazy("crewchief.backup.policy", "Policy")(last=1).last == 1
