"""The ops commands as an operator runs them: exit codes, --json, targets."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from crewchief import Engine
from crewchief.core.aliases import create_op
from crewchief.engine.builder import FAIL_ENV
from crewchief.ops import aliases
from crewchief.target import HISTORY_COLLECTION, QdrantTarget, ServeTarget
from tests.cli.clirun import cli
from tests.helpers import fill
from tests.server.serverproc import start_server


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
        target = ServeTarget(server.url)
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
        client = ServeTarget(server.url)
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
        target = QdrantTarget(server.url)  # behave exactly as against a real Qdrant server
        fill(target.client, "app_v1", n=10, dim=4)
        fill(target.client, "app_v2", n=10, dim=4)
        aliases.execute_switch(target, aliases.plan_switch(target, "prod", "app_v1"))
        aliases.execute_switch(target, aliases.plan_switch(target, "prod", "app_v2"))
        assert target.client.collection_exists(HISTORY_COLLECTION)
        assert HISTORY_COLLECTION not in target.collection_names()  # bookkeeping is hidden
        assert [(c.old, c.new) for c in target.alias_history("prod")] == [
            (None, "app_v1"),
            ("app_v1", "app_v2"),
        ]
        other = QdrantTarget(server.url)  # another operator sees the same history
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


def _with_alias(data: Path) -> None:
    with Engine(data) as engine:
        fill(engine, "app_v1", n=5, dim=4)
        engine.update_collection_aliases([create_op("prod", "app_v1")])


def test_target_from_the_environment_or_the_default_directory(tmp_path: Path) -> None:
    data = tmp_path / "crewchief-data"
    _with_alias(data)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    by_env = cli("alias", "list", "--json", env={"CREWCHIEF_TARGET": str(data)}, cwd=elsewhere)
    assert by_env.returncode == 0, by_env.stderr
    assert json.loads(by_env.stdout) == {"prod": "app_v1"}
    by_default = cli("alias", "list", "--json", cwd=tmp_path)  # ./crewchief-data
    assert by_default.returncode == 0, by_default.stderr
    assert json.loads(by_default.stdout) == {"prod": "app_v1"}
    missing = cli("alias", "list", cwd=elsewhere)
    assert missing.returncode == 66 and "crewchief-data" in missing.stderr


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")
def test_a_correct_api_key_by_option_or_environment(tmp_path: Path) -> None:
    key = "a-key-for-the-cli"
    server = start_server(tmp_path / "data", env={"CREWCHIEF_API_KEY": key})
    try:
        with ServeTarget(server.url, api_key=key) as target:
            fill(target.client, "app_v1", n=5, dim=4)
            target.update_aliases([create_op("prod", "app_v1")])
        url = server.url
        by_option = cli("alias", "list", "--json", "--target", url, "--api-key", key)
        assert by_option.returncode == 0, by_option.stderr
        assert json.loads(by_option.stdout) == {"prod": "app_v1"}
        by_env = cli("alias", "list", "--json", "--target", url, env={"QDRANT_API_KEY": key})
        assert by_env.returncode == 0, by_env.stderr
        assert json.loads(by_env.stdout) == {"prod": "app_v1"}
        moved = cli("alias", "rename", "prod", "live", "--target", url, env={"QDRANT_API_KEY": key})
        assert moved.returncode == 0, moved.stderr
        metrics = cli("metrics", "--target", url, "--api-key", key)
        assert metrics.returncode == 0 and 'crewchief_alias_target{alias="live"' in metrics.stdout
        # no key: refused in one line and a code, whether the refusal reaches crewchief's
        # own HTTP calls (metrics) or qdrant-client's (alias list, status)
        for command in (["metrics"], ["alias", "list"], ["status"]):
            refused = cli(*command, "--target", url)
            assert refused.returncode == 69, (command, refused.stderr)
            assert refused.stderr.startswith("error: 401") and "--api-key" in refused.stderr
            assert "Traceback" not in refused.stderr
    finally:
        server.stop()


def test_a_target_that_does_not_answer_is_one_line_and_a_code() -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = cli("alias", "list", "--target", f"http://127.0.0.1:{port}")
    assert done.returncode == 69, done.stderr
    assert done.stderr.startswith("error: No Qdrant server answers") and "hint:" in done.stderr


def test_status_watch_refreshes_until_interrupted(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        with ServeTarget(server.url) as target:
            fill(target.client, "app_v1", n=20, dim=4)
            target.client.create_snapshot("app_v1")

            def checks() -> float:  # every check lists the collections once or more
                # /telemetry counts every endpoint (/metrics only Qdrant's whitelisted ones)
                telemetry = httpx.get(server.url + "/telemetry").json()["result"]
                listed = telemetry["requests"]["rest"]["responses"].get("GET /collections", {})
                return float(listed.get("200", {}).get("count", 0))

            before = checks()
            assert cli("status", "--target", server.url).returncode == 0
            per_check = checks() - before
            assert per_check >= 1
            watch = subprocess.Popen(
                [sys.executable, "-m", "crewchief.cli.main", "status", "--watch"]
                + ["--interval", "0.2", "--target", server.url],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "COLUMNS": "250"},
            )
            start = checks()
            deadline = time.monotonic() + 60
            while checks() - start < 3 * per_check:  # the first check and two refreshes
                assert watch.poll() is None, watch.communicate()
                assert time.monotonic() < deadline, "status --watch did not refresh"
                time.sleep(0.1)
            watch.send_signal(signal.SIGINT)
            stdout, stderr = watch.communicate(timeout=30)
        assert watch.returncode == 0, stderr  # all green, stopped cleanly
        assert "Traceback" not in stderr
        assert "snapshot_age" in stdout and "app_v1" in stdout  # the table
    finally:
        server.stop()


def test_status_watch_does_not_take_json(tmp_path: Path) -> None:
    done = cli("status", "--watch", "--json", "--target", str(tmp_path))
    assert done.returncode == 64
    assert "--watch" in done.stderr and "--json" in done.stderr and "hint:" in done.stderr
