"""The lesson, written with plain qdrant-client, runs unchanged against `crewchief serve`,
and against a real Qdrant server when QDRANT_REAL_URL names one (there is none here):

    QDRANT_REAL_URL=http://localhost:6333 .venv/bin/python -m pytest tests/server/test_example.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.serverproc import ServerProcess

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "admin_ops.py"
REAL_QDRANT = os.environ.get("QDRANT_REAL_URL", "")


def run_example(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QDRANT_URL": url, "PYTHONWARNINGS": "error::UserWarning"}
    env.pop("QDRANT_API_KEY", None)
    return subprocess.run(
        [sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=120
    )


def check_runs_twice(url: str) -> None:
    for _ in range(2):  # and can be run again: it cleans up after itself
        done = run_example(url)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "FAIL" not in done.stdout
        assert "the alias now searches v2" in done.stdout
        assert "Done: observed, switched without downtime, backed up." in done.stdout
        assert "Warning" not in done.stderr


def test_admin_ops_lesson_runs_against_the_server(server: ServerProcess) -> None:
    check_runs_twice(server.url)


@pytest.mark.skipif(
    not REAL_QDRANT,
    reason="set QDRANT_REAL_URL to a Qdrant server (no Qdrant binary on this machine)",
)
def test_admin_ops_lesson_runs_against_real_qdrant() -> None:
    """The same lesson and checks against Qdrant itself (one without an API key, of a
    version qdrant-client accepts).  It replaces my_app_v1, my_app_v2 and
    production_alias there and leaves them, with a snapshot of my_app_v2."""
    check_runs_twice(REAL_QDRANT)
