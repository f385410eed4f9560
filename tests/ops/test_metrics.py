"""`Target.metrics()` and `crewchief metrics`: Prometheus text for both kinds of target."""

from __future__ import annotations

from crewchief.ops import aliases
from crewchief.target import Target
from tests.helpers import fill
from tests.ops.promtext import labels, parse


def test_metrics_of_both_kinds(target: Target) -> None:
    fill(target.client, "app_v1", n=30, dim=4)
    fill(target.client, "app_v2", n=10, dim=4)
    aliases.execute_switch(target, aliases.plan_switch(target, "prod", "app_v1"))
    target.client.create_snapshot("app_v1")
    got = parse(target.metrics())
    assert got[("collections_total", labels())] == 2
    # Qdrant's label for the collection in collection_points is `id`
    assert got[("collection_points", labels(id="app_v1"))] == 30
    assert got[("collection_points", labels(id="app_v2"))] == 10
    assert got[("crewchief_alias_target", labels(alias="prod", collection="app_v1"))] == 1
    assert ("crewchief_last_snapshot_timestamp_seconds", labels(collection="app_v1")) in got
    assert ("crewchief_last_snapshot_timestamp_seconds", labels(collection="app_v2")) not in got
    # request counters exist only where a server counts requests
    counted = {name for name, _ in got if name.startswith("rest_responses")}
    assert bool(counted) == (target.kind == "remote")
