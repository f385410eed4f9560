"""The lesson, written with plain qdrant-client, runs unchanged against `crewchief serve`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.server.serverproc import ServerProcess

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "admin_ops.py"


def run_example(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QDRANT_URL": url, "PYTHONWARNINGS": "error::UserWarning"}
    env.pop("QDRANT_API_KEY", None)
    return subprocess.run(
        [sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=120
    )


def test_admin_ops_lesson_runs_against_the_server(server: ServerProcess) -> None:
    for _ in range(2):  # and can be run again: it cleans up after itself
        done = run_example(server.url)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "FAIL" not in done.stdout
        assert "the alias now searches v2" in done.stdout
        assert "Done: observed, switched without downtime, backed up." in done.stdout
        assert "Warning" not in done.stderr
