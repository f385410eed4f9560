"""Alias safety nets and history, on both kinds of target."""

from __future__ import annotations

import pytest

from crewchief.errors import CollectionNotFound, Refused
from crewchief.ops import aliases as ops
from crewchief.target import Target
from tests.helpers import fill


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
    assert "prod" not in t.aliases()
    plan = ops.plan_switch(t, "prod", "empty_v3", force=True)
    assert plan.forced == ["`empty_v3` is empty"]
    ops.execute_switch(t, plan)
    assert t.aliases()["prod"] == "empty_v3"


def test_rollback_without_history_is_refused(versions: Target) -> None:
    with pytest.raises(Refused, match="no earlier target"):
        ops.plan_rollback(versions, "prod")


def test_delete_and_rename(versions: Target) -> None:
    t = versions
    ops.execute_switch(t, ops.plan_switch(t, "a", "app_v1"))
    ops.rename_alias(t, "a", "b")
    assert t.aliases() == {"b": "app_v1"}
    ops.delete_alias(t, "b")
    assert t.aliases() == {}
