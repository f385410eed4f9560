"""Alias safety nets and history, on both kinds of target."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import models

from crewchief.core.aliases import AliasOp, create_op, delete_op
from crewchief.engine.builder import FAIL_ENV
from crewchief.errors import (
    AliasNotFound,
    AlreadyExists,
    CollectionNotFound,
    InvalidInput,
    Refused,
)
from crewchief.ops import aliases as ops
from crewchief.target import EmbeddedTarget, ServeTarget, Target
from tests.helpers import fill
from tests.server.serverproc import start_server


@pytest.fixture
def versions(target: Target) -> Target:
    fill(target.client, "app_v1", n=30, dim=4, seed=1)
    fill(target.client, "app_v2", n=30, dim=4, seed=2)
    target.client.create_collection(
        "empty_v3",
        vectors_config=target.client.get_collection("app_v1").config.params.vectors,
    )
    return target


def test_switch_records_history_and_rollback_is_a_new_entry(versions: Target) -> None:
    t = versions
    ops.execute_switch(t, ops.plan_switch(t, "prod", "app_v1"))
    ops.execute_switch(t, ops.plan_switch(t, "prod", "app_v2", expect="app_v1"))
    assert t.aliases()["prod"] == "app_v2"
    plan = ops.plan_rollback(t, "prod")
    assert (plan.current, plan.new) == ("app_v2", "app_v1")
    ops.execute_switch(t, plan)
    assert t.aliases()["prod"] == "app_v1"
    moves = [(c.old, c.new) for c in t.alias_history("prod")]
    assert moves == [(None, "app_v1"), ("app_v1", "app_v2"), ("app_v2", "app_v1")]


def test_compare_and_set_refuses_when_the_alias_moved(versions: Target) -> None:
    t = versions
    ops.execute_switch(t, ops.plan_switch(t, "prod", "app_v1"))
    with pytest.raises(Refused, match="moved"):
        ops.plan_switch(t, "prod", "app_v2", expect="app_v2")
    stale = ops.plan_switch(t, "prod", "empty_v3", expect="app_v1", force=True)
    ops.execute_switch(t, ops.plan_switch(t, "prod", "app_v2"))  # someone else moves it
    with pytest.raises(Refused, match="moved"):
        ops.execute_switch(t, stale)  # a plan made on stale information is not applied
    assert t.aliases()["prod"] == "app_v2"
    assert [c.new for c in t.alias_history("prod")] == ["app_v1", "app_v2"]


def test_refuses_empty_or_missing_unless_forced(versions: Target) -> None:
    t = versions
    with pytest.raises(Refused, match="empty") as exc:
        ops.plan_switch(t, "prod", "empty_v3")
    assert exc.value.hint and "--force" in exc.value.hint
    with pytest.raises(CollectionNotFound):
        ops.plan_switch(t, "prod", "nope")
    with pytest.raises(AlreadyExists, match="hide the collection"):
        ops.plan_switch(t, "app_v2", "app_v1")
    assert "prod" not in t.aliases()
    plan = ops.plan_switch(t, "prod", "empty_v3", force=True)
    assert plan.forced == ["`empty_v3` is empty"]
    ops.execute_switch(t, plan)
    assert t.aliases()["prod"] == "empty_v3"


def test_rollback_without_history_is_refused(versions: Target) -> None:
    with pytest.raises(Refused, match="no earlier target"):
        ops.plan_rollback(versions, "prod")


def test_delete_and_rename_are_planned_then_applied(versions: Target) -> None:
    t = versions
    ops.execute_switch(t, ops.plan_switch(t, "a", "app_v1"))
    ops.execute_switch(t, ops.plan_switch(t, "other", "app_v2"))
    with pytest.raises(AliasNotFound):
        ops.plan_rename(t, "nope", "b")
    with pytest.raises(AlreadyExists, match="already exists"):
        ops.plan_rename(t, "a", "other")
    with pytest.raises(AlreadyExists, match="hide the collection"):
        ops.plan_rename(t, "a", "app_v2")
    with pytest.raises(InvalidInput, match="same"):
        ops.plan_rename(t, "a", "a")
    rename = ops.plan_rename(t, "a", "b")
    assert rename.to_json() == {
        "alias": "a",
        "new": "b",
        "collection": "app_v1",
        "reasons": ["rename `a` -> `b` (points at `app_v1`)"],
    }
    assert t.aliases() == {"a": "app_v1", "other": "app_v2"}  # a plan changes nothing
    changes = ops.execute_rename(t, rename)
    assert [(c.alias, c.old, c.new, c.op) for c in changes] == [
        ("a", "app_v1", None, "rename"),
        ("b", None, "app_v1", "rename"),
    ]
    assert t.aliases() == {"b": "app_v1", "other": "app_v2"}

    with pytest.raises(AliasNotFound):
        ops.plan_delete(t, "a")
    delete = ops.plan_delete(t, "b")
    assert (delete.alias, delete.current) == ("b", "app_v1")
    assert "the collection stays" in delete.reasons[0]
    ops.execute_delete(t, delete)
    assert t.aliases() == {"other": "app_v2"}
    assert "app_v1" in t.collection_names()
    assert [(c.op, c.old, c.new) for c in t.alias_history("b")] == [
        ("rename", None, "app_v1"),
        ("delete", "app_v1", None),
    ]


def test_stale_delete_and_rename_plans_are_refused(versions: Target) -> None:
    t = versions
    ops.execute_switch(t, ops.plan_switch(t, "a", "app_v1"))
    delete, rename = ops.plan_delete(t, "a"), ops.plan_rename(t, "a", "b")
    ops.execute_switch(t, ops.plan_switch(t, "a", "app_v2"))  # someone else moves it
    with pytest.raises(Refused, match="moved"):
        ops.execute_delete(t, delete)
    with pytest.raises(Refused, match="moved"):
        ops.execute_rename(t, rename)
    rename = ops.plan_rename(t, "a", "b")
    ops.execute_switch(t, ops.plan_switch(t, "b", "app_v1"))  # someone else takes the name
    with pytest.raises(Refused, match="moved"):
        ops.execute_rename(t, rename)
    assert t.aliases() == {"a": "app_v2", "b": "app_v1"}


def _another_connection(t: Target) -> Target:
    """A second client of the same target (an embedded engine opens only once)."""
    return ServeTarget(t.location) if isinstance(t, ServeTarget) else t


def _race(writers: list[Target], alias: str, seen: str, to: list[str]) -> dict[str, str]:
    """Each writer moves `alias` from `seen` to its own collection, all at the same moment."""
    start = threading.Barrier(len(writers))
    outcomes: dict[str, str] = {}

    def move(writer: Target, collection: str) -> None:
        batch: list[AliasOp] = [delete_op(alias), create_op(alias, collection)]
        start.wait()
        try:
            writer.update_aliases(batch, expect={alias: seen})
            outcomes[collection] = "won"
        except Refused:
            outcomes[collection] = "refused"

    threads = [threading.Thread(target=move, args=pair) for pair in zip(writers, to, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_compare_and_set_from_the_same_expectation_has_one_winner(versions: Target) -> None:
    """Two writers read the same alias and both try to move it: exactly one succeeds.
    (Without the server-side check, both win nearly every round.)"""
    t = versions
    ops.execute_switch(t, ops.plan_switch(t, "prod", "app_v1"))
    writers = [_another_connection(t), _another_connection(t)]
    try:
        for _round in range(10):
            seen = t.aliases()["prod"]
            wanted = [c for c in ("app_v1", "app_v2", "empty_v3") if c != seen]
            outcomes = _race(writers, "prod", seen, wanted)
            assert sorted(outcomes.values()) == ["refused", "won"], outcomes
            winner = next(to for to, outcome in outcomes.items() if outcome == "won")
            assert t.aliases()["prod"] == winner
            last = t.alias_history("prod")[-1]
            assert (last.old, last.new) == (seen, winner)
        assert len(t.alias_history("prod")) == 11  # the first switch and one per round
    finally:
        for w in writers:
            if w is not t:
                w.close()


@pytest.fixture(params=["embedded", "served"])
def red(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Target]:
    """A target whose `app_red` is red: its index build failed (the builder's failure hook)."""
    server = None
    if request.param == "embedded":
        monkeypatch.setenv(FAIL_ENV, "injected failure")  # the builder child inherits it
        t: Target = EmbeddedTarget(tmp_path / "data")
    else:
        server = start_server(tmp_path / "data", env={FAIL_ENV: "injected failure"})
        t = ServeTarget(server.url)
    try:
        fill(t.client, "app_ok", n=20, dim=4)
        fill(t.client, "app_red", n=20, dim=4)
        t.optimize("app_red")
        deadline = time.monotonic() + 60
        while t.client.get_collection("app_red").status == models.CollectionStatus.YELLOW:
            assert time.monotonic() < deadline, "the build did not finish"
            time.sleep(0.05)
        yield t
    finally:
        t.close()
        if server is not None:
            server.stop()


def test_refuses_a_red_collection_unless_forced(red: Target) -> None:
    t = red
    assert t.client.get_collection("app_red").status == models.CollectionStatus.RED
    ops.execute_switch(t, ops.plan_switch(t, "prod", "app_ok"))
    with pytest.raises(Refused, match="`app_red` is red") as exc:
        ops.plan_switch(t, "prod", "app_red")
    assert exc.value.hint and "--force" in exc.value.hint
    assert t.aliases()["prod"] == "app_ok"
    plan = ops.plan_switch(t, "prod", "app_red", force=True)
    assert plan.forced == ["`app_red` is red"]
    assert "status red" in plan.reasons[0]
    ops.execute_switch(t, plan)
    assert t.aliases()["prod"] == "app_red"
