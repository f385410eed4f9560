"""The real `crewchief` command on a dense + sparse + multi-vector collection: snapshot
create / download / restore (into a directory and into a `crewchief serve`), backup create
/ restore in both formats, and status, all restoring equal and reporting sensibly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crewchief.core.aliases import create_op
from crewchief.target import EmbeddedTarget, ServeTarget
from tests.cli.clirun import cli
from tests.server.serverproc import start_server
from tests.vector_kinds import DENSE, assert_same, make_kinds, state


@pytest.fixture
def source(tmp_path: Path) -> tuple[str, tuple]:  # type: ignore[type-arg]
    with EmbeddedTarget(tmp_path / "data") as tgt:
        make_kinds(tgt.client)
        return str(tmp_path / "data"), state(tgt.client, "hybrid")


def test_snapshot_create_download_and_restore(tmp_path: Path, source: tuple) -> None:  # type: ignore[type-arg]
    data, before = source
    made = cli("snapshot", "create", "hybrid", "--target", data, "--json")
    assert made.returncode == 0, made.stderr
    snap = json.loads(made.stdout)
    got = cli(
        "snapshot", "download", "hybrid", snap["name"], "--dest", str(tmp_path), "--target", data
    )
    assert got.returncode == 0, got.stderr
    file = tmp_path / snap["name"]
    restored = cli(
        "snapshot", "restore", str(file), "--as", "copy", "--checksum", snap["checksum"],
        "--target", data,
    )  # fmt: skip
    assert restored.returncode == 0 and "restored `copy`: 60 points" in restored.stdout
    with EmbeddedTarget(data) as tgt:
        assert_same(before, state(tgt.client, "copy"))
    server = start_server(tmp_path / "served")
    try:
        done = cli("snapshot", "restore", str(file), "--as", "hybrid", "--target", server.url)
        assert done.returncode == 0, done.stderr
        with ServeTarget(server.url) as served:
            assert_same(before, state(served.client, "hybrid"))
        status = cli("status", "hybrid", "--target", server.url, "--json")
        assert status.returncode in (0, 1), status.stderr  # no snapshot there yet: a warning
        indexing = [i for i in json.loads(status.stdout)["indicators"] if i["name"] == "indexing"]
        assert indexing[0]["status"] == "green" and "of 290 vectors" in indexing[0]["symptom"]
    finally:
        server.stop()


@pytest.mark.parametrize("fmt", ["native", "portable"])
def test_backup_create_and_restore(tmp_path: Path, source: tuple, fmt: str) -> None:  # type: ignore[type-arg]
    data, before = source
    repo = str(tmp_path / "repo")
    made = cli("backup", "create", "--all", "--repo", repo, "--target", data, "--json")
    assert made.returncode == 0, made.stderr
    backup_id = json.loads(made.stdout)["id"]
    new = str(tmp_path / "new")
    restored = cli("backup", "restore", backup_id, "--repo", repo, "--to", new, "--format", fmt)
    assert restored.returncode == 0, restored.stderr
    assert "restored `hybrid` as `hybrid`" in restored.stdout
    with EmbeddedTarget(new) as tgt:
        assert_same(before, state(tgt.client, "hybrid"))
    verified = cli("backup", "verify", backup_id, "--full", "--repo", repo)
    assert verified.returncode == 0 and "ok" in verified.stdout, verified.stdout + verified.stderr


def test_deploy_names_the_dense_vector_it_changes(source: tuple) -> None:  # type: ignore[type-arg]
    data, _ = source
    with EmbeddedTarget(data) as tgt:
        tgt.update_aliases([create_op("prod", "hybrid")])
    ambiguous = cli("deploy", "prod", "--to", "hybrid_v2", "--distance", "Dot", "--target", data)
    assert ambiguous.returncode == 64 and "--using NAME" in ambiguous.stderr
    plan = cli(
        "deploy", "prod", "--to", "hybrid_v2", "--distance", "Dot", "--using", DENSE,
        "--dry-run", "--json", "--target", data,
    )  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["using"] == DENSE
