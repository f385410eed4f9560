"""QdrantClient's conveniences on the embedded engine, compared with local mode."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from crewchief import Engine
from crewchief.errors import InvalidInput, NotFound

VP = models.VectorParams(size=4, distance=models.Distance.DOT)


def _points(client: Engine | QdrantClient, name: str) -> dict:
    records, _ = client.scroll(name, limit=100, with_vectors=True)
    return {r.id: (r.payload, r.vector) for r in records}


def test_recreate_and_upload_collection_answer_as_local_mode(tmp_path: Path) -> None:
    local = QdrantClient(":memory:")
    rng = np.random.default_rng(3)
    unnamed = rng.normal(size=(10, 4)).astype(np.float32)
    named = {"a": rng.normal(size=(10, 4)).astype(np.float32), "b": unnamed}
    with Engine(tmp_path / "data") as engine:
        for client in (engine, local):
            client.create_collection("c", vectors_config=VP)
            client.upsert("c", [models.PointStruct(id=99, vector=[1, 0, 0, 0])])
            assert client.recreate_collection("c", vectors_config=VP) is True
            assert client.count("c").count == 0  # recreated empty
            client.upload_collection(
                "c", unnamed, payload=[{"i": i} for i in range(10)], ids=range(10), batch_size=3
            )
            client.recreate_collection("n", vectors_config={"a": VP, "b": VP})
            client.upload_collection("n", named, ids=[str(uuid.UUID(int=i + 1)) for i in range(10)])
        assert _points(engine, "c") == _points(local, "c")
        assert _points(engine, "n").keys() == _points(local, "n").keys()
        assert engine.count("n").count == 10
        with pytest.raises(InvalidInput):  # columns of different lengths, refused as local mode
            engine.upload_collection("n", {"a": named["a"], "b": unnamed[:3]})
        assert engine.count("n").count == 10
        engine.upload_collection("c", [[1.0, 2.0, 3.0, 4.0]])  # ids default to random UUIDs
        assert engine.count("c").count == 11


def test_info_and_cluster_status(tmp_path: Path) -> None:
    with Engine(tmp_path / "data") as engine:
        info = engine.info()
        assert info.title == "crewchief (qdrant-compatible)"
        assert info.version.count(".") == 2
        assert engine.cluster_status().status == "disabled"


def test_shard_snapshots_are_shard_zero(tmp_path: Path) -> None:
    with Engine(tmp_path / "data") as engine:
        engine.create_collection("c", vectors_config=VP)
        engine.upsert("c", [models.PointStruct(id=1, vector=[1, 0, 0, 0])])
        snap = engine.create_shard_snapshot("c", 0)
        assert snap is not None
        assert [s.name for s in engine.list_shard_snapshots("c", 0)] == [snap.name]
        assert engine.list_snapshots("c") == engine.list_shard_snapshots("c", 0)
        engine.upsert("c", [models.PointStruct(id=2, vector=[0, 1, 0, 0])])
        location = str(engine.snapshot_file("c", snap.name))
        assert engine.recover_shard_snapshot("c", 0, location) is True
        assert engine.count("c").count == 1  # back to the snapshot's one point
        assert engine.delete_shard_snapshot("c", 0, snap.name) is True
        assert engine.list_shard_snapshots("c", 0) == []
        for call in (
            lambda: engine.create_shard_snapshot("c", 1),
            lambda: engine.list_shard_snapshots("c", 1),
            lambda: engine.delete_shard_snapshot("c", 1, snap.name),
            lambda: engine.recover_shard_snapshot("c", 1, location),
        ):
            with pytest.raises(NotFound):
                call()
