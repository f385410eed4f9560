"""Health of collections with named, sparse and multi vectors, on both kinds of target:
sizes and indexed shares count the vectors the points really hold, and a collection with
sparse vectors only (no dense vector) is assessed without a dense index to build."""

from __future__ import annotations

from qdrant_client import models

from crewchief.ops.health import assess, gather
from crewchief.target import Target
from tests.ops.test_health import by, facts, report
from tests.vector_kinds import N, make_kinds

# points holding each vector in tests.vector_kinds: every point has `dense` and `text`,
# two in three `half` and `colbert`, three in four `bytes` and `tags`
HELD = N + N + 40 + 40 + 45 + 45


def test_every_vector_kind_is_counted_as_held(target: Target) -> None:
    make_kinds(target.client)
    target.client.create_collection(
        "words", vectors_config={}, sparse_vectors_config={"w": models.SparseVectorParams()}
    )
    sv = models.SparseVector(indices=[2, 3], values=[1.0, 0.5])
    target.client.upsert("words", [models.PointStruct(id=i, vector={"w": sv}) for i in range(30)])
    found = gather(target)
    hybrid = next(c for c in found.collections if c.name == "hybrid")
    assert hybrid.vectors == HELD and hybrid.vectors_per_point == 6
    assert sorted(hybrid.dense) == ["bytes", "colbert", "dense", "half"]
    assert sorted(hybrid.sparse) == ["tags", "text"] and hybrid.dim == 5.0
    assert hybrid.indexed_pct is not None and 0 < hybrid.indexed_pct <= 100
    words = next(c for c in found.collections if c.name == "words")
    assert (words.vectors, words.dense, words.sparse, words.dim) == (30, [], ["w"], 0.0)
    rep = assess(found)
    assert by(rep, "indexing", "hybrid").status == "green"
    assert by(rep, "indexing", "words").status == "green"
    assert by(rep, "indexing", "words").symptom == "30 sparse vectors: no dense index to build"
    assert by(rep, "status", "words").status == "green"


def test_unindexed_dense_vectors_still_warn_beside_sparse_ones() -> None:
    """Held vectors, not points x names: 10,000 points holding 25,000 vectors, 5,000 indexed
    (the sparse ones), so 20,000 dense vectors of 384 dimensions are brute force."""
    c = facts(
        points=10_000,
        indexed=5_000,
        vectors_per_point=3,
        stored_vectors=25_000,
        dense=["a", "b"],
        sparse=["s"],
    )
    ind = by(report([c]), "indexing", "app_v1")
    assert ind.status == "yellow" and ind.symptom.startswith("20000 of 25000 vectors (80%)")
    assert c.indexed_pct == 20.0
    empty = facts(points=0, indexed=0, stored_vectors=0, dense=[], sparse=[])
    assert by(report([empty]), "indexing", "app_v1").symptom == (
        "no vectors: no dense index to build"
    )
    assert empty.indexed_pct is None
