"""Collections and points on the real embedded engine, compared with qdrant-client local mode."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from crewchief import Engine
from crewchief.errors import AlreadyExists, CollectionNotFound, InvalidInput, InvalidName
from tests.helpers import fill


def test_create_inspect_delete(engine: Engine) -> None:
    fill(engine, "movies", n=120, dim=8)
    assert engine.collection_exists("movies")
    assert [c.name for c in engine.get_collections().collections] == ["movies"]
    info = engine.get_collection("movies")
    assert info.points_count == 120
    assert info.segments_count >= 1
    assert info.status == models.CollectionStatus.GREEN
    assert info.optimizer_status == models.OptimizersStatusOneOf.OK
    vectors = info.config.params.vectors
    assert isinstance(vectors, models.VectorParams)
    assert (vectors.size, vectors.distance) == (8, models.Distance.COSINE)
    assert info.config.hnsw_config.m == 16  # Qdrant's default, echoed
    assert engine.delete_collection("movies") is True
    assert not engine.collection_exists("movies")
    assert engine.delete_collection("movies") is False


def test_config_is_echoed_as_created(engine: Engine) -> None:
    engine.create_collection(
        "tuned",
        vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT),
        hnsw_config=models.HnswConfigDiff(m=32, ef_construct=200),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=500),
    )
    cfg = engine.get_collection("tuned").config
    assert (cfg.hnsw_config.m, cfg.hnsw_config.ef_construct) == (32, 200)
    assert cfg.optimizer_config.indexing_threshold == 500


@pytest.mark.parametrize(
    "distance", [models.Distance.COSINE, models.Distance.DOT, models.Distance.EUCLID]
)
def test_exact_search_matches_local_mode(engine: Engine, distance: models.Distance) -> None:
    vectors = fill(engine, "c", n=150, dim=12, distance=distance)
    local = QdrantClient(":memory:")
    local.create_collection("c", vectors_config=models.VectorParams(size=12, distance=distance))
    local.upsert("c", [models.PointStruct(id=i, vector=vectors[i].tolist()) for i in range(150)])
    q = (vectors[3] + 0.6 * vectors[7]).tolist()  # no ties among the top 10
    exact = models.SearchParams(exact=True)
    ours = engine.query_points("c", query=q, limit=10, search_params=exact).points
    theirs = local.query_points("c", query=q, limit=10).points  # local mode is always exact
    assert [p.id for p in ours] == [p.id for p in theirs]
    np.testing.assert_allclose([p.score for p in ours], [p.score for p in theirs], rtol=1e-4)


def test_named_vectors_and_using(engine: Engine) -> None:
    engine.create_collection(
        "multi",
        vectors_config={
            "text": models.VectorParams(size=3, distance=models.Distance.COSINE),
            "image": models.VectorParams(size=2, distance=models.Distance.EUCLID),
        },
    )
    engine.upsert(
        "multi",
        [
            models.PointStruct(id=1, vector={"text": [1, 0, 0], "image": [0, 0]}),
            models.PointStruct(id=2, vector={"text": [0, 1, 0], "image": [5, 5]}),
        ],
    )
    assert engine.query_points("multi", query=[0, 1, 0], using="text", limit=1).points[0].id == 2
    assert engine.query_points("multi", query=[0, 0], using="image", limit=1).points[0].id == 1
    rec = engine.retrieve("multi", [2], with_vectors=True)[0]
    assert isinstance(rec.vector, dict) and rec.vector["image"] == [5.0, 5.0]
    with pytest.raises(InvalidInput, match="Not existing vector name"):
        engine.query_points("multi", query=[0, 1, 0], using="audio")


def test_points_api(engine: Engine) -> None:
    fill(engine, "m", n=50, dim=4)
    recs = engine.retrieve("m", [1, 2, 999], with_payload=True, with_vectors=True)
    assert sorted(r.id for r in recs) == [1, 2]
    assert all(r.vector is not None and r.payload for r in recs)
    page, nxt = engine.scroll("m", limit=20)
    assert len(page) == 20 and nxt == 20
    drama = models.Filter(
        must=[models.FieldCondition(key="genre", match=models.MatchValue(value="drama"))]
    )
    n_drama = engine.count("m", count_filter=drama).count
    assert n_drama == sum(1 for i in range(50) if i % 6 == 0)
    hits = engine.query_points("m", query=[1, 0, 0, 0], query_filter=drama, limit=50).points
    assert {p.payload["genre"] for p in hits if p.payload} == {"drama"}
    assert all(
        p.score >= 0.5
        for p in engine.query_points("m", query=[1, 0, 0, 0], score_threshold=0.5, limit=50).points
    )
    engine.delete("m", points_selector=models.FilterSelector(filter=drama))
    assert engine.count("m").count == 50 - n_drama
    engine.delete("m", points_selector=models.PointIdsList(points=[1, 2]))
    assert engine.retrieve("m", [1, 2]) == []


def test_uuid_ids_and_batch_upsert(engine: Engine) -> None:
    engine.create_collection(
        "u", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
    )
    ids = [str(uuid.UUID(int=i + 1)) for i in range(3)]
    engine.upsert("u", models.Batch(ids=ids, vectors=[[1, 0], [0, 1], [1, 1]]))
    assert sorted(str(r.id) for r in engine.retrieve("u", ids)) == sorted(ids)


def test_payload_index_shows_in_schema(engine: Engine) -> None:
    fill(engine, "p", n=30, dim=4)
    engine.create_payload_index("p", "genre", field_schema=models.PayloadSchemaType.KEYWORD)
    schema = engine.get_collection("p").payload_schema
    assert schema["genre"].data_type == models.PayloadSchemaType.KEYWORD
    assert schema["genre"].points == 30


# -- bad input: a typed error with a hint, and nothing changes ----------------------------------


def test_wrong_vector_size_changes_nothing(engine: Engine) -> None:
    fill(engine, "v", n=10, dim=4)
    with pytest.raises(InvalidInput, match="expected dim: 4, got 3") as exc:
        engine.upsert(
            "v",
            [
                models.PointStruct(id=100, vector=[1, 0, 0, 0]),
                models.PointStruct(id=101, vector=[1, 0, 0]),
            ],
        )
    assert exc.value.hint
    assert engine.count("v").count == 10  # the valid point of the batch was not written either
    with pytest.raises(InvalidInput, match="expected dim: 4"):
        engine.query_points("v", query=[1, 2])


@pytest.mark.parametrize("name", ["", "..", "a/b", ".hidden", "x" * 256, "nul\0", "tab\tname"])
def test_invalid_collection_names(engine: Engine, name: str) -> None:
    with pytest.raises(InvalidName) as exc:
        engine.create_collection(
            name, vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
        )
    assert exc.value.hint
    assert engine.get_collections().collections == []


def test_unknown_and_duplicate_collection(engine: Engine) -> None:
    with pytest.raises(CollectionNotFound) as exc:
        engine.get_collection("nope")
    assert "nope" in str(exc.value) and exc.value.hint
    with pytest.raises(CollectionNotFound):
        engine.upsert("nope", [models.PointStruct(id=1, vector=[1.0])])
    fill(engine, "dup", n=5, dim=2)
    with pytest.raises(AlreadyExists):
        fill(engine, "dup", n=5, dim=2)
    assert engine.count("dup").count == 5


def test_unsupported_features_are_refused_clearly(engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="shard"):
        engine.create_collection(
            "s",
            vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT),
            shard_number=3,
        )
    # Qdrant would hide the points of large unindexed segments: not stored and ignored
    with pytest.raises(InvalidInput, match="prevent_unoptimized` cannot be applied") as err:
        engine.create_collection(
            "s",
            vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT),
            optimizers_config=models.OptimizersConfigDiff(prevent_unoptimized=True),
        )
    assert err.value.hint
    assert not engine.collection_exists("s")


def test_update_modes(engine: Engine) -> None:
    fill(engine, "m", n=3, dim=2)
    before = engine.retrieve("m", [0], with_vectors=True)[0]
    engine.upsert(
        "m",
        [
            models.PointStruct(id=0, vector=[9.0, 9.0], payload={"new": True}),
            models.PointStruct(id=50, vector=[1.0, 1.0]),
        ],
        update_mode=models.UpdateMode.INSERT_ONLY,
    )
    assert engine.retrieve("m", [0], with_vectors=True)[0] == before  # not overwritten
    assert engine.count("m").count == 4
    engine.upsert(
        "m",
        [models.PointStruct(id=0, vector=[1.0, 0.0]), models.PointStruct(id=77, vector=[1.0, 0.0])],
        update_mode=models.UpdateMode.UPDATE_ONLY,
    )
    assert engine.retrieve("m", [0], with_vectors=True)[0].vector != before.vector
    assert engine.retrieve("m", [77]) == []  # not inserted


def test_upload_points_honours_update_mode_and_filter_as_local_mode(engine: Engine) -> None:
    local = QdrantClient(":memory:")
    params = models.VectorParams(size=2, distance=models.Distance.DOT)
    v2 = models.Filter(must=[models.FieldCondition(key="v", match=models.MatchValue(value=2))])
    for c in (engine, local):
        c.create_collection("u", vectors_config=params)
        c.upsert("u", [models.PointStruct(id=i, vector=[1, 0], payload={"v": i}) for i in (1, 2)])
        c.upload_points(
            "u",
            [models.PointStruct(id=i, vector=[0, 1], payload={"v": 9}) for i in (1, 3)],
            update_mode=models.UpdateMode.UPDATE_ONLY,
        )
        c.upload_points(
            "u",
            [models.PointStruct(id=i, vector=[0, 1], payload={"v": 7}) for i in (1, 2)],
            update_filter=v2,  # replaces only the stored points that match: id 2
        )
    ours, theirs = engine.scroll("u"), local.scroll("u")
    assert [(r.id, r.payload) for r in ours[0]] == [(r.id, r.payload) for r in theirs[0]]
    assert [r.payload for r in ours[0]] == [{"v": 9}, {"v": 7}]
    local.close()


@pytest.mark.parametrize(
    "config",
    [
        {"hnsw_config": models.HnswConfigDiff(m=-1)},
        {"hnsw_config": models.HnswConfigDiff(ef_construct=2**64)},
        {"optimizers_config": models.OptimizersConfigDiff(indexing_threshold=-1)},
    ],
)
def test_out_of_range_config_is_refused_before_anything_is_written(
    engine: Engine, config: dict
) -> None:
    with pytest.raises(InvalidInput, match="out of range") as exc:
        engine.create_collection(
            "c", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT), **config
        )
    assert exc.value.hint
    assert engine.get_collections().collections == []
    assert not any((engine.path / "collections").glob("*"))


def test_out_of_range_integers_in_requests_are_bad_input(engine: Engine) -> None:
    fill(engine, "m", n=5, dim=4)
    g = "genre"
    requests = [
        lambda: engine.query_points("m", [1, 2, 3, 4], limit=2**64),
        lambda: engine.query_points("m", [1, 2, 3, 4], offset=-1),
        lambda: engine.query_points("m", [1, 2, 3, 4], search_params=models.SearchParams(
            hnsw_ef=-1)),
        lambda: engine.scroll("m", limit=2**64),
        lambda: engine.count("m", models.Filter(must=[models.FieldCondition(
            key=g, values_count=models.ValuesCount(gt=-1))])),
        lambda: engine.count("m", models.Filter(must=[models.FieldCondition(
            key=g, match=models.MatchValue(value=2**63))])),
        lambda: engine.count("m", models.Filter(must=[models.FieldCondition(
            key=g, match=models.MatchAny(any=[-(2**63) - 1]))])),
        lambda: engine.create_payload_index("m", "t", models.TextIndexParams(
            type=models.TextIndexType.TEXT, min_token_len=-1)),
    ]  # fmt: skip
    for request in requests:
        with pytest.raises(InvalidInput) as exc:
            request()
        assert exc.value.hint
    assert engine.count("m").count == 5
    assert engine.get_collection("m").payload_schema == {}


def test_invalid_payload_keys_are_bad_input(engine: Engine) -> None:
    fill(engine, "m", n=5, dim=4)
    keyword = models.PayloadSchemaType.KEYWORD
    requests = [
        lambda: engine.scroll("m", with_payload=[""]),
        lambda: engine.query_points("m", [1, 2, 3, 4], with_payload=models.PayloadSelectorExclude(
            exclude=["a..b"])),
        lambda: engine.count("m", models.Filter(must=[models.FieldCondition(
            key="a[", match=models.MatchValue(value=1))])),
        lambda: engine.create_payload_index("m", "", keyword),
        lambda: engine.delete_payload_index("m", "a..b"),
    ]  # fmt: skip
    for request in requests:
        with pytest.raises(InvalidInput, match="invalid JSON path") as exc:
            request()
        assert exc.value.hint
    assert engine.get_collection("m").payload_schema == {}
