"""Starting an index build: while the shard folder is copied, reads are answered and
writes wait; a write that waited lands in the built generation too."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import qdrant_edge as qe
from qdrant_client import models

from crewchief import Engine
from crewchief.engine import collection as collection_module
from crewchief.errors import EngineFailure


def test_reads_go_on_and_writes_wait_during_the_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(tmp_path / "data", auto_optimize=False)
    params = models.VectorParams(size=8, distance=models.Distance.DOT)
    engine.create_collection("c", vectors_config=params)
    x = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    engine.upload_collection("c", x, ids=range(300), batch_size=100)
    seen: dict[str, Any] = {}
    real_copy = collection_module.sparse_copy

    def copy_while_others_work(src: Path, dst: Path) -> None:
        reader = threading.Thread(target=lambda: seen.update(count=engine.count("c").count))
        writer = threading.Thread(
            target=lambda: engine.upsert("c", [models.PointStruct(id=999, vector=[1.0] * 8)])
        )
        reader.start()
        writer.start()
        reader.join(timeout=30)
        seen["reader_done"] = not reader.is_alive()
        writer.join(timeout=0.5)
        seen["writer_waited"] = writer.is_alive()
        real_copy(src, dst)
        seen["writer"] = writer

    monkeypatch.setattr(collection_module, "sparse_copy", copy_while_others_work)
    try:
        assert engine.optimize("c", wait=True)
        seen["writer"].join(timeout=30)
        assert seen["reader_done"] and seen["count"] == 300
        assert seen["writer_waited"]
        assert engine.count("c").count == 301  # the waiting write is in the new generation
        assert engine.retrieve("c", [999])[0].id == 999
    finally:
        engine.close()
    reopened = Engine(tmp_path / "data")
    try:
        assert reopened.count("c").count == 301
    finally:
        reopened.close()


def test_a_write_refused_during_a_build_discards_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Edge may apply a refused batch in part, and which part varies (seen here: both
    sides of the bad point, none, or only the one before it on a built shard): the build
    cannot repeat it, so it is discarded; the live generation keeps what the write left,
    and the next build (after a write) goes through."""
    engine = Engine(tmp_path / "data", auto_optimize=False)
    params = models.VectorParams(size=8, distance=models.Distance.DOT)
    engine.create_collection("c", vectors_config=params)
    engine.upload_collection("c", np.ones((50, 8), dtype=np.float32), ids=range(50))
    ids = [1001, 1002, 1003]
    seen: dict[str, Any] = {}
    real_swap = collection_module.Collection._swap_in

    def refused_write_then_swap(col: Any, target: Path) -> None:
        bad = [qe.Point(1001, [1.0] * 8, {"a": 1}), qe.Point(1002, [1.0] * 7, None)]
        op = qe.UpdateOperation.upsert_points([*bad, qe.Point(1003, [0.5] * 8, None)])
        with pytest.raises(EngineFailure, match="dimension"):
            col.update(op)  # past the engine's checks, as a failure inside Edge would be
        seen["live"] = sorted(r.id for r in engine.retrieve("c", ids))
        real_swap(col, target)

    monkeypatch.setattr(collection_module.Collection, "_swap_in", refused_write_then_swap)
    try:
        before = engine.collection("c").shard_dir
        assert engine.optimize("c", wait=True) is False
        assert engine.collection("c").shard_dir == before  # still the live generation
        info = engine.get_collection("c")
        assert info.status == models.CollectionStatus.RED
        assert "index build discarded: a write was refused" in str(info.optimizer_status)
        assert sorted(r.id for r in engine.retrieve("c", ids)) == seen["live"]
        assert 1002 not in seen["live"]  # the bad point itself is never stored
        assert not list(tmp_path.glob("data/**/gen-000002"))  # the discarded copy is gone
        monkeypatch.setattr(collection_module.Collection, "_swap_in", real_swap)
        engine.upsert("c", [models.PointStruct(id=7, vector=[2.0] * 8)])
        assert engine.optimize("c", wait=True)
        assert engine.get_collection("c").status == models.CollectionStatus.GREEN
        assert sorted(r.id for r in engine.retrieve("c", ids)) == seen["live"]
    finally:
        engine.close()


def test_a_copy_waits_for_the_wal_segment_edge_is_still_preallocating(tmp_path: Path) -> None:
    """Edge's WAL allocator makes its next segment as `tmp-open-N` and renames it: a copy of
    the held-still folder waits until no such file is left (or cp finds it gone)."""
    from crewchief.engine.collection import WAL_TMP
    from crewchief.fsutil import wait_until_absent

    wal = tmp_path / "wal"
    wal.mkdir()
    (wal / "tmp-open-2").write_bytes(b"\0" * 64)
    timer = threading.Timer(0.1, lambda: (wal / "tmp-open-2").rename(wal / "open-2"))
    timer.start()
    assert wait_until_absent(wal, WAL_TMP)
    assert sorted(p.name for p in wal.iterdir()) == ["open-2"]
    timer.join()
    (wal / "tmp-open-3").write_bytes(b"")
    assert wait_until_absent(wal, WAL_TMP, timeout=0.05) is False  # never renamed: gives up
