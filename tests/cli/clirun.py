"""Run the real `crewchief` command in a subprocess, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# where the command finds its target and key unless told: the tests say it themselves
TARGET_ENV = ("CREWCHIEF_TARGET", "QDRANT_API_KEY")


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in TARGET_ENV}
    return subprocess.run(
        [sys.executable, "-m", "crewchief.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, **(env or {})},
        cwd=cwd,
    )
