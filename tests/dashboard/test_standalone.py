"""`crewchief dashboard`: the same dashboard, run locally against a remote target."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
from qdrant_client import QdrantClient

from tests.dashboard.conftest import (
    FULL_KEY,
    READ_ONLY_KEY,
    V1,
    V2,
    aliases_of,
    api,
    point_alias,
    start_standalone,
)
from tests.dashboard.procs import CREWCHIEF
from tests.server.serverproc import ServerProcess


def test_the_console_script_has_the_dashboard_command() -> None:
    done = subprocess.run(
        [str(CREWCHIEF), "dashboard", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    assert "Open the web dashboard for TARGET" in done.stdout
    for option in ("--target", "--api-key", "--port", "--host", "--repo"):
        assert option in done.stdout


def test_standalone_dashboard_over_a_remote_target(
    board: ServerProcess,
    client: QdrantClient,
    world: dict[str, str],
    repo_dir: Path,
    alias_name: str,
) -> None:
    proc = start_standalone(board, FULL_KEY, repo_dir)
    try:
        with httpx.Client(base_url=proc.url, timeout=30) as http:
            page = http.get("/", follow_redirects=True)
            assert page.status_code == 200 and "crewchief" in page.text
        point_alias(client, alias_name, V1)
        with api(proc.url, None) as local:
            overview = local.get("overview").json()["result"]
            assert overview["target"] == {"kind": "remote", "location": board.url}
            assert {V1, V2} <= {c["name"] for c in overview["collections"]}
            assert overview["repo"]["backups"] >= 1
            body = {"collection": V2, "expect": V1}
            assert local.post(f"aliases/{alias_name}/switch", json=body).status_code == 200
            history = local.get("aliases").json()["result"]["history"]
        assert aliases_of(client)[alias_name] == V2
        assert any(h["alias"] == alias_name and h["new"] == V2 for h in history)
        assert proc.stop() == 0  # SIGTERM: a clean stop
    finally:
        proc.stop()


def test_the_remote_key_decides_what_the_standalone_dashboard_may_change(
    board: ServerProcess,
    client: QdrantClient,
    world: dict[str, str],
    repo_dir: Path,
    alias_name: str,
) -> None:
    proc = start_standalone(board, READ_ONLY_KEY, repo_dir)
    try:
        point_alias(client, alias_name, V1)
        with api(proc.url, None) as local:
            assert local.get("overview").status_code == 200
            body = {"collection": V2, "expect": V1}
            refused = local.post(f"aliases/{alias_name}/switch", json=body)
        assert refused.status_code == 403
        assert "Global manage access is required" in refused.json()["status"]["error"]
        assert aliases_of(client)[alias_name] == V1
    finally:
        proc.stop()
