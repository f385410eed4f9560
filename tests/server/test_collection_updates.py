"""PATCH /collections/{name} and PUT/DELETE /collections/{name}/vectors/{vector_name}
through the real qdrant-client against `crewchief serve`: applied, echoed, refused with
Qdrant's status codes and texts, and kept across a restart of the server."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.server.conftest import qdrant
from tests.server.data import points
from tests.server.serverproc import start_server


def wait_green(client: QdrantClient, name: str, timeout: float = 60) -> models.CollectionInfo:
    deadline = time.monotonic() + timeout
    while True:
        info = client.get_collection(name)
        if info.status == models.CollectionStatus.GREEN or time.monotonic() > deadline:
            return info
        time.sleep(0.1)


def test_update_collection_applies_and_echoes(client: QdrantClient, name: str) -> None:
    client.create_collection(
        name,
        vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=0),
    )
    client.upsert(name, points(1500, 4), wait=True)
    assert client.get_collection(name).indexed_vectors_count == 0
    scalar = models.ScalarQuantization(scalar=models.ScalarQuantizationConfig(type="int8"))
    assert client.update_collection(
        name,
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=10),
        hnsw_config=models.HnswConfigDiff(m=8),
        quantization_config=scalar,
        metadata={"team": "search"},
        strict_mode_config=models.StrictModeConfig(enabled=True, max_query_limit=100),
    )
    info = wait_green(client, name)
    assert info.status == models.CollectionStatus.GREEN
    assert info.indexed_vectors_count == 1500  # the lower threshold started a build
    config = info.config
    assert config.hnsw_config.m == 8 and config.quantization_config == scalar
    assert config.optimizer_config.indexing_threshold == 10
    assert config.metadata == {"team": "search"}
    assert config.strict_mode_config.max_query_limit == 100
    client.update_collection(name, quantization_config=models.Disabled.DISABLED)
    assert client.get_collection(name).config.quantization_config is None
    info = wait_green(client, name)
    assert info.points_count == 1500 and info.indexed_vectors_count == 1500


def test_patch_refusals_answer_like_qdrant(
    client: QdrantClient, http: httpx.Client, name: str
) -> None:
    client.create_collection(
        name, vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
    )
    before = http.get(f"/collections/{name}").json()["result"]["config"]
    r = http.patch(
        f"/collections/{name}",
        json={"hnsw_config": {"m": 4}, "vectors": {"nope": {"on_disk": True}}},
    )
    assert r.status_code == 400
    assert r.json()["status"]["error"] == "Wrong input: Not existing vector name error: nope"
    r = http.patch(f"/collections/{name}", json={"hnsw_config": {"ef_construct": 1}})
    assert r.status_code == 422
    assert "hnsw_config.ef_construct: value 1 invalid, must be 4 or larger" in r.text
    r = http.patch(f"/collections/{name}", json={"optimizers_config": {"bogus": 1}})
    assert r.status_code == 200  # an unknown field is ignored, as Qdrant ignores it
    r = http.patch(f"/collections/{name}", json={"params": {"replication_factor": 2}})
    assert r.status_code == 400 and "one replica" in r.json()["status"]["error"]
    r = http.patch("/collections/no_such_collection", json={"metadata": {"a": 1}})
    assert r.status_code == 404
    assert (
        r.json()["status"]["error"] == "Not found: Collection `no_such_collection` doesn't exist!"
    )
    assert http.get(f"/collections/{name}").json()["result"]["config"] == before
    with pytest.raises(UnexpectedResponse) as err:
        client.update_collection(name, vectors_config={"x": models.VectorParamsDiff(on_disk=True)})
    assert err.value.status_code == 400


def test_patch_on_an_alias_changes_its_collection(client: QdrantClient, name: str) -> None:
    client.create_collection(
        name, vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
    )
    alias = name + "_live"
    client.update_collection_aliases(
        [
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=name, alias_name=alias)
            )
        ]
    )
    client.update_collection(alias, metadata={"via": "alias"})
    assert client.get_collection(name).config.metadata == {"via": "alias"}


def test_named_vectors_over_rest(client: QdrantClient, http: httpx.Client, name: str) -> None:
    client.create_collection(
        name, vectors_config={"text": models.VectorParams(size=4, distance=models.Distance.DOT)}
    )
    dense = models.DenseVectorNameConfig(
        dense=models.DenseVectorConfig(size=3, distance=models.Distance.EUCLID)
    )
    result = client.create_vector_name(name, "image", dense)
    assert result.status == models.UpdateStatus.COMPLETED
    assert set(client.get_collection(name).config.params.vectors) == {"text", "image"}
    client.upsert(
        name,
        [models.PointStruct(id=1, vector={"text": [1, 0, 0, 0], "image": [1, 2, 3]})],
        wait=True,
    )
    assert client.retrieve(name, [1], with_vectors=True)[0].vector["image"] == [1, 2, 3]
    r = http.put(
        f"/collections/{name}/vectors/image", json={"dense": {"size": 9, "distance": "Dot"}}
    )
    assert r.status_code == 400
    assert "already exists with a different configuration" in r.json()["status"]["error"]
    r = http.put(f"/collections/{name}/vectors/x", json={"dense": {"size": 3}})
    assert r.status_code == 400  # no distance: Qdrant's "Format error in JSON body"
    assert "Format error in JSON body" in r.json()["status"]["error"]
    for size in (0, 65537):
        r = http.put(
            f"/collections/{name}/vectors/x", json={"dense": {"size": size, "distance": "Dot"}}
        )
        assert r.status_code == 422, r.text  # Qdrant's range rule, before anything is built
        assert r.json()["status"]["error"] == (
            f"Validation error in JSON body: [dense.size: value {size} invalid, "
            "must be from 1 to 65536]"
        )
    r = http.delete(f"/collections/{name}/vectors/image")
    assert r.status_code == 200 and r.json()["result"]["status"] == "acknowledged"
    assert set(client.get_collection(name).config.params.vectors) == {"text"}
    assert client.retrieve(name, [1], with_vectors=True)[0].vector == {"text": [1, 0, 0, 0]}


def test_updates_survive_a_server_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        c = qdrant(server.url)
        c.create_collection(
            "kept", vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT)
        )
        c.upsert("kept", points(20, 4), wait=True)
        c.update_collection("kept", hnsw_config=models.HnswConfigDiff(m=12), metadata={"v": 2})
        c.create_vector_name(
            "kept",
            "extra",
            models.DenseVectorNameConfig(
                dense=models.DenseVectorConfig(size=2, distance=models.Distance.COSINE)
            ),
        )
        before = wait_green(c, "kept").config
        c.close()
    finally:
        server.stop()
    server = start_server(data)
    try:
        c = qdrant(server.url)
        after = c.get_collection("kept").config
        assert after == before
        assert after.hnsw_config.m == 12 and after.metadata == {"v": 2}
        assert "extra" in after.params.vectors
        assert c.count("kept").count == 20
        c.close()
    finally:
        server.stop()


def test_quantization_alias_as_qdrant(http: httpx.Client, name: str) -> None:
    """Qdrant's serde alias `quantization` for `quantization_config`, in a create (collection
    and vector), a PATCH, and refused beside the field itself."""
    scalar = {"scalar": {"type": "int8", "quantile": 0.6}}
    body = {"vectors": {"a": {"size": 4, "distance": "Dot", "quantization": scalar}}}
    assert http.put(f"/collections/{name}", json={**body, "quantization": scalar}).is_success
    config = http.get(f"/collections/{name}").json()["result"]["config"]
    assert config["quantization_config"] == scalar
    assert config["params"]["vectors"]["a"]["quantization_config"] == scalar
    other = {"scalar": {"type": "int8", "quantile": 0.9}}
    assert http.patch(f"/collections/{name}", json={"quantization": other}).is_success
    config = http.get(f"/collections/{name}").json()["result"]["config"]
    assert config["quantization_config"] == other
    both = {**body, "quantization": scalar, "quantization_config": scalar}
    r = http.put(f"/collections/{name}_2", json=both)
    assert r.status_code == 400
    assert (
        r.json()["status"]["error"]
        == "Format error in JSON body: duplicate field `quantization_config`"
    )
