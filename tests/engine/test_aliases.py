"""Aliases: all-or-nothing batches, resolution everywhere, and the history journal."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from qdrant_client import QdrantClient, models

from crewchief import Engine
from crewchief.core.aliases import plan_alias_changes
from crewchief.engine.catalog import HISTORY
from crewchief.errors import (
    AliasNotFound,
    AlreadyExists,
    CollectionNotFound,
    InvalidInput,
    InvalidName,
)
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


def local_twin(engine: Engine) -> QdrantClient:
    """QdrantClient(":memory:") holding the engine's collections, points and aliases."""
    local = QdrantClient(":memory:")
    for c in engine.get_collections().collections:
        vectors = engine.get_collection(c.name).config.params.vectors
        local.create_collection(c.name, vectors_config=vectors)
        records, _ = engine.scroll(c.name, limit=1000, with_vectors=True)
        local.upsert(
            c.name,
            [models.PointStruct(id=r.id, vector=r.vector, payload=r.payload) for r in records],
        )
    local.update_collection_aliases(
        [create(a.alias_name, a.collection_name) for a in engine.get_aliases().aliases]
    )
    return local


@pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning")
@pytest.mark.filterwarnings("ignore:Local mode performs exact:UserWarning")
def test_alias_resolves_in_every_call(two: Engine) -> None:
    two.update_collection_aliases([create("prod", "v1")])
    local = local_twin(two)
    q, exact = [0.3, -0.2, 0.9, 0.1], models.SearchParams(exact=True)
    reads: list[Callable[[Any], Any]] = [
        lambda c: c.collection_exists("prod"),
        lambda c: c.get_collection("prod").points_count,
        lambda c: c.get_collection_aliases("v1").aliases,
        lambda c: c.get_collection_aliases("prod").aliases,  # not resolved: empty, as in Qdrant
        lambda c: c.count("prod").count,
        lambda c: sorted(r.id for r in c.retrieve("prod", [1, 2, 500])),
        lambda c: [(r.id, r.payload) for r in c.scroll("prod", limit=5, offset=3)[0]],
        lambda c: c.scroll("prod", limit=5, offset=3)[1],
        lambda c: [p.id for p in c.query_points("prod", query=q, search_params=exact).points],
    ]
    for read in reads:
        assert read(two) == read(local)
    assert [read(two) for read in (reads[0], reads[1], reads[3], reads[4])] == [True, 30, [], 30]

    for c in (two, local):  # writes through the alias land in v1
        c.upsert("prod", [models.PointStruct(id=999, vector=[1, 1, 1, 1])])
        c.upload_points("prod", [models.PointStruct(id=1000, vector=[1, 0, 1, 0])])
        c.delete("prod", [1, 2])
        c.create_payload_index("prod", "genre", field_schema=models.PayloadSchemaType.KEYWORD)
        assert c.delete_collection("prod") is False  # a collection is deleted by its own name
    assert two.count("v1").count == local.count("v1").count == 30
    local.close()
    assert "genre" in two.get_collection("v1").payload_schema
    two.delete_payload_index("prod", "genre")
    assert two.get_collection("v1").payload_schema == {}

    # crewchief's own calls and snapshots (local mode has none)
    assert two.collection("prod").name == "v1"
    assert two.optimize("prod") is True
    snap = two.create_snapshot("prod")
    assert snap.name.startswith("v1-")
    assert two.list_snapshots("prod") == two.list_snapshots("v1") == [snap]
    path = two.snapshot_file("prod", snap.name)
    assert path == two.snapshot_file("v1", snap.name)
    two.upsert("prod", [models.PointStruct(id=2000, vector=[0, 1, 0, 1])])
    assert two.recover_snapshot("prod", str(path)) is True  # into v1, as Qdrant does
    assert two.count("v1").count == 30 and two.count("v2").count == 40
    assert [c.name for c in two.get_collections().collections] == ["v1", "v2"]
    assert two.get_aliases().aliases == [
        models.AliasDescription(alias_name="prod", collection_name="v1")
    ]
    assert two.delete_snapshot("prod", snap.name) is True
    assert two.list_snapshots("v1") == []


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


@pytest.mark.parametrize("bad", ["", "..", "a/b", "x" * 256, "nul\0", "bell\a"])
def test_invalid_alias_names_change_nothing(two: Engine, bad: str) -> None:
    two.update_collection_aliases([create("prod", "v1")])
    before, journal = two.get_aliases(), (two.path / HISTORY).read_bytes()
    for batch in ([create(bad, "v2")], [rename("prod", bad)]):
        with pytest.raises(InvalidName) as exc:
            two.update_collection_aliases(batch)
        assert exc.value.hint
        assert two.get_aliases() == before
        assert (two.path / HISTORY).read_bytes() == journal
        assert json.loads((two.path / "catalog.json").read_text())["aliases"] == {"prod": "v1"}


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
    with pytest.raises(InvalidInput, match="Alias with the same name already exists"):
        fill(two, "prod", n=1, dim=4)  # Qdrant: 400 bad input, not a 409 conflict


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
