"""The ops commands as an operator runs them: exit codes, --json, targets."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crewchief import Engine
from crewchief.engine.builder import FAIL_ENV
from crewchief.target import HISTORY_COLLECTION, RemoteTarget
from tests.helpers import fill
from tests.server.serverproc import start_server


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "crewchief.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_status_exit_codes_follow_the_worst_indicator(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Engine(data) as engine:
        fill(engine, "app_v1", n=20, dim=4)
        engine.create_snapshot("app_v1")
    done = cli("status", "--target", str(data), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "green" and report["exit_code"] == 0

    with Engine(data) as engine:
        fill(engine, "app_v2", n=20, dim=4)  # no snapshot: a warning
    done = cli("status", "--target", str(data), "--json")
    assert done.returncode == 1
    assert any(
        i["name"] == "snapshot_age" and i["status"] == "yellow"
        for i in json.loads(done.stdout)["indicators"]
    )

    human = cli("status", "--target", str(data), env={"COLUMNS": "250"})
    assert "snapshot_age" in human.stdout and "crewchief snapshot create app_v2" in human.stdout


def test_status_is_critical_when_an_index_build_failed(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", env={FAIL_ENV: "injected failure"})
    try:
        target = RemoteTarget(server.url)
        fill(target.client, "app_v1", n=20, dim=4)
        target.client.create_snapshot("app_v1")
        target.optimize("app_v1")
        deadline = time.monotonic() + 60
        while target.client.get_collection("app_v1").status.value == "yellow":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        target.close()
        done = cli("status", "--target", server.url, "--json")
        assert done.returncode == 2, done.stdout
        status = [i for i in json.loads(done.stdout)["indicators"] if i["name"] == "status"]
        assert status[0]["status"] == "red" and "injected failure" in status[0]["symptom"]
    finally:
        server.stop()


def test_commands_use_the_server_that_owns_the_directory(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        client = RemoteTarget(server.url)
        fill(client.client, "app_v1", n=10, dim=4)
        fill(client.client, "app_v2", n=10, dim=4)
        client.close()
        data = str(tmp_path / "data")
        assert cli("alias", "set", "prod", "app_v1", "--target", data).returncode == 0
        moved = cli("alias", "set", "prod", "app_v2", "--expect", "app_v1", "--target", data)
        assert moved.returncode == 0, moved.stderr
        refused = cli("alias", "set", "prod", "app_v1", "--expect", "app_v1", "--target", data)
        assert refused.returncode == 69 and "moved" in refused.stderr
        hist = json.loads(cli("alias", "history", "prod", "--json", "--target", data).stdout)
        assert [h["new"] for h in hist] == ["app_v1", "app_v2"]
        back = cli("alias", "rollback", "prod", "--target", server.url)
        assert back.returncode == 0 and "app_v1" in back.stdout
        dry = json.loads(
            cli("deploy", "prod", "--to", "app_v3", "--dry-run", "--json", "--target", data).stdout
        )
        assert dry["source"] == "app_v1" and dry["current"] == "app_v1"
        gc = json.loads(cli("gc", "--keep", "1", "--dry-run", "--json", "--target", data).stdout)
        assert gc["plan"]["delete"] == {} and gc["deleted"] == []
    finally:
        server.stop()


def test_history_for_a_plain_qdrant_server_lives_in_a_collection(tmp_path: Path) -> None:
    """A real Qdrant server keeps no alias history: crewchief keeps it in a collection there."""
    server = start_server(tmp_path / "data")
    try:
        target = RemoteTarget(server.url)
        target.is_crewchief = False  # behave exactly as against a real Qdrant server
        fill(target.client, "app_v1", n=10, dim=4)
        fill(target.client, "app_v2", n=10, dim=4)
        from crewchief.ops import aliases

        aliases.execute_switch(target, aliases.plan_switch(target, "prod", "app_v1"))
        aliases.execute_switch(target, aliases.plan_switch(target, "prod", "app_v2"))
        assert target.client.collection_exists(HISTORY_COLLECTION)
        assert HISTORY_COLLECTION not in target.collection_names()  # bookkeeping is hidden
        assert [(c.old, c.new) for c in target.alias_history("prod")] == [
            (None, "app_v1"),
            ("app_v1", "app_v2"),
        ]
        other = RemoteTarget(server.url)  # another operator sees the same history
        other.is_crewchief = False
        assert len(other.alias_history("prod")) == 2
        target.close()
        other.close()
    finally:
        server.stop()


@pytest.mark.parametrize("bad", [["alias", "set", "prod", "missing"], ["snapshot", "list", "x"]])
def test_bad_input_is_one_line_and_a_code(tmp_path: Path, bad: list[str]) -> None:
    done = cli(*bad, "--target", str(tmp_path / "data"))
    assert done.returncode == 66
    assert done.stderr.startswith("error:") and "hint:" in done.stderr
