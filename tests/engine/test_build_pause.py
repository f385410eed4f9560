"""Starting an index build: while the shard folder is copied, reads are answered and
writes wait; a write that waited lands in the built generation too."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qdrant_client import models

from crewchief import Engine
from crewchief.engine import collection as collection_module


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
