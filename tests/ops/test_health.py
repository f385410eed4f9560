"""Health indicators: the pure assessment, and gathering from both kinds of target."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from qdrant_client import models

from crewchief.ops import aliases
from crewchief.ops.health import (
    CollectionFacts,
    HealthPolicy,
    TargetFacts,
    assess,
    gather,
)
from crewchief.target import Target
from tests.helpers import fill

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def facts(name: str = "app_v1", **kw: object) -> CollectionFacts:
    base: dict[str, object] = dict(
        name=name,
        status="green",
        error=None,
        points=1000,
        indexed=1000,
        vectors_per_point=1,
        dim=384.0,
        segments=2,
        indexing_threshold_kb=10_000,
        last_snapshot=NOW - timedelta(hours=1),
    )
    base.update(kw)
    return CollectionFacts(**base)  # type: ignore[arg-type]


def report(cols: list[CollectionFacts], aliases_: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    names = [c.name for c in cols]
    return assess(TargetFacts("x", "embedded", NOW, cols, aliases_ or {}, names), HealthPolicy())


def by(rep, name: str, subject: str):  # type: ignore[no-untyped-def]
    return next(i for i in rep.indicators if i.name == name and i.subject == subject)


def test_all_green_exits_zero() -> None:
    rep = report([facts()], {"prod": "app_v1"})
    assert rep.status == "green" and rep.exit_code == 0


@pytest.mark.parametrize(
    ("kw", "indicator", "status", "code"),
    [
        ({"status": "red", "error": "disk full"}, "status", "red", 2),
        ({"status": "yellow"}, "status", "yellow", 1),
        ({"status": "grey"}, "status", "grey", 1),
        ({"indexed": 0, "points": 100_000}, "indexing", "yellow", 1),
        ({"segments": 40}, "segments", "yellow", 1),
        ({"last_snapshot": None}, "snapshot_age", "yellow", 1),
        ({"last_snapshot": NOW - timedelta(hours=30)}, "snapshot_age", "yellow", 1),
    ],
)
def test_each_indicator_has_symptom_and_action(
    kw: dict[str, object], indicator: str, status: str, code: int
) -> None:
    rep = report([facts(**kw)], {"prod": "app_v1"})
    ind = by(rep, indicator, "app_v1")
    assert ind.status == status and ind.symptom and ind.action
    assert rep.status == status and rep.exit_code == code


def test_red_error_is_shown() -> None:
    rep = report([facts(status="red", error="index build failed: disk full")])
    assert "disk full" in by(rep, "status", "app_v1").symptom


def test_alias_to_missing_or_empty_collection() -> None:
    rep = report([facts(), facts("other", points=0, indexed=0)], {"a": "gone", "b": "other"})
    assert by(rep, "alias", "a").status == "red" and rep.exit_code == 2
    assert by(rep, "alias", "b").status == "yellow"


def test_unused_old_version() -> None:
    rep = report([facts("app_v1"), facts("app_v2"), facts("app_v3")], {"prod": "app_v2"})
    flagged = {i.subject for i in rep.indicators if i.name == "unused_version"}
    assert flagged == {"app_v1"}  # v2 has the alias, v3 is the newest


def test_gather_from_a_real_target(target: Target) -> None:
    fill(target.client, "app_v1", n=50, dim=8)
    fill(target.client, "app_v2", n=50, dim=8)
    aliases.execute_switch(target, aliases.plan_switch(target, "prod", "app_v2"))
    rep = assess(gather(target))
    assert rep.status == "yellow"  # no snapshots yet, and app_v1 is an unused old version
    assert by(rep, "snapshot_age", "app_v1").status == "yellow"
    assert by(rep, "unused_version", "app_v1").status == "yellow"
    target.client.create_snapshot("app_v2")
    only = assess(gather(target, "prod"))
    assert {i.subject for i in only.indicators} == {"app_v2", "prod"}
    assert only.status == "green" and only.exit_code == 0


def test_guard_rails_are_a_hint_not_a_warning() -> None:
    off = by(report([facts()]), "guard_rails", "app_v1")
    assert off.status == "green" and off.action and "strict_mode_config" in off.action
    on = by(report([facts(strict_mode={"max_query_limit": 10})]), "guard_rails", "app_v1")
    assert on.status == "green" and on.symptom == "strict mode on: max_query_limit=10"
    assert on.action is None


def test_gather_reads_strict_mode(target: Target) -> None:
    fill(target.client, "guarded", n=5, dim=8)
    assert by(assess(gather(target)), "guard_rails", "guarded").action is not None
    strict = models.StrictModeConfig(enabled=True, max_query_limit=7)
    target.client.update_collection("guarded", strict_mode_config=strict)
    rails = by(assess(gather(target)), "guard_rails", "guarded")
    assert rails.symptom == "strict mode on: max_query_limit=7" and rails.status == "green"


def test_configuration_warnings_are_hints(target: Target) -> None:
    """Qdrant's warnings about a collection's configuration (a setting it ignores) show as
    green indicators with an action; none without warnings."""
    inline = models.HnswConfigDiff(inline_storage=True)
    params = models.VectorParams(size=8, distance=models.Distance.DOT, hnsw_config=inline)
    target.client.create_collection("inline", vectors_config=params)
    fill(target.client, "plain", n=5, dim=8)
    rep = assess(gather(target))
    (config,) = [i for i in rep.indicators if i.name == "config"]
    assert config.subject == "inline" and config.status == "green"
    assert "requires quantization to be enabled" in config.symptom
    assert config.action and "PATCH /collections/inline" in config.action
