"""Crash safety: kill -9 during writes and alias batches; the data directory lock."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from crewchief import Engine
from crewchief.errors import DataDirLocked
from tests.faults.harness import run_and_kill


@pytest.mark.parametrize("trial", range(3))
def test_acknowledged_upserts_survive_kill_9(tmp_path: Path, trial: int) -> None:
    data = tmp_path / "data"
    acked_total = 0
    for _round in range(2):  # crash twice in a row: recovery itself must be crash-safe
        acks = run_and_kill("append", data, {}, random.uniform(0.2, 0.8)).acks
        assert acks, "the worker acknowledged nothing before the kill"
        acked_total = max(acked_total, int(acks[-1]["points"]))
    with Engine(data) as engine:
        ids = list(range(acked_total))
        found = {r.id for r in engine.retrieve("c", ids, with_payload=True)}
        assert found == set(ids), f"lost {len(set(ids) - found)} acknowledged points"


@pytest.mark.parametrize("trial", range(3))
def test_interrupted_alias_batch_is_all_or_nothing(tmp_path: Path, trial: int) -> None:
    data = tmp_path / "data"
    run = run_and_kill("alias_flips", data, {}, random.uniform(0.1, 0.5))
    acks = [a["target"] for a in run.acks]
    assert acks
    with Engine(data) as engine:
        targets = {a.alias_name: a.collection_name for a in engine.get_aliases().aliases}
        assert set(targets) == {"a", "b", "c"}
        assert len(set(targets.values())) == 1, f"half-applied batch: {targets}"
        # the acknowledged batch, or the one after it that was committed but not yet printed
        assert targets["a"] in {acks[-1], "v1" if acks[-1] == "v2" else "v2"}
        history = engine.alias_history("a")
        assert history[-1].new == targets["a"]  # the journal agrees with the catalog


def test_second_opener_is_told_who_owns_the_directory(tmp_path: Path) -> None:
    with Engine(tmp_path / "d") as engine:
        engine.set_owner_url("http://127.0.0.1:6333")
        with pytest.raises(DataDirLocked) as exc:
            Engine(tmp_path / "d")
        assert str(os.getpid()) in str(exc.value)
        assert "http://127.0.0.1:6333" in str(exc.value)
        assert exc.value.hint and "http://127.0.0.1:6333" in exc.value.hint
    with Engine(tmp_path / "d"):  # released on close
        pass


def test_lock_is_released_when_the_owner_dies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_and_kill("append", data, {}, 0.1)
    with Engine(data) as engine:
        assert engine.collection_exists("c")
