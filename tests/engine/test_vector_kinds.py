"""Vectors of every kind on the embedded engine, compared with qdrant-client's local mode:
dense (float32/float16/uint8), multi-vectors, sparse (IDF), optional per point, batches,
nearest-neighbour queries on each, restart and snapshot round trips."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from crewchief import Engine
from crewchief.errors import InvalidInput, ValidationFailed
from tests.engine import vector_kinds as vk

pytestmark = pytest.mark.filterwarnings("ignore:Local mode performs exact:UserWarning")


def create(client: Any, name: str = "kinds", **kwargs: Any) -> None:
    client.create_collection(
        name,
        vectors_config=vk.vectors_config(),
        sparse_vectors_config=vk.sparse_config(),
        **kwargs,
    )
    client.upsert(name, vk.points())


@pytest.fixture
def local() -> Iterator[QdrantClient]:
    c = QdrantClient(":memory:")
    create(c)
    yield c
    c.close()


@pytest.fixture
def kinds(engine: Engine) -> Engine:
    create(engine)
    return engine


def records(client: Any, name: str = "kinds") -> dict[Any, Any]:
    found = client.retrieve(name, list(range(vk.N)), with_vectors=True, with_payload=True)
    return {r.id: r for r in found}


def test_retrieve_returns_every_kind_as_local_mode(kinds: Engine, local: QdrantClient) -> None:
    ours, theirs = records(kinds), records(local)
    assert set(ours) == set(theirs) == set(range(vk.N))
    for i in ours:
        assert vk.same_vectors(ours[i].vector, theirs[i].vector), i
        assert ours[i].payload == theirs[i].payload
    some = ours[0].vector
    assert isinstance(some["text"], models.SparseVector)
    assert isinstance(some["multi"], list) and isinstance(some["multi"][0], list)
    assert "plain" not in some  # vectors are optional per point


def test_scroll_and_selected_vectors(kinds: Engine, local: QdrantClient) -> None:
    for with_vectors in (True, ["text", "multi"], ["bytes"], False):
        a, _ = kinds.scroll("kinds", limit=vk.N, with_vectors=with_vectors)
        b, _ = local.scroll("kinds", limit=vk.N, with_vectors=with_vectors)
        assert [r.id for r in a] == [r.id for r in b]
        for x, y in zip(a, b, strict=True):
            assert vk.same_vectors(x.vector, y.vector), (with_vectors, x.id)


@pytest.mark.parametrize("q", range(len(vk.queries())))
def test_nearest_on_each_kind_as_local_mode(kinds: Engine, local: QdrantClient, q: int) -> None:
    query, using = vk.queries()[q]
    flt = models.Filter(must=[models.FieldCondition(key="i", range=models.Range(gte=5))])
    for query_filter in (None, flt):
        ours = kinds.query_points(
            "kinds",
            query,
            using=using,
            limit=vk.N,
            search_params=vk.EXACT,
            query_filter=query_filter,
            with_vectors=[using],
        ).points
        theirs = local.query_points(
            "kinds",
            query,
            using=using,
            limit=vk.N,
            query_filter=query_filter,
            with_vectors=[using],
        ).points
        assert ours, using
        assert vk.same_hits(ours, theirs), (using, [p.id for p in ours], [p.id for p in theirs])
        for p, r in zip(ours, theirs, strict=True):
            if p.id == r.id:
                assert vk.same_vectors(p.vector, r.vector)


def test_idf_scores_follow_the_collection(kinds: Engine, local: QdrantClient) -> None:
    """IDF: a term in fewer points weighs more; both sides agree after more points arrive."""
    query = models.SparseVector(indices=[0, 1, 2, 3], values=[1.0, 1.0, 1.0, 1.0])
    extra = [
        models.PointStruct(
            id=1000 + i,
            vector={"dense": [1.0] * 8, "text": models.SparseVector(indices=[0], values=[1.0])},
        )
        for i in range(10)
    ]
    for c in (kinds, local):
        c.upsert("kinds", extra)
    ours = kinds.query_points("kinds", query, using="text", limit=100).points
    theirs = local.query_points("kinds", query, using="text", limit=100).points
    assert vk.same_hits(ours, theirs)
    plain = kinds.query_points(
        "kinds", models.SparseVector(indices=[0], values=[1.0]), using="plain", limit=100
    ).points
    assert all(p.score != pytest.approx(0.0) for p in plain)


def test_batch_with_named_and_sparse_vectors(engine: Engine) -> None:
    local = QdrantClient(":memory:")
    batch = models.Batch(
        ids=[1, 2, 3],
        vectors={
            "dense": [[0.1 * i + j for j in range(8)] for i in range(3)],
            "multi": [
                [[1.0, 0.0, 0.0, 1.0]],
                [[0.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]],
                [[0.5, 0.5, 0.5, 0.5]],
            ],
            "text": [models.SparseVector(indices=[i, 7], values=[1.0, 0.5]) for i in range(3)],
        },
        payloads=[{"n": i} for i in range(3)],
    )
    for c in (engine, local):
        c.create_collection(
            "b", vectors_config=vk.vectors_config(), sparse_vectors_config=vk.sparse_config()
        )
        c.upsert("b", batch)
    a, b = records(engine, "b"), records(local, "b")
    assert set(a) == {1, 2, 3}
    for i in a:
        assert vk.same_vectors(a[i].vector, b[i].vector)
    short = models.Batch(ids=[4, 5], vectors={"dense": [[1.0] * 8]})
    with pytest.raises(InvalidInput, match="Batch has 2 ids"):
        engine.upsert("b", short)
    assert engine.count("b").count == 3


def test_unnamed_multivector_and_sparse_only_collections(engine: Engine) -> None:
    local = QdrantClient(":memory:")
    multi = models.VectorParams(
        size=2,
        distance=models.Distance.DOT,
        multivector_config=models.MultiVectorConfig(
            comparator=models.MultiVectorComparator.MAX_SIM
        ),
    )
    pts = [models.PointStruct(id=i, vector=[[1.0, float(i)], [float(i), -1.0]]) for i in range(5)]
    sp = [
        models.PointStruct(
            id=i, vector={"s": models.SparseVector(indices=[i, 9], values=[1.0, 2.0])}
        )
        for i in range(5)
    ]
    for c in (engine, local):
        c.create_collection("m", vectors_config=multi)
        c.upsert("m", pts)
        c.create_collection(
            "s", vectors_config={}, sparse_vectors_config={"s": models.SparseVectorParams()}
        )
        c.upsert("s", sp)
    q = [[0.5, 1.0], [1.0, 0.0]]
    assert vk.same_hits(engine.query_points("m", q).points, local.query_points("m", q).points)
    qs = models.SparseVector(indices=[2, 9], values=[3.0, 1.0])
    assert vk.same_hits(
        engine.query_points("s", qs, using="s").points,
        local.query_points("s", qs, using="s").points,
    )
    info = engine.get_collection("s")
    assert info.config.params.vectors == {}
    assert set(info.config.params.sparse_vectors or {}) == {"s"}
    assert info.points_count == 5
    assert engine.retrieve("m", [3], with_vectors=True)[0].vector == [[1.0, 3.0], [3.0, -1.0]]


def test_a_collection_without_vectors_is_a_payload_store(tmp_path: Path) -> None:
    """Qdrant allows a collection with no vectors at all (points are ids and payloads):
    filters, counts and queries without a vector answer as local mode, a vector is refused
    with Qdrant's text, and the points survive a restart and a snapshot."""
    engine, local = Engine(tmp_path / "d"), QdrantClient(":memory:")
    pts = [
        models.PointStruct(id=i, vector={}, payload={"n": i, "tag": "ab"[i % 2]}) for i in range(9)
    ]
    for c in (engine, local):
        c.create_collection("p", vectors_config={})
        c.upsert("p", pts)
    odd = models.Filter(must=[models.FieldCondition(key="tag", match=models.MatchValue(value="b"))])

    def answers(c: Any, name: str = "p") -> Any:
        return (
            c.scroll(name, scroll_filter=odd, with_vectors=True),
            c.count(name, count_filter=odd),
            c.query_points(name, query_filter=odd, limit=3).points,
            c.retrieve(name, [2, 5], with_vectors=True),
        )

    assert answers(engine) == answers(local)
    assert engine.get_collection("p").config.params.vectors == {}
    assert engine.get_collection("p").config.params.sparse_vectors is None
    with pytest.raises(InvalidInput, match="Not existing vector name error"):
        engine.upsert("p", [models.PointStruct(id=20, vector=[0.1, 0.2])])
    assert engine.count("p").count == 9
    engine.close()
    engine = Engine(tmp_path / "d")
    assert answers(engine) == answers(local)
    snap = engine.create_snapshot("p")
    assert snap is not None
    engine.recover_snapshot("copy", str(engine.snapshot_file("p", snap.name)))
    assert answers(engine, "copy") == answers(local)
    engine.close()
    local.close()


def test_has_vector_filter(kinds: Engine, local: QdrantClient) -> None:
    for name in ("plain", "bytes", "multi", "text"):
        flt = models.Filter(must=[models.HasVectorCondition(has_vector=name)])
        assert (
            kinds.count("kinds", count_filter=flt).count
            == local.count("kinds", count_filter=flt).count
        )
        a, _ = kinds.scroll("kinds", scroll_filter=flt, limit=vk.N)
        b, _ = local.scroll("kinds", scroll_filter=flt, limit=vk.N)
        assert [r.id for r in a] == [r.id for r in b]


def shard_config(engine: Engine, name: str) -> dict[str, Any]:
    """What the Edge shard itself persisted (read from its folder, not from our catalog)."""
    data: dict[str, Any] = json.loads(
        (engine.collection(name).shard_dir / "edge_config.json").read_text()
    )
    return data


QUANTIZATIONS: list[Any] = [
    models.ScalarQuantization(
        scalar=models.ScalarQuantizationConfig(
            type=models.ScalarType.INT8, quantile=0.99, always_ram=True
        )
    ),
    models.ProductQuantization(
        product=models.ProductQuantizationConfig(compression=models.CompressionRatio.X16)
    ),
    models.BinaryQuantization(
        binary=models.BinaryQuantizationConfig(
            encoding=models.BinaryQuantizationEncoding.TWO_BITS,
            query_encoding=models.BinaryQuantizationQueryEncoding.SCALAR8BITS,
        )
    ),
    models.TurboQuantization(
        turbo=models.TurboQuantQuantizationConfig(bits=models.TurboQuantBitSize.BITS2)
    ),
]
EDGE_KEYS = ["scalar", "product", "binary", "turbo"]


@pytest.mark.parametrize("k", range(4))
def test_quantization_is_built_into_the_shard(engine: Engine, tmp_path: Path, k: int) -> None:
    quant = QUANTIZATIONS[k]
    per_vector = QUANTIZATIONS[(k + 1) % 4]
    engine.create_collection(
        "q",
        vectors_config={
            "a": models.VectorParams(size=8, distance=models.Distance.DOT),
            "b": models.VectorParams(
                size=8,
                distance=models.Distance.DOT,
                quantization_config=per_vector,
                hnsw_config=models.HnswConfigDiff(m=8, max_indexing_threads=1),
                on_disk=True,
            ),
        },
        quantization_config=quant,
        hnsw_config=models.HnswConfigDiff(ef_construct=64),
    )
    assert engine.get_collection("q").config.quantization_config == quant
    cfg = shard_config(engine, "q")
    assert EDGE_KEYS[k] in cfg["quantization_config"]
    b = cfg["vectors"]["b"]
    assert EDGE_KEYS[(k + 1) % 4] in b["quantization_config"]
    assert b["hnsw_config"]["m"] == 8 and b["hnsw_config"]["ef_construct"] == 64
    assert b["hnsw_config"]["max_indexing_threads"] == 1 and b["on_disk"] is True
    if k == 2:
        assert cfg["quantization_config"]["binary"] == {
            "encoding": "two_bits",
            "query_encoding": "scalar8bits",
        }


def test_quantized_search_is_real(tmp_path: Path) -> None:
    """After an index build, a search without rescoring reads the quantized vectors: its
    scores differ from exact ones; `ignore` and exact search give the exact scores back."""
    engine = Engine(tmp_path / "d")
    quant = models.BinaryQuantization(binary=models.BinaryQuantizationConfig())
    engine.create_collection(
        "q",
        vectors_config=models.VectorParams(size=64, distance=models.Distance.DOT),
        quantization_config=quant,
        hnsw_config=models.HnswConfigDiff(full_scan_threshold=10),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=0),
    )
    rng = np.random.default_rng(3)
    data = rng.normal(size=(600, 64)).astype(np.float32)
    engine.upsert("q", models.Batch(ids=list(range(600)), vectors=data.tolist()))
    assert engine.optimize("q")
    query = rng.normal(size=64).astype(np.float32)
    exact = engine.query_points("q", query, limit=5, search_params=vk.EXACT).points
    expected = sorted(data @ query, reverse=True)[:5]
    assert np.allclose([p.score for p in exact], expected, rtol=1e-4)
    raw = models.SearchParams(quantization=models.QuantizationSearchParams(rescore=False))
    quantized = engine.query_points("q", query, limit=5, search_params=raw).points
    assert not np.allclose([p.score for p in quantized], expected, rtol=1e-3)
    ignore = models.SearchParams(
        hnsw_ef=600, quantization=models.QuantizationSearchParams(ignore=True)
    )
    plain = engine.query_points("q", query, limit=5, search_params=ignore).points
    assert np.allclose([p.score for p in plain], expected, rtol=1e-4)
    engine.close()


def test_restart_and_snapshot_keep_every_kind(tmp_path: Path) -> None:
    quant = QUANTIZATIONS[0]
    engine = Engine(tmp_path / "d")
    create(engine, quantization_config=quant)
    before = records(engine)
    engine.close()
    engine = Engine(tmp_path / "d")
    info = engine.get_collection("kinds")
    assert info.config.quantization_config == quant
    assert set(info.config.params.sparse_vectors or {}) == {"text", "plain"}
    assert "scalar" in shard_config(engine, "kinds")["quantization_config"]
    after = records(engine)
    assert set(after) == set(before)
    assert all(vk.same_vectors(after[i].vector, before[i].vector) for i in before)
    q = models.SparseVector(indices=[3, 4, 5], values=[1.0, 1.0, 1.0])
    hits = engine.query_points("kinds", q, using="text", limit=10).points
    snap = engine.create_snapshot("kinds")
    engine.recover_snapshot("copy", str(engine.snapshot_file("kinds", snap.name)))
    copied = records(engine, "copy")
    assert set(copied) == set(before)
    assert all(vk.same_vectors(copied[i].vector, before[i].vector) for i in before)
    assert engine.get_collection("copy").config.quantization_config == quant
    assert vk.same_hits(engine.query_points("copy", q, using="text", limit=10).points, hits)
    engine.close()


def test_vector_names_refused_as_qdrant(engine: Engine) -> None:
    dense = models.VectorParams(size=2, distance=models.Distance.DOT)
    sparse = models.SparseVectorParams()
    with pytest.raises(InvalidInput, match="^Wrong input: Sparse vector name cannot be empty$"):
        engine.create_collection("no", vectors_config={}, sparse_vectors_config={"": sparse})
    with pytest.raises(
        InvalidInput,
        match="^Wrong input: Dense and sparse vector names must be unique - "
        "duplicate found with 'image'$",
    ):
        engine.create_collection(
            "no", vectors_config={"image": dense}, sparse_vectors_config={"image": sparse}
        )
    assert not engine.collection_exists("no")


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (
            {
                "vectors_config": models.VectorParams(
                    size=4, distance=models.Distance.DOT, datatype=models.Datatype.TURBO4
                )
            },
            "turbo4",
        ),
        (
            {
                "vectors_config": {},
                "sparse_vectors_config": {
                    "s": models.SparseVectorParams(
                        index=models.SparseIndexParams(datatype=models.Datatype.TURBO4)
                    )
                },
            },
            r"\[sparse_vectors.s.index.datatype: sparse vectors do not support the `turbo4`",
        ),
    ],
)
def test_what_edge_cannot_do_is_refused(
    engine: Engine, options: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidInput, match=named):
        engine.create_collection("no", **options)
    assert not engine.collection_exists("no")


def test_bad_quantile_and_pinned_vectors_are_validation_errors(engine: Engine) -> None:
    bad_quantile = models.ScalarQuantization(
        scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, quantile=0.1)
    )
    with pytest.raises(ValidationFailed, match="quantile: value 0.1 invalid, must be from 0.5"):
        engine.create_collection(
            "no",
            vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT),
            quantization_config=bad_quantile,
        )
    with pytest.raises(ValidationFailed, match="`pinned` memory placement is not supported"):
        engine.create_collection(
            "no",
            vectors_config=models.VectorParams(
                size=4, distance=models.Distance.DOT, memory=models.Memory.PINNED
            ),
        )
    assert not engine.collection_exists("no")


GOOD = {"dense": [1.0] * 8}
BAD_VECTORS: list[tuple[dict[str, Any], type[Exception], str]] = [
    (
        {"text": models.SparseVector(indices=[1, 2], values=[1.0])},
        ValidationFailed,
        r"values: must be the same length as indices",
    ),
    (
        {"text": models.SparseVector(indices=[1, 1], values=[1.0, 2.0])},
        ValidationFailed,
        r"indices: must be unique",
    ),
    (
        {"multi": [[1.0, 2.0, 3.0, 4.0], [1.0]]},
        ValidationFailed,
        r"all vectors must have the same dimension, found vector with dimension 1",
    ),
    ({"multi": []}, ValidationFailed, r"dense vector must not be empty"),
    ({"multi": [[1.0, 2.0, 3.0, 4.0], []]}, ValidationFailed, r"all vectors must be non-empty"),
    (
        {"multi": [[1.0, 2.0], [3.0, 4.0]]},
        InvalidInput,
        r"Vector dimension error: expected dim: 4, got 2",
    ),
    ({"nope": [1.0] * 8}, InvalidInput, r"Not existing vector name error: nope"),
    ({"text": [1.0, 2.0]}, InvalidInput, r"Conversion between sparse and regular vectors failed"),
    (
        {"dense": models.SparseVector(indices=[1], values=[1.0])},
        InvalidInput,
        r"Conversion between sparse and regular vectors failed",
    ),
    ({"dense": [[1.0] * 8]}, InvalidInput, r"Conversion between multi and regular vectors failed"),
    ({"dense": [1.0] * 7 + [float("nan")]}, InvalidInput, r"Vector contains NaN values"),
    ({"dense": []}, ValidationFailed, r"dense vector must not be empty"),
    ({"half": [1.0] * 3}, InvalidInput, r"expected dim: 8, got 3"),
]


@pytest.mark.parametrize(("vector", "error", "message"), BAD_VECTORS)
def test_bad_vectors_are_refused_and_nothing_is_written(
    kinds: Engine, vector: dict[str, Any], error: type[Exception], message: str
) -> None:
    batch = [
        models.PointStruct(id=500, vector=GOOD),
        models.PointStruct(id=501, vector={**GOOD, **vector}),
    ]
    with pytest.raises(error, match=message):
        kinds.upsert("kinds", batch)
    assert kinds.count("kinds").count == vk.N
    assert kinds.retrieve("kinds", [500, 501]) == []


def test_bad_queries_are_refused(kinds: Engine) -> None:
    with pytest.raises(InvalidInput, match="Conversion between sparse and regular"):
        kinds.query_points("kinds", [1.0, 2.0], using="text")
    with pytest.raises(InvalidInput, match="Conversion between sparse and regular"):
        kinds.query_points("kinds", models.SparseVector(indices=[1], values=[1.0]), using="dense")
    with pytest.raises(ValidationFailed, match="must be unique"):
        kinds.query_points(
            "kinds", models.SparseVector(indices=[1, 1], values=[1.0, 1.0]), using="text"
        )
    with pytest.raises(InvalidInput, match="Not existing vector name error: $"):
        kinds.query_points("kinds", [1.0] * 8)
    with pytest.raises(InvalidInput, match="prefetch"):
        kinds.query_points("kinds", prefetch=[models.Prefetch(query=[1.0] * 8, using="dense")])
    # recommend, discover and the other kinds: tests/engine/test_query_kinds.py


def test_uint8_values_are_stored_as_qdrant_stores_them(kinds: Engine) -> None:
    """Qdrant 1.19 does not refuse uint8 values outside 0..255: it saturates and truncates
    them when it stores them (`as u8`); the engine answers the same."""
    kinds.upsert(
        "kinds", [models.PointStruct(id=700, vector={**GOOD, "bytes": [-5.0, 300.0, 7.9, 255.0]})]
    )
    stored = kinds.retrieve("kinds", [700], with_vectors=["bytes"])[0].vector
    assert stored == {"bytes": [0.0, 255.0, 7.0, 255.0]}


def test_dense_vector_for_a_multivector_name_is_one_row(kinds: Engine) -> None:
    """As in Qdrant, a plain vector given for a multi-vector is a multi-vector of one row."""
    kinds.upsert(
        "kinds", [models.PointStruct(id=701, vector={**GOOD, "multi": [1.0, 2.0, 3.0, 4.0]})]
    )
    stored = kinds.retrieve("kinds", [701], with_vectors=["multi"])[0].vector
    assert stored == {"multi": [[1.0, 2.0, 3.0, 4.0]]}
