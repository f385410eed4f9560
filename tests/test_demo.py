"""The lesson demo, as a newcomer runs it: `crewchief demo`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crewchief.demo import run_demo


def test_demo_library_reports_what_it_saw(tmp_path: Path) -> None:
    lines: list[str] = []
    report = run_demo(tmp_path / "d", n=500, say=lines.append)
    assert report.points == 500 and report.vector_size == 384
    assert report.status == "green"
    assert report.alias_answers_from == ["my_app_v1", "my_app_v2", "my_app_v1"]
    assert Path(report.snapshot_path).is_file() and len(report.snapshot_checksum) == 64
    assert report.restored_count == 500
    assert any("Phase 4" in line for line in lines)


def test_demo_command_exits_zero_and_prints_each_phase(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "crewchief.cli.main", "demo", "--data", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    for phase in ("Phase 1", "Phase 2", "Phase 3", "Phase 4", "Done in"):
        assert phase in proc.stdout


def test_cli_error_is_one_line_with_hint_and_exit_code(tmp_path: Path) -> None:
    data = tmp_path / "d"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import crewchief,time; e=crewchief.Engine({str(data)!r});"
            "print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        proc = subprocess.run(
            [sys.executable, "-m", "crewchief.cli.main", "demo", "--data", str(data)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 75
    assert "error:" in proc.stderr and "in use by process" in proc.stderr
    assert "hint:" in proc.stderr and "Traceback" not in proc.stderr
