"""Disk space that is never given back (found by the fault run and the soak).

None of these loses data; each leaks disk space: a little per crash, forever, or
(the WAL) in proportion to the writes.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import models

from crewchief import Engine
from crewchief.backup.backups import create_backup
from crewchief.backup.repository import Repository
from crewchief.fsutil import (
    DISCARD_PREFIX,
    STAGING_LOCK,
    STAGING_PREFIX,
    disk_usage,
    staging_dir,
)
from crewchief.target import EmbeddedTarget
from tests.faults.harness import run_and_kill
from tests.faults.scenarios import create


def test_stale_temp_files_are_removed_on_open(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Engine(data) as engine:
        create(engine, "c", range(10), dim=4)
        snap = engine.create_snapshot("c")
    # what a kill between mkstemp and os.replace leaves (fsutil.atomic_write_bytes names)
    stale = [
        data / ".catalog.json.k1ll3d.tmp",
        data / "snapshots" / "c" / f".{snap.name}.checksum.k1ll3d.tmp",
    ]
    for path in stale:
        path.write_text('{"half": ')
    with Engine(data):
        pass
    assert [p.name for p in stale if p.exists()] == []


def test_a_killed_backup_leaves_nothing_behind_once_the_next_one_ran(tmp_path: Path) -> None:
    data, repo_dir, tmpdir = tmp_path / "data", tmp_path / "repo", tmp_path / "tmpdir"
    tmpdir.mkdir()
    with Engine(data) as engine:
        create(engine, "c", range(2000), dim=64)
    Repository.open(str(repo_dir), create=True)
    for attempt in range(5):  # until a kill lands while a backup is staged (almost always)
        run_and_kill(
            "backup", data, {"repo": str(repo_dir)}, 1.5 + attempt, env={"TMPDIR": str(tmpdir)}
        )
        if any(tmpdir.iterdir()):
            break
    assert any(tmpdir.iterdir()), "no kill landed during a backup"
    old = tempfile.tempdir
    tempfile.tempdir = str(tmpdir)
    try:
        with EmbeddedTarget(data) as target:
            create_backup(target, Repository.open(str(repo_dir)), ["c"])
    finally:
        tempfile.tempdir = old
    assert sorted(p.name for p in tmpdir.iterdir()) == []


def test_steady_updates_keep_the_shard_bounded(tmp_path: Path) -> None:
    """~120 MiB of updates to the same 1000 points: the shard stays near its WAL segment
    size, because a write flushes the shard once `flush_interval_sec` has passed."""
    rng = np.random.default_rng(0)
    ids = list(range(1000))
    written = 0
    with Engine(tmp_path / "data") as engine:
        create(engine, "c", ids, dim=64, optimizers_config=models.OptimizersConfigDiff(
            flush_interval_sec=1))  # fmt: skip
        deadline = time.monotonic() + 60
        for _ in range(500):
            vectors = rng.random((len(ids), 64), dtype=np.float32)
            engine.upsert("c", models.Batch(ids=ids, vectors=vectors.tolist()))
            written += vectors.nbytes
            if time.monotonic() > deadline:
                break
        used = disk_usage(engine.collection("c").shard_dir)
    assert written > 100 * 2**20
    assert used < 80 * 2**20, f"{used / 2**20:.0f} MiB on disk after {written / 2**20:.0f} MiB"


def test_rolling_writes_are_vacuumed(tmp_path: Path) -> None:
    """5000 live points, each write adding 20 and deleting the 20 oldest: far below the
    indexing threshold, yet the dead versions are dropped (Qdrant's vacuum optimizer)."""
    rng = np.random.default_rng(0)
    with Engine(tmp_path / "data") as engine:
        create(engine, "w", range(5000), dim=64)
        for start in range(5000, 65000, 20):
            ids = list(range(start, start + 20))
            vectors = rng.random((20, 64), dtype=np.float32).tolist()
            engine.upsert("w", models.Batch(ids=ids, vectors=vectors))
            engine.delete("w", models.PointIdsList(points=[i - 5000 for i in ids]))
        col = engine.collection("w")
        assert col.last_build is not None  # the vacuum ran, though nothing needed an index
        while (builder := col._builder) is not None:  # a build ends by starting the next
            builder.join()  # one if the writes it replayed left enough dead versions
        assert engine.count("w").count == 5000
        segments = disk_usage(col.shard_dir / "segments")
    # 60,000 versions of 64 floats were written (~20 MiB of vectors alone)
    assert segments < 10 * 2**20, f"{segments / 2**20:.0f} MiB of segments for 5000 points"


def test_staging_in_use_is_kept_and_abandoned_staging_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    abandoned = tmp_path / f"{STAGING_PREFIX}backup-killed"
    abandoned.mkdir()
    (abandoned / STAGING_LOCK).touch()  # a lock file nobody holds: its owner died
    (abandoned / "part.parquet").write_bytes(b"x" * 1000)
    half_deleted = tmp_path / f"{DISCARD_PREFIX}restore-killed"  # killed while deleting
    half_deleted.mkdir()
    (half_deleted / "part.parquet").write_bytes(b"x" * 1000)
    with staging_dir("backup") as first:
        assert not abandoned.exists() and not half_deleted.exists()
        (first / "file").write_text("in use")
        with staging_dir("restore") as second:  # its clean-up must not touch `first`
            assert (first / "file").read_text() == "in use"
            assert second != first
    assert list(tmp_path.iterdir()) == []
