"""Collection status (green / yellow / grey / red) and background index builds."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from qdrant_client import models

from crewchief import Engine
from crewchief.datasets import embedding_like
from crewchief.engine.builder import FAIL_ENV
from crewchief.errors import EngineFailure
from tests.helpers import fill

SMALL_THRESHOLD = models.OptimizersConfigDiff(indexing_threshold=10)  # KB: index almost at once


def wait_until(predicate, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_small_collection_is_green_without_an_index(engine: Engine) -> None:
    fill(engine, "tiny", n=100, dim=8)  # below Qdrant's default 10 MB indexing threshold
    info = engine.get_collection("tiny")
    assert info.status == models.CollectionStatus.GREEN
    assert info.indexed_vectors_count == 0


def test_grey_then_yellow_then_green_and_no_write_lost(tmp_path: Path) -> None:
    with Engine(tmp_path / "d", auto_optimize=False) as engine:
        fill(engine, "c", n=4000, dim=32, optimizers_config=SMALL_THRESHOLD)
        info = engine.get_collection("c")
        assert info.status == models.CollectionStatus.GREY  # unindexed, nothing running
        assert info.indexed_vectors_count == 0

        engine.optimize("c", wait=False)
        assert engine.get_collection("c").status == models.CollectionStatus.YELLOW
        extra = embedding_like(300, 32, rank=8, seed=9)
        written = 0
        while engine.collection("c").building:  # the engine keeps answering and writing
            assert engine.query_points("c", query=extra[0].tolist(), limit=3).points
            if written < 300:
                engine.upsert(
                    "c",
                    [models.PointStruct(id=10_000 + written, vector=extra[written].tolist())],
                )
                written += 1
            time.sleep(0.002)
        info = engine.get_collection("c")
        assert info.points_count == 4000 + written
        assert (info.indexed_vectors_count or 0) >= 4000
        # the points written during the build are above the threshold again, and with
        # auto-optimize off nothing indexes them: grey, truthfully
        assert info.status == models.CollectionStatus.GREY, info.optimizer_status
        assert engine.optimize("c") is True
        info = engine.get_collection("c")
        assert info.status == models.CollectionStatus.GREEN
        assert info.indexed_vectors_count == 4000 + written
        ids = [10_000 + i for i in range(written)]
        assert len(engine.retrieve("c", ids)) == written  # writes made during the build kept

    with Engine(tmp_path / "d") as again:  # the swapped-in generation is what reopens
        assert again.get_collection("c").points_count == 4000 + written
        assert (again.get_collection("c").indexed_vectors_count or 0) >= 4000


def test_failed_build_is_red_and_recovers(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(engine, "c", n=2000, dim=16, optimizers_config=SMALL_THRESHOLD)
    wait_until(lambda: not engine.collection("c").building)
    monkeypatch.setenv(FAIL_ENV, "disk on fire")
    engine.upsert("c", [models.PointStruct(id=99_999, vector=[1.0] * 16)])
    assert engine.optimize("c") is False
    info = engine.get_collection("c")
    assert info.status == models.CollectionStatus.RED
    assert isinstance(info.optimizer_status, models.OptimizersStatusOneOf1)
    assert "disk on fire" in info.optimizer_status.error
    assert engine.count("c").count == 2001  # still serving
    monkeypatch.delenv(FAIL_ENV)
    assert engine.optimize("c") is True
    assert engine.get_collection("c").status == models.CollectionStatus.GREEN


def test_automatic_policy_indexes_past_the_threshold(engine: Engine) -> None:
    fill(engine, "auto", n=3000, dim=16, optimizers_config=SMALL_THRESHOLD)
    wait_until(lambda: engine.get_collection("auto").status == models.CollectionStatus.GREEN)
    assert engine.collection("auto").last_build is not None  # the policy started a build
    assert (engine.get_collection("auto").indexed_vectors_count or 0) >= 3000


def test_hybrid_collection_indexes_its_dense_vectors(tmp_path: Path) -> None:
    """The shard counts sparse vectors as indexed as they are written: a dense + sparse
    collection past the threshold is grey until its dense vectors are built, then indexed."""
    sparse = models.SparseVector(indices=[1, 5], values=[0.3, 0.2])
    data = embedding_like(2000, 32, rank=8, seed=4)
    points = [
        models.PointStruct(id=i, vector={"d": v.tolist(), "s": sparse}) for i, v in enumerate(data)
    ]
    with Engine(tmp_path / "d", auto_optimize=False) as engine:
        engine.create_collection(
            "h",
            vectors_config={"d": models.VectorParams(size=32, distance=models.Distance.COSINE)},
            sparse_vectors_config={"s": models.SparseVectorParams()},
            optimizers_config=SMALL_THRESHOLD,
        )
        engine.upsert("h", points)
        info = engine.get_collection("h")
        assert info.indexed_vectors_count == 2000  # the sparse ones alone
        assert info.status == models.CollectionStatus.GREY
    with Engine(tmp_path / "d") as engine:  # the automatic policy builds it on the next write
        engine.upsert("h", points[:1])
        wait_until(lambda: engine.get_collection("h").status == models.CollectionStatus.GREEN)
        assert engine.get_collection("h").indexed_vectors_count == 4000


def test_reopened_unindexed_collection_is_grey(tmp_path: Path) -> None:
    with Engine(tmp_path / "d", auto_optimize=False) as engine:
        fill(engine, "c", n=2000, dim=16, optimizers_config=SMALL_THRESHOLD)
    with Engine(tmp_path / "d") as engine:
        assert engine.get_collection("c").status == models.CollectionStatus.GREY


@pytest.mark.parametrize(
    ("pattern", "damage"),
    [
        # Edge answers with an error: "failed to load segment ... segment.json"
        ("segment.json", Path.unlink),
        # Edge panics ("index out of bounds"); pyo3's PanicException is no Exception
        ("vector_storage/vectors/*", lambda f: f.write_bytes(b"7 bytes")),
    ],
    ids=["segment-json-deleted", "vectors-truncated"],
)
def test_failed_load_is_red_and_the_rest_serve(
    tmp_path: Path, pattern: str, damage: Callable[[Path], object]
) -> None:
    with Engine(tmp_path / "d") as engine:
        fill(engine, "broken", n=20, dim=4, seed=1)
        fill(engine, "fine", n=30, dim=4, seed=2)
        snap = engine.create_snapshot("broken")
        folder = engine.path / "collections" / engine.catalog.collections["broken"]["dir"]
    files = list(folder.glob(f"gen-*/segments/*/{pattern}"))
    assert files
    for f in files:
        damage(f)
    with Engine(tmp_path / "d") as engine:  # opens: the damage is one collection's
        info = engine.get_collection("broken")
        assert info.status == models.CollectionStatus.RED
        assert isinstance(info.optimizer_status, models.OptimizersStatusOneOf1)
        assert info.optimizer_status.error.startswith("load failed: ")
        assert info.points_count is None
        with pytest.raises(EngineFailure, match="not available") as exc:
            engine.count("broken")
        assert exc.value.hint and "snapshot" in exc.value.hint
        assert engine.get_collection("fine").status == models.CollectionStatus.GREEN
        assert engine.count("fine").count == 30
        assert len(engine.query_points("fine", query=[1, 0, 0, 0], limit=3).points) == 3
        # the hint's way out: recovering its snapshot replaces the damaged folder
        engine.recover_snapshot("broken", str(engine.snapshot_file("broken", snap.name)))
        assert engine.get_collection("broken").status == models.CollectionStatus.GREEN
        assert engine.count("broken").count == 20


def test_no_optimization_threads_means_no_automatic_build(tmp_path: Path) -> None:
    """`max_optimization_threads: 0` is Qdrant's "optimizations off": grey, until asked."""
    off = models.OptimizersConfigDiff(indexing_threshold=10, max_optimization_threads=0)
    with Engine(tmp_path / "d") as engine:
        fill(engine, "c", n=3000, dim=16, optimizers_config=off)
        time.sleep(0.5)
        info = engine.get_collection("c")
        assert (info.status, info.indexed_vectors_count) == (models.CollectionStatus.GREY, 0)
        assert engine.collection("c").last_build is None
        assert engine.optimize("c") is True  # an explicit build still runs
        assert engine.get_collection("c").status == models.CollectionStatus.GREEN
    with Engine(tmp_path / "d") as engine:  # and so it stays after a reopen
        fill_more = [models.PointStruct(id=10_000 + i, vector=[1.0] * 16) for i in range(3000)]
        engine.upsert("c", fill_more)
        time.sleep(0.5)
        assert engine.get_collection("c").status == models.CollectionStatus.GREY
