"""Aliases: all-or-nothing batches, resolution everywhere, and the history journal."""

from __future__ import annotations

import pytest
from qdrant_client import models

from crewchief import Engine
from crewchief.engine.catalog import plan_alias_changes
from crewchief.errors import AliasNotFound, AlreadyExists, CollectionNotFound, InvalidName
from tests.helpers import fill


def create(alias: str, collection: str) -> models.CreateAliasOperation:
    return models.CreateAliasOperation(
        create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)
    )


def delete(alias: str) -> models.DeleteAliasOperation:
    return models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))


def rename(old: str, new: str) -> models.RenameAliasOperation:
    return models.RenameAliasOperation(
        rename_alias=models.RenameAlias(old_alias_name=old, new_alias_name=new)
    )


@pytest.fixture
def two(engine: Engine) -> Engine:
    fill(engine, "v1", n=30, dim=4, seed=1)
    fill(engine, "v2", n=40, dim=4, seed=2)
    return engine


def test_alias_resolves_in_every_call(two: Engine) -> None:
    two.update_collection_aliases([create("prod", "v1")])
    assert two.count("prod").count == 30
    assert two.get_collection("prod").points_count == 30
    assert len(two.retrieve("prod", [1, 2])) == 2
    assert len(two.scroll("prod", limit=5)[0]) == 5
    assert two.query_points("prod", query=[1, 0, 0, 0], limit=3).points
    two.upsert("prod", [models.PointStruct(id=999, vector=[1, 1, 1, 1])])
    assert two.count("v1").count == 31
    assert two.create_snapshot("prod").name.startswith("v1-")


def test_switch_is_one_batch_and_recorded(two: Engine) -> None:
    two.update_collection_aliases([create("prod", "v1")])
    two.update_collection_aliases([delete("prod"), create("prod", "v2")])
    assert two.count("prod").count == 40
    history = [(c.alias, c.old, c.new, c.op) for c in two.alias_history("prod")]
    assert history == [("prod", None, "v1", "create"), ("prod", "v1", "v2", "switch")]
    assert two.get_collection_aliases("v2").aliases == [
        models.AliasDescription(alias_name="prod", collection_name="v2")
    ]
    assert two.get_collection_aliases("v1").aliases == []


def test_failing_batch_changes_nothing(two: Engine) -> None:
    two.update_collection_aliases([create("prod", "v1"), create("staging", "v2")])
    before = two.get_aliases()
    history_before = two.alias_history()
    for bad in (
        [delete("prod"), create("prod", "missing")],
        [create("prod", "v2"), delete("nope")],
        [rename("prod", "staging")],
        [create("v2", "v1")],  # an alias may not take a collection's name
        [create("", "v1")],
    ):
        with pytest.raises((CollectionNotFound, AliasNotFound, AlreadyExists, InvalidName)) as e:
            two.update_collection_aliases(bad)
        assert e.value.hint is not None or isinstance(e.value, AlreadyExists)
        assert two.get_aliases() == before
        assert two.alias_history() == history_before


def test_rename_and_delete(two: Engine) -> None:
    two.update_collection_aliases([create("a", "v1")])
    two.update_collection_aliases([rename("a", "b")])
    assert [a.alias_name for a in two.get_aliases().aliases] == ["b"]
    with pytest.raises(CollectionNotFound):
        two.count("a")
    two.update_collection_aliases([delete("b")])
    assert two.get_aliases().aliases == []


def test_deleting_a_collection_drops_its_aliases(two: Engine) -> None:
    two.update_collection_aliases([create("prod", "v1"), create("other", "v2")])
    two.delete_collection("v1")
    assert [a.alias_name for a in two.get_aliases().aliases] == ["other"]
    last = two.alias_history("prod")[-1]
    assert (last.old, last.new, last.op) == ("v1", None, "collection-deleted")


def test_collection_may_not_take_an_alias_name(two: Engine) -> None:
    two.update_collection_aliases([create("prod", "v1")])
    with pytest.raises(AlreadyExists):
        fill(two, "prod", n=1, dim=4)


def test_aliases_and_history_survive_reopen(two: Engine) -> None:
    two.update_collection_aliases([create("prod", "v1")])
    two.update_collection_aliases([delete("prod"), create("prod", "v2")])
    path = two.path
    two.close()
    with Engine(path) as again:
        assert again.count("prod").count == 40
        assert [c.new for c in again.alias_history("prod")] == ["v1", "v2"]


def test_plan_is_pure_and_nets_out_changes() -> None:
    aliases = {"prod": "v1"}
    new, changes = plan_alias_changes(aliases, {"v1", "v2"}, [delete("prod"), create("prod", "v2")])
    assert aliases == {"prod": "v1"}  # input untouched
    assert new == {"prod": "v2"}
    assert changes == [("prod", "v1", "v2", "switch")]
    _, none = plan_alias_changes(aliases, {"v1"}, [delete("prod"), create("prod", "v1")])
    assert none == []
