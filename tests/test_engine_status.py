"""Collection status (green / yellow / grey / red) and background index builds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from qdrant_client import models

from crewchief import Engine
from crewchief.datasets import embedding_like
from crewchief.engine.builder import FAIL_ENV
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


def test_reopened_unindexed_collection_is_grey(tmp_path: Path) -> None:
    with Engine(tmp_path / "d", auto_optimize=False) as engine:
        fill(engine, "c", n=2000, dim=16, optimizers_config=SMALL_THRESHOLD)
    with Engine(tmp_path / "d") as engine:
        assert engine.get_collection("c").status == models.CollectionStatus.GREY
