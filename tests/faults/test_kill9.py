"""kill -9 of the engine owner during every operation that writes (see harness.py).

$CREWCHIEF_FAULT_TRIALS trials per operation (default 2, chained on one data
directory); `make faults` runs 50 or more with `python -m tests.faults.run`.
$CREWCHIEF_FAULT_SEED replays a run's random kill moments.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.harness import ROOT, run_and_kill, run_trial, trials_from_env
from tests.faults.scenarios import SCENARIOS


def seed() -> int:
    return int(os.environ.get("CREWCHIEF_FAULT_SEED", random.randrange(1 << 30)))


def status_cli(data: Path) -> tuple[int, dict[str, object], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "crewchief.cli.main", "status", "--json", "--target", str(data)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode, json.loads(proc.stdout or "{}"), proc.stderr


@pytest.mark.parametrize("op", list(SCENARIOS))
def test_kill_9_leaves_every_acknowledged_write_and_nothing_half_done(
    op: str, tmp_path: Path
) -> None:
    scenario = SCENARIOS[op](tmp_path)
    scenario.prepare()
    run_seed = seed()
    rng = random.Random(run_seed)
    results = [run_trial(scenario, trial, rng) for trial in range(trials_from_env())]
    failed = [r.to_json() for r in results if not r.ok]
    assert not failed, f"seed {run_seed}:\n" + json.dumps(failed, indent=1)
    assert sum(r.lost for r in results) == 0
    if op == "ingest":  # and the command itself, on what the last kill left
        code, report, stderr = status_cli(scenario.data)
        assert "Traceback" not in stderr
        assert code == report["exit_code"] in (0, 1), report
        indicators = report["indicators"]
        assert isinstance(indicators, list)
        assert {i["status"] for i in indicators if i["name"] == "status"} <= {"green", "grey"}


def test_builder_dies_with_a_parent_killed_while_it_starts(tmp_path: Path) -> None:
    run = run_and_kill("build", tmp_path / "data", {}, delay=0.2)
    assert run.orphans == []
