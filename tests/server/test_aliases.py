"""Aliases over REST, and the zero-downtime switch seen by many clients at once."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.server.conftest import qdrant
from tests.server.data import make_collection, vectors
from tests.server.serverproc import ServerProcess


def create_alias(alias: str, collection: str) -> models.CreateAliasOperation:
    return models.CreateAliasOperation(
        create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)
    )


def delete_alias(alias: str) -> models.DeleteAliasOperation:
    return models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))


def aliases_of(client: QdrantClient) -> dict[str, str]:
    return {a.alias_name: a.collection_name for a in client.get_aliases().aliases}


def test_create_list_rename_delete(client: QdrantClient, name: str) -> None:
    make_collection(client, name, n=5, dim=4)
    alias = f"{name}_alias"
    assert client.update_collection_aliases([create_alias(alias, name)]) is True
    assert aliases_of(client)[alias] == name
    per_collection = client.get_collection_aliases(name).aliases
    assert [(a.alias_name, a.collection_name) for a in per_collection] == [(alias, name)]
    renamed = f"{name}_renamed"
    client.update_collection_aliases(
        [
            models.RenameAliasOperation(
                rename_alias=models.RenameAlias(old_alias_name=alias, new_alias_name=renamed)
            )
        ]
    )
    assert alias not in aliases_of(client)
    assert aliases_of(client)[renamed] == name
    assert client.count(renamed).count == 5
    assert client.get_collection(renamed).points_count == 5
    client.update_collection_aliases([delete_alias(renamed)])
    assert renamed not in aliases_of(client)


def test_alias_errors(client: QdrantClient, http: httpx.Client, name: str) -> None:
    make_collection(client, name, n=1, dim=4)
    r = http.post(
        "/collections/aliases",
        json={"actions": [{"create_alias": {"collection_name": "ghost", "alias_name": "a1"}}]},
    )
    assert r.status_code == 404, r.text
    r = http.post("/collections/aliases", json={"actions": [{"delete_alias": {"alias_name": "x"}}]})
    assert r.status_code == 404, r.text
    r = http.post("/collections/aliases", json={"actions": [{"explode_alias": {}}]})
    assert r.status_code == 400  # Qdrant: no variant of the action matches (serde)
    assert http.get("/collections/ghost/aliases").status_code == 404
    with pytest.raises(UnexpectedResponse):
        client.count("no_such_alias")


def test_a_failing_batch_changes_nothing(client: QdrantClient, name: str) -> None:
    make_collection(client, name, n=1, dim=4)
    alias = f"{name}_a"
    before = aliases_of(client)
    with pytest.raises(UnexpectedResponse):
        client.update_collection_aliases([create_alias(alias, name), delete_alias("not_there")])
    assert aliases_of(client) == before


def test_switch_is_atomic_for_concurrent_clients(server: ServerProcess, name: str) -> None:
    """Readers through the alias see v1 or v2, never an error and never a mix."""
    setup = qdrant(server.url)
    v1, v2, alias = f"{name}_v1", f"{name}_v2", f"{name}_live"
    for collection, version in ((v1, 1), (v2, 2)):
        setup.create_collection(
            collection, vectors_config=models.VectorParams(size=8, distance=models.Distance.COSINE)
        )
        setup.upsert(
            collection,
            [
                models.PointStruct(id=i, vector=v, payload={"version": version})
                for i, v in enumerate(vectors(200, 8, seed=version))
            ],
        )
    setup.update_collection_aliases([create_alias(alias, v1)])
    stop = threading.Event()
    seen: list[int] = []
    problems: list[str] = []

    def reader(seed: int) -> None:
        c = qdrant(server.url)
        q = vectors(1, 8, seed=seed)[0]
        while not stop.is_set():
            try:
                hits = c.query_points(alias, query=q, limit=10, with_payload=True).points
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                problems.append(repr(exc))
                continue
            versions = {h.payload["version"] for h in hits if h.payload}
            if len(versions) != 1 or len(hits) != 10:
                problems.append(f"mixed or short answer: {versions} {len(hits)}")
            else:
                seen.append(versions.pop())
        c.close()

    threads = [threading.Thread(target=reader, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    target = v1
    for _ in range(10):
        time.sleep(0.05)
        old, target = target, (v2 if target == v1 else v1)
        setup.update_collection_aliases([delete_alias(alias), create_alias(alias, target)])
        # once the switch has answered, every new request sees the new target
        expected = 2 if target == v2 else 1
        fresh = setup.query_points(alias, query=[1.0] * 8, limit=1, with_payload=True).points
        assert fresh[0].payload == {"version": expected}, old
    stop.set()
    for t in threads:
        t.join()
    setup.close()
    assert not problems, problems[:5]
    assert set(seen) == {1, 2}


def test_compare_and_set_batch(client: QdrantClient, http: httpx.Client, name: str) -> None:
    """crewchief's extension: an alias batch applied only if every alias is where expected."""
    v1, v2, alias = f"{name}_v1", f"{name}_v2", f"{name}_live"
    make_collection(client, v1, n=1, dim=4)
    make_collection(client, v2, n=1, dim=4)
    create = {"create_alias": {"collection_name": v1, "alias_name": alias}}
    r = http.post("/crewchief/aliases", json={"actions": [create], "expect": {alias: None}})
    assert r.status_code == 200, r.text
    assert [(c["alias"], c["old"], c["new"], c["op"]) for c in r.json()["result"]] == [
        (alias, None, v1, "create")
    ]
    move = [
        {"delete_alias": {"alias_name": alias}},
        {"create_alias": {"collection_name": v2, "alias_name": alias}},
    ]
    stale = http.post("/crewchief/aliases", json={"actions": move, "expect": {alias: v2}})
    assert stale.status_code == 409
    assert "moved by someone else" in stale.json()["status"]["error"]
    assert aliases_of(client)[alias] == v1  # refused: nothing changed
    r = http.post("/crewchief/aliases", json={"actions": move, "expect": {alias: v1}})
    assert r.status_code == 200, r.text
    assert aliases_of(client)[alias] == v2
    # Qdrant's schema for the actions, and `expect` is required
    assert http.post("/crewchief/aliases", json={"actions": move}).status_code == 400
    bad = {"actions": [{"explode_alias": {}}], "expect": {}}
    assert http.post("/crewchief/aliases", json=bad).status_code == 400
    ghost = {"create_alias": {"collection_name": "ghost", "alias_name": alias}}
    r = http.post("/crewchief/aliases", json={"actions": [ghost], "expect": {alias: v2}})
    assert r.status_code == 404 and aliases_of(client)[alias] == v2
