"""update_collection and named vectors on the real engine: applied to the shard for real,
echoed, surviving a restart and a snapshot, and refused without a trace when bad.

What the shard holds is read from the segments Edge writes (segment.json per segment:
its index parameters and quantization), so "applied" means the engine built it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from qdrant_client import models

from crewchief import Engine
from crewchief.core.collection_config import config_json, create_kwargs
from crewchief.engine.builder import DELAY_ENV
from crewchief.errors import InvalidInput, ValidationFailed
from tests.helpers import fill

LOW = models.OptimizersConfigDiff(indexing_threshold=10)  # index even small collections


def settle(engine: Engine, name: str) -> None:
    """Wait for the collection's running build (and any build it leads to)."""
    col = engine.collection(name)
    while (builder := col._builder) is not None:
        builder.join()
    assert col.last_build is None or col.last_build.error is None


def segments(engine: Engine, name: str) -> list[dict[str, Any]]:
    """Each indexed segment's vector data config, as Edge wrote it."""
    out = []
    for f in sorted(Path(engine.collection(name).shard_dir).glob("segments/*/segment.json")):
        data = json.loads(f.read_text())["config"]["vector_data"]
        if any(v["index"]["type"] == "hnsw" for v in data.values()):
            out.append(data)
    return out


@pytest.fixture
def engine(tmp_path: Path) -> Any:
    e = Engine(tmp_path / "data")
    yield e
    e.close()


def test_hnsw_change_rebuilds_the_index_with_the_new_params(engine: Engine, monkeypatch) -> None:
    fill(engine, "c", n=1500, optimizers_config=LOW)
    settle(engine, "c")
    assert [s[""]["index"]["options"]["m"] for s in segments(engine, "c")] == [16]
    monkeypatch.setenv(DELAY_ENV, "0.5")
    engine.update_collection("c", hnsw_config=models.HnswConfigDiff(m=8, ef_construct=64))
    info = engine.get_collection("c")
    assert info.status == models.CollectionStatus.YELLOW  # rebuilding in the background
    assert (info.config.hnsw_config.m, info.config.hnsw_config.ef_construct) == (8, 64)
    assert info.config.hnsw_config.full_scan_threshold == 10000  # untouched fields kept
    settle(engine, "c")
    (seg,) = segments(engine, "c")
    assert (seg[""]["index"]["options"]["m"], seg[""]["index"]["options"]["ef_construct"]) == (
        8,
        64,
    )
    assert engine.get_collection("c").status == models.CollectionStatus.GREEN
    assert engine.count("c").count == 1500


def test_quantization_set_change_and_disable(engine: Engine) -> None:
    fill(engine, "q", n=1500, optimizers_config=LOW)
    engine.create_payload_index("q", "genre", models.PayloadSchemaType.KEYWORD)
    settle(engine, "q")
    scalar = models.ScalarQuantization(
        scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, always_ram=True)
    )
    engine.update_collection("q", quantization_config=scalar)
    settle(engine, "q")
    assert engine.get_collection("q").config.quantization_config == scalar
    assert segments(engine, "q")[0][""]["quantization_config"] == {
        "scalar": {"type": "int8", "always_ram": True}
    }
    binary = models.BinaryQuantization(binary=models.BinaryQuantizationConfig(always_ram=False))
    engine.update_collection("q", quantization_config=binary)
    settle(engine, "q")
    assert segments(engine, "q")[0][""]["quantization_config"] == {"binary": {"always_ram": False}}

    engine.update_collection("q", quantization_config=models.Disabled.DISABLED)
    assert engine.get_collection("q").config.quantization_config is None
    settle(engine, "q")  # Edge cannot drop it in place: a new shard, points copied
    assert all(s[""]["quantization_config"] is None for s in segments(engine, "q"))
    assert "pending" not in engine.catalog.collections["q"]
    info = engine.get_collection("q")
    assert info.points_count == 1500
    assert info.payload_schema["genre"].data_type == models.PayloadSchemaType.KEYWORD
    query = engine.retrieve("q", [42], with_vectors=True)[0].vector
    after = engine.query_points("q", query=query, limit=5).points
    exact = engine.query_points(
        "q", query=query, limit=5, search_params=models.SearchParams(exact=True)
    ).points
    assert after[0].id == 42 and [p.id for p in after] == [p.id for p in exact]
    assert engine.retrieve("q", [7])[0].payload["genre"]  # payloads copied too


def test_named_vector_params_hnsw_quantization_on_disk(engine: Engine) -> None:
    engine.create_collection(
        "n",
        vectors_config={
            "a": models.VectorParams(size=8, distance=models.Distance.DOT),
            "b": models.VectorParams(size=4, distance=models.Distance.EUCLID),
        },
        optimizers_config=LOW,
    )
    engine.upsert(
        "n",
        [
            models.PointStruct(id=i, vector={"a": [i % 7 + 0.5] * 8, "b": [i % 5 + 0.1] * 4})
            for i in range(1500)
        ],
    )
    settle(engine, "n")
    scalar = models.ScalarQuantization(scalar=models.ScalarQuantizationConfig(type="int8"))
    engine.update_collection(
        "n",
        vectors_config={
            "a": models.VectorParamsDiff(
                hnsw_config=models.HnswConfigDiff(m=6), quantization_config=scalar, on_disk=True
            )
        },
    )
    a = engine.get_collection("n").config.params.vectors["a"]
    assert (a.hnsw_config.m, a.quantization_config, a.on_disk) == (6, scalar, True)
    settle(engine, "n")
    (seg,) = segments(engine, "n")
    assert seg["a"]["index"]["options"]["m"] == 6
    assert seg["a"]["quantization_config"] == {"scalar": {"type": "int8"}}
    assert seg["a"]["storage_type"] == "Mmap"
    assert seg["b"]["index"]["options"]["m"] == 16 and seg["b"]["quantization_config"] is None
    # a vector's own quantization can be dropped in place
    engine.update_collection(
        "n", vectors_config={"a": models.VectorParamsDiff(quantization_config="Disabled")}
    )
    settle(engine, "n")
    assert segments(engine, "n")[0]["a"]["quantization_config"] is None
    assert engine.get_collection("n").config.params.vectors["a"].hnsw_config.m == 6


def test_optimizer_threshold_change_decides_when_builds_start(engine: Engine) -> None:
    fill(engine, "o", n=1500, optimizers_config=models.OptimizersConfigDiff(indexing_threshold=0))
    col = engine.collection("o")
    assert col.last_build is None and engine.get_collection("o").indexed_vectors_count == 0
    engine.update_collection(
        "o", optimizers_config=models.OptimizersConfigDiff(indexing_threshold=10)
    )
    assert col.last_build is not None  # the lower threshold made a build due at once
    settle(engine, "o")
    assert engine.get_collection("o").indexed_vectors_count == 1500
    info = engine.get_collection("o").config.optimizer_config
    assert info.indexing_threshold == 10 and info.deleted_threshold == 0.2


def test_metadata_strict_mode_and_params_survive_restart_and_snapshot(tmp_path: Path) -> None:
    with Engine(tmp_path / "d") as engine:
        fill(engine, "m", n=50, metadata={"team": "search", "owner": "ana"})
        engine.update_collection("m", metadata={"owner": None, "model": "e5"})
        engine.update_collection(
            "m", strict_mode_config=models.StrictModeConfig(enabled=True, max_query_limit=50)
        )
        engine.update_collection("m", strict_mode_config=models.StrictModeConfig(max_timeout=9))
        engine.update_collection(
            "m",
            collection_params=models.CollectionParamsDiff(on_disk_payload=False),
            hnsw_config=models.HnswConfigDiff(m=24),
        )
        config = engine.get_collection("m").config
        assert config.metadata == {"team": "search", "model": "e5"}
        strict = config.strict_mode_config
        assert (strict.enabled, strict.max_query_limit, strict.max_timeout) == (True, 50, 9)
        assert config.params.on_disk_payload is False and config.hnsw_config.m == 24
        snap = engine.create_snapshot("m")
        assert snap is not None
        location = engine.snapshot_file("m", snap.name).as_uri()
    with Engine(tmp_path / "d") as engine:
        assert engine.get_collection("m").config == config
        engine.recover_snapshot("m_copy", location)
        assert engine.get_collection("m_copy").config == config
        assert engine.count("m_copy").count == 50
        # migrate and backups recreate it from the JSON: the new parts come along
        engine.create_collection("m_mig", **create_kwargs(config_json(config)))
        again = engine.get_collection("m_mig").config
        assert again.metadata == config.metadata and again.strict_mode_config == strict
        assert again.hnsw_config.m == 24 and again.params.on_disk_payload is False


def test_refusals_change_nothing(engine: Engine) -> None:
    fill(engine, "r", n=20)
    before = engine.get_collection("r").config
    catalog = dict(engine.catalog.collections["r"])
    with pytest.raises(InvalidInput, match="Not existing vector name error: nope"):
        engine.update_collection(
            "r",
            hnsw_config=models.HnswConfigDiff(m=8),  # valid, but the whole update is refused
            vectors_config={"nope": models.VectorParamsDiff(on_disk=True)},
        )
    with pytest.raises(ValidationFailed, match=r"ef_construct: value 2 invalid, must be 4"):
        engine.update_collection("r", hnsw_config=models.HnswConfigDiff(ef_construct=2))
    with pytest.raises(ValidationFailed, match="deleted_threshold: value 1.5 invalid"):
        engine.update_collection(
            "r", optimizers_config=models.OptimizersConfigDiff(deleted_threshold=1.5)
        )
    with pytest.raises(InvalidInput, match="prevent_unoptimized` cannot be changed"):
        engine.update_collection(
            "r", optimizers_config=models.OptimizersConfigDiff(prevent_unoptimized=True)
        )
    with pytest.raises(InvalidInput, match="one replica"):
        engine.update_collection(
            "r", collection_params=models.CollectionParamsDiff(replication_factor=3)
        )
    with pytest.raises(InvalidInput, match="Not existing vector name error: s"):
        engine.update_collection("r", sparse_vectors_config={"s": models.SparseVectorParams()})
    assert engine.get_collection("r").config == before
    assert engine.catalog.collections["r"] == catalog
    with pytest.raises(Exception, match="doesn't exist"):
        engine.update_collection("missing", metadata={"a": 1})


def test_update_through_an_alias_changes_its_collection(engine: Engine) -> None:
    fill(engine, "v1", n=10)
    engine.update_collection_aliases(
        [
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name="v1", alias_name="live")
            )
        ]
    )
    engine.update_collection("live", metadata={"via": "alias"})
    assert engine.get_collection("v1").config.metadata == {"via": "alias"}
    assert "live" not in engine.catalog.collections


def test_named_vector_create_write_delete_and_restart(tmp_path: Path) -> None:
    dense = models.DenseVectorNameConfig(
        dense=models.DenseVectorConfig(size=4, distance=models.Distance.DOT)
    )
    with Engine(tmp_path / "d") as engine:
        fill(engine, "nv", n=30, dim=8)
        result = engine.create_vector_name("nv", "extra", dense)
        assert result.status == models.UpdateStatus.COMPLETED
        vectors = engine.get_collection("nv").config.params.vectors
        assert set(vectors) == {"", "extra"} and vectors["extra"].size == 4
        engine.upsert(
            "nv", [models.PointStruct(id=3, vector={"": [0.5] * 8, "extra": [1, 2, 3, 4]})]
        )
        got = engine.retrieve("nv", [3, 4], with_vectors=True)
        assert got[0].vector["extra"] == [1.0, 2.0, 3.0, 4.0] and "extra" not in got[1].vector
        hits = engine.query_points("nv", query=[1, 0, 0, 0], using="extra", limit=5).points
        assert [h.id for h in hits] == [3]
        engine.create_vector_name("nv", "extra", dense)  # the same again: nothing changes
        other = models.DenseVectorNameConfig(
            dense=models.DenseVectorConfig(size=5, distance=models.Distance.DOT)
        )
        with pytest.raises(InvalidInput, match="already exists with a different configuration"):
            engine.create_vector_name("nv", "extra", other)
        with pytest.raises(InvalidInput, match='cannot contain "/" char'):
            engine.create_vector_name("nv", "a/b", dense)
    with Engine(tmp_path / "d") as engine:  # survives a restart, data included
        assert engine.retrieve("nv", [3], with_vectors=True)[0].vector["extra"] == [1, 2, 3, 4]
        engine.delete_vector_name("nv", "extra")
        engine.delete_vector_name("nv", "never-was")  # as in Qdrant: no error
        assert set(engine.get_collection("nv").config.params.vectors) == {""}
        assert engine.retrieve("nv", [3], with_vectors=True)[0].vector == pytest.approx(
            [8**-0.5] * 8
        )
        with pytest.raises(InvalidInput, match="Not existing vector name error: extra"):
            engine.upsert("nv", [models.PointStruct(id=3, vector={"extra": [1, 2, 3, 4]})])
    with Engine(tmp_path / "d") as engine:
        assert set(engine.get_collection("nv").config.params.vectors) == {""}
        assert engine.count("nv").count == 30


def test_a_change_cut_short_is_redone_on_open(tmp_path: Path) -> None:
    """The catalog commits first with a note; a crash before the shard follows is redone."""
    with Engine(tmp_path / "d") as engine:
        fill(engine, "x", n=1500, optimizers_config=LOW)
        settle(engine, "x")
        old = engine.get_collection("x").config
        new = old.model_copy(update={"hnsw_config": old.hnsw_config.model_copy(update={"m": 4})})
        engine._collections._commit("x", new, "reload")  # ...and the process dies here
    with Engine(tmp_path / "d") as engine:
        settle(engine, "x")
        assert segments(engine, "x")[0][""]["index"]["options"]["m"] == 4
        assert "pending" not in engine.catalog.collections["x"]
