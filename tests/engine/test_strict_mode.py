"""Strict mode on the embedded engine: each limit refused over it (with Qdrant's text) and
allowed at it; a refused request changes nothing; disabled strict mode checks nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest
from qdrant_client import models

from crewchief import Engine
from crewchief.errors import RateLimited, StrictModeViolation

VEC = [0.1, 0.2, 0.3, 0.4]


def city(value: str = "Berlin") -> models.Filter:
    return models.Filter(
        must=[models.FieldCondition(key="city", match=models.MatchValue(value=value))]
    )


def setup(engine: Engine, **strict: Any) -> Engine:
    engine.create_collection(
        "c",
        vectors_config={
            "": models.VectorParams(size=4, distance=models.Distance.DOT),
        }[""],
        sparse_vectors_config={"sp": models.SparseVectorParams()},
    )
    engine.upsert(
        "c",
        [
            models.PointStruct(
                id=i, vector=VEC, payload={"city": "Berlin" if i % 2 else "Rome", "n": i}
            )
            for i in range(1, 11)
        ],
    )
    engine.update_collection(
        "c", strict_mode_config=models.StrictModeConfig(enabled=True, **strict)
    )
    return engine


def refused(fn: Any, text: str) -> str:
    with pytest.raises(StrictModeViolation) as err:
        fn()
    assert err.value.message.startswith("Bad request: ")
    assert text in err.value.message, err.value.message
    return err.value.message


def test_query_limit_and_timeout(engine: Engine) -> None:
    e = setup(engine, max_query_limit=4, max_timeout=2)
    assert len(e.query_points("c", VEC, limit=4, timeout=2).points) == 4
    msg = refused(lambda: e.query_points("c", VEC, limit=5), 'Limit exceeded 5 > 4 for "limit"')
    assert msg.endswith('Help: Reduce the "limit" parameter to or below 4.')
    refused(lambda: e.scroll("c", limit=5), 'Limit exceeded 5 > 4 for "limit"')
    refused(lambda: e.query_points("c", VEC, limit=3, timeout=3), 'for "timeout"')
    refused(lambda: e.count("c", timeout=3), 'Limit exceeded 3 > 2 for "timeout"')


def test_matrix_limit_is_sample_times_limit(engine: Engine) -> None:
    e = setup(engine, max_query_limit=15)
    assert e.search_matrix_pairs("c", sample=5, limit=3).pairs  # 15: at the limit
    refused(lambda: e.search_matrix_pairs("c", sample=10, limit=2), "Limit exceeded 20 > 15")
    refused(lambda: e.search_matrix_offsets("c", sample=8, limit=2), "Limit exceeded 16 > 15")


def test_disabled_checks_nothing(engine: Engine) -> None:
    e = setup(engine, max_query_limit=1)
    e.update_collection("c", strict_mode_config=models.StrictModeConfig(enabled=False))
    assert len(e.query_points("c", VEC, limit=10).points) == 10


def test_unindexed_filter_read_and_write(engine: Engine) -> None:
    e = setup(engine, unindexed_filtering_retrieve=False, unindexed_filtering_update=False)
    msg = refused(
        lambda: e.query_points("c", VEC, query_filter=city()),
        'Index required but not found for "city" of one of the following types: [keyword]',
    )
    assert msg.endswith("Help: Create an index for this key or use a different filter.")
    rng = models.Filter(must=[models.FieldCondition(key="n", range=models.Range(gte=3))])
    refused(lambda: e.count("c", count_filter=rng), "types: [float, integer]")
    refused(lambda: e.delete("c", models.FilterSelector(filter=city())), '"city"')
    assert e.count("c").count == 10  # nothing deleted
    e.create_payload_index("c", "city", models.PayloadSchemaType.KEYWORD)
    assert e.count("c", count_filter=city()).count == 5
    e.delete("c", models.FilterSelector(filter=city()))
    assert e.count("c").count == 5
    # a float index does not serve an integer match
    e.create_payload_index("c", "n", models.PayloadSchemaType.FLOAT)
    assert e.count("c", count_filter=rng).count == 4
    exact = models.Filter(must=[models.FieldCondition(key="n", match=models.MatchValue(value=2))])
    refused(lambda: e.scroll("c", scroll_filter=exact), "types: [integer]")


def test_search_params(engine: Engine) -> None:
    e = setup(engine, search_max_hnsw_ef=8, search_allow_exact=False, search_max_oversampling=1.5)
    ok = models.SearchParams(
        hnsw_ef=8, quantization=models.QuantizationSearchParams(oversampling=1.5)
    )
    assert e.query_points("c", VEC, search_params=ok).points
    refused(
        lambda: e.query_points("c", VEC, search_params=models.SearchParams(hnsw_ef=9)), '"hnsw_ef"'
    )
    over = models.SearchParams(quantization=models.QuantizationSearchParams(oversampling=2))
    refused(lambda: e.query_points("c", VEC, search_params=over), '"oversampling"')
    msg = refused(
        lambda: e.query_points("c", VEC, search_params=models.SearchParams(exact=True)),
        "Exact search disabled!",
    )
    assert msg.endswith("Help: Set exact=false.")
    refused(lambda: e.count("c", exact=True), "Exact search disabled!")
    assert e.count("c", exact=False).count == 10


def test_filter_size_limits(engine: Engine) -> None:
    e = setup(engine, filter_max_conditions=2, condition_max_size=3)
    two = models.Filter(must=[city(), models.Filter(should=[city("Rome")])])
    assert e.count("c", count_filter=two).count == 0
    three = models.Filter(must=[city(), models.Filter(should=[city("Rome"), city("Paris")])])
    refused(lambda: e.count("c", count_filter=three), "Filter condition limit reached (3 > 2)")
    many = models.Filter(
        must=[models.FieldCondition(key="n", match=models.MatchAny(any=[1, 2, 3, 4]))]
    )
    refused(lambda: e.scroll("c", scroll_filter=many), "Condition size limit reached (4 > 3)")
    ids = models.Filter(must=[models.HasIdCondition(has_id=[1, 2, 3])])
    assert e.count("c", count_filter=ids).count == 3


def test_upsert_batch_and_collection_limits(engine: Engine) -> None:
    e = setup(engine, upsert_max_batchsize=2, max_points_count=11)
    pts = [models.PointStruct(id=i, vector=VEC) for i in (20, 21, 22)]
    refused(lambda: e.upsert("c", pts), 'Limit exceeded 3 > 2 for "upsert limit"')
    assert e.count("c").count == 10
    e.upsert("c", pts[:2])  # 10 points held: below the limit, so this goes through
    refused(lambda: e.upsert("c", pts[2:]), "Max points count limit of 11 reached!")
    assert e.count("c").count == 12
    e.update_collection(
        "c",
        strict_mode_config=models.StrictModeConfig(
            max_points_count=100, max_collection_vector_size_bytes=12 * 16
        ),
    )
    refused(
        lambda: e.upsert("c", pts[2:]),
        "Max vector storage size limit of 0.00018310547MB reached!",
    )
    vecs = [models.PointVectors(id=i, vector=VEC) for i in (1, 2, 3)]
    refused(lambda: e.update_vectors("c", vecs), 'for "update limit"')


def test_payload_limits(engine: Engine) -> None:
    e = setup(engine, max_collection_payload_size_bytes=100, max_payload_index_count=1)
    refused(lambda: e.set_payload("c", {"x": 1}, points=[1]), "Max payload storage size limit of")
    assert "x" not in (e.retrieve("c", [1])[0].payload or {})
    e.delete_payload("c", ["city"], points=[1])  # removing payload is never refused
    e.create_payload_index("c", "city", models.PayloadSchemaType.KEYWORD)
    msg = refused(
        lambda: e.create_payload_index("c", "n", models.PayloadSchemaType.INTEGER),
        "Collection already has the maximum number of payload indices (1)",
    )
    assert msg.endswith("Help: Please delete an existing index before creating a new one.")


def test_sparse_and_multivector_limits(engine: Engine) -> None:
    e = setup(engine, sparse_config={"sp": models.StrictModeSparse(max_length=2)})
    ok = models.SparseVector(indices=[1, 2], values=[0.1, 0.2])
    e.upsert("c", [models.PointStruct(id=30, vector={"": VEC, "sp": ok})])
    big = models.SparseVector(indices=[1, 2, 3], values=[0.1, 0.2, 0.3])
    refused(
        lambda: e.upsert("c", [models.PointStruct(id=31, vector={"": VEC, "sp": big})]),
        "Sparse vector 'sp' has a limit of 2 indices, but 3 were provided!",
    )
    assert not e.retrieve("c", [31])


def test_multivector_limit(engine: Engine) -> None:
    cfg = models.VectorParams(
        size=2,
        distance=models.Distance.DOT,
        multivector_config=models.MultiVectorConfig(
            comparator=models.MultiVectorComparator.MAX_SIM
        ),
    )
    engine.create_collection("m", vectors_config={"mv": cfg})
    strict = models.StrictModeConfig(
        enabled=True, multivector_config={"mv": models.StrictModeMultivector(max_vectors=2)}
    )
    engine.update_collection("m", strict_mode_config=strict)
    engine.upsert("m", [models.PointStruct(id=1, vector={"mv": [[1, 2], [3, 4]]})])
    refused(
        lambda: engine.upsert("m", [models.PointStruct(id=2, vector={"mv": [[1, 2]] * 3})]),
        "Multivector 'mv' has a limit of 2 vectors, but 3 were provided!",
    )
    assert not engine.retrieve("m", [2])


def test_full_scan_needs_hnsw(engine: Engine) -> None:
    e = setup(engine, search_allow_exact=False)
    assert e.query_points("c", VEC).points
    e.update_collection("c", hnsw_config=models.HnswConfigDiff(m=0))
    refused(
        lambda: e.query_points("c", VEC),
        "Request is forbidden because global vector indexing is disabled (hnsw_config.m = 0)",
    )
    sparse = models.SparseVector(indices=[1], values=[1.0])
    e.query_points("c", sparse, using="sp")  # sparse vectors are always indexed


def test_read_rate_limit(engine: Engine) -> None:
    e = setup(engine, read_rate_limit=3)
    e.retrieve("c", [1, 2])
    e.count("c")
    with pytest.raises(RateLimited) as err:
        e.retrieve("c", [1, 2])
    assert err.value.http_status == 429
    assert (
        "Rate limiting exceeded: Read rate limit exceeded: Operation requires 2 tokens but only"
        in str(err.value)
    )
    assert 0 < (err.value.retry_after or 0) <= 60
    with pytest.raises(RateLimited, match="request larger than rate limiter capacity"):
        e.retrieve("c", [1, 2, 3, 4])
    # a new strict mode config makes new buckets, as in Qdrant
    e.update_collection("c", strict_mode_config=models.StrictModeConfig(read_rate_limit=60))
    for _ in range(5):
        e.count("c")


def test_write_rate_limit_refills_and_changes_nothing(engine: Engine) -> None:
    e = setup(engine, write_rate_limit=120)  # 2 tokens a second
    pts = [models.PointStruct(id=100 + i, vector=VEC) for i in range(120)]
    e.upsert("c", pts)
    with pytest.raises(RateLimited, match="Write rate limit exceeded: Operation requires 1 tokens"):
        e.upsert("c", [models.PointStruct(id=500, vector=VEC)])
    assert not e.retrieve("c", [500])
    time.sleep(0.7)
    e.upsert("c", [models.PointStruct(id=500, vector=VEC)])
    assert e.retrieve("c", [500])
