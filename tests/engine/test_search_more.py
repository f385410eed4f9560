"""Groups, distance matrices, facets, ordered scrolls and counts on the real engine.

Each answer is compared with qdrant-client's local mode (`QdrantClient(":memory:")`) on
the same points: ids in order, scores to float32 precision.  Refusals are Qdrant's.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from qdrant_client import QdrantClient, models

from crewchief import Engine
from crewchief.engine.search import grouping
from crewchief.errors import InvalidInput, NotFound, ValidationFailed
from tests.helpers import groups_of

N = 300
KINDS = ("a", "b", "c", "d", "e")


def payload(i: int) -> dict[str, Any]:
    return {
        "kind": KINDS[i % 5],
        "n": i % 7,
        "tags": [i % 3, 10 + i % 2],
        "meta": {"shelf": f"s{i % 4}", "rows": [{"r": i % 2}]},
        "rank": i * 0.5,  # unique: an order without ties
        "mixed": 1.5 if i % 10 == 0 else i % 6,  # a float key joins no group
    }


def make(client: Any, distance: models.Distance) -> None:
    rng = random.Random(7)
    client.create_collection(
        "c",
        vectors_config={
            "": models.VectorParams(size=4, distance=distance),
            "other": models.VectorParams(size=3, distance=models.Distance.DOT),
        },
    )
    client.upsert(
        "c",
        [
            models.PointStruct(
                id=i,
                vector={
                    "": [rng.uniform(-1, 1) for _ in range(4)],
                    "other": [rng.uniform(-1, 1) for _ in range(3)],
                },
                payload=payload(i),
            )
            for i in range(N)
        ],
    )
    client.create_collection(
        "shelves", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT)
    )
    client.upsert(
        "shelves",
        [
            models.PointStruct(id=k, vector=[1.0, 0.0], payload={"floor": k, "x": -k})
            for k in range(4)
        ],
    )


@pytest.fixture(params=[models.Distance.COSINE, models.Distance.EUCLID])
def pair(engine: Engine, request: pytest.FixtureRequest) -> Iterator[tuple[Engine, QdrantClient]]:
    local = QdrantClient(":memory:")
    for c in (engine, local):
        make(c, request.param)
    for key, schema in [
        ("kind", models.PayloadSchemaType.KEYWORD),
        ("n", models.PayloadSchemaType.INTEGER),
        ("tags", models.PayloadSchemaType.INTEGER),
        ("rank", models.PayloadSchemaType.FLOAT),
        ("meta.shelf", models.PayloadSchemaType.KEYWORD),
    ]:
        engine.create_payload_index("c", key, schema)
    yield engine, local
    local.close()


Q = [0.3, -0.2, 0.9, 0.1]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"group_by": "kind"},
        {"group_by": "n", "group_size": 2, "limit": 4},
        {"group_by": "tags", "group_size": 5},  # arrays: a point in each value's group
        {"group_by": "tags[]", "group_size": 4},
        {"group_by": "meta.shelf", "with_lookup": "shelves"},
        {"group_by": "meta.rows[].r", "group_size": 6},
        {"group_by": "mixed", "limit": 3},
        {
            "group_by": "n",
            "query_filter": models.Filter(
                must=[models.FieldCondition(key="kind", match=models.MatchAny(any=["a", "b"]))]
            ),
        },
        {"group_by": "kind", "with_payload": ["n"], "with_vectors": ["other"], "limit": 2},
        {"group_by": "kind", "with_payload": False, "score_threshold": 0.3},
    ],
)
def test_groups_as_local_mode(pair: tuple[Engine, QdrantClient], kwargs: dict[str, Any]) -> None:
    engine, local = pair
    got = engine.query_points_groups("c", query=Q, **kwargs)
    want = local.query_points_groups("c", query=Q, **kwargs)
    assert groups_of(got) == groups_of(want)
    assert got.groups, "the case must find groups"
    if "with_vectors" in kwargs:
        vector = got.groups[0].hits[0].vector
        assert isinstance(vector, dict) and set(vector) == {"other"}


def test_groups_lookup_with_selectors(pair: tuple[Engine, QdrantClient]) -> None:
    engine, local = pair
    lookup = models.WithLookup(collection="shelves", with_payload=["floor"], with_vectors=True)
    kwargs: dict[str, Any] = {"group_by": "n", "with_lookup": lookup, "limit": 7}
    got = engine.query_points_groups("c", query=Q, **kwargs)
    want = local.query_points_groups("c", query=Q, **kwargs)
    assert groups_of(got) == groups_of(want)
    found = {g.id: g.lookup for g in got.groups}
    assert found[2] is not None and found[2].payload == {"floor": 2}
    assert found[2].vector == pytest.approx([1.0, 0.0])
    assert found[5] is None  # no point 5 in "shelves"


def test_groups_refusals_and_edges(pair: tuple[Engine, QdrantClient]) -> None:
    engine, _ = pair
    assert engine.query_points_groups("c", query=Q, group_by="nowhere").groups == []
    with pytest.raises(ValidationFailed, match=r"\[group_size: value 0 invalid"):
        engine.query_points_groups("c", query=Q, group_by="kind", group_size=0)
    with pytest.raises(ValidationFailed, match=r"\[limit: value 0 invalid"):
        engine.query_points_groups("c", query=Q, group_by="kind", limit=0)
    with pytest.raises(NotFound, match="Collection nope"):
        engine.query_points_groups("c", query=Q, group_by="kind", with_lookup="nope")
    with pytest.raises(InvalidInput):
        engine.query_points_groups("c", query=Q, group_by="a..b")
    with pytest.raises(NotFound):
        engine.query_points_groups("missing", query=Q, group_by="kind")


def test_group_keys_follow_qdrant() -> None:
    p = {"k": ["a", "a", 3], "f": [1, 2.5], "o": {"x": [{"y": "q"}, {"y": "r"}]}, "b": True}
    assert grouping.group_keys(p, "k") == ["a", 3]
    assert grouping.group_keys(p, "f") is None  # one float: the point joins no group
    assert grouping.group_keys(p, "b") is None
    assert grouping.group_keys(p, "o.x[].y") == ["q", "r"]
    assert grouping.group_keys(p, "o.x.y") == []  # a key never steps through an array
    assert grouping.group_keys(p, "o.x[1].y") == ["r"]
    assert grouping.lookup_id(-1) is None and grouping.lookup_id("not-a-uuid") is None


# -- distance matrix -----------------------------------------------------------------------------


def test_matrix_as_local_mode(pair: tuple[Engine, QdrantClient]) -> None:
    engine, local = pair
    for using in (None, "other"):
        # the whole collection is the sample, so the random draw does not matter
        got = engine.search_matrix_offsets("c", sample=N, limit=3, using=using)
        want = local.search_matrix_offsets("c", sample=N, limit=3, using=using)
        assert got.ids == want.ids == list(range(N))
        assert got.offsets_row == want.offsets_row
        assert got.offsets_col == want.offsets_col
        assert got.scores == pytest.approx(want.scores, rel=1e-5, abs=1e-6)
        pairs = engine.search_matrix_pairs("c", sample=N, limit=3, using=using).pairs
        local_pairs = local.search_matrix_pairs("c", sample=N, limit=3, using=using).pairs
        assert [(p.a, p.b) for p in pairs] == [(p.a, p.b) for p in local_pairs]
        assert all(p.a != p.b for p in pairs)


def test_matrix_filter_and_sample(pair: tuple[Engine, QdrantClient]) -> None:
    engine, local = pair
    kind_c = models.FieldCondition(key="kind", match=models.MatchValue(value="c"))
    flt = models.Filter(must=[kind_c])
    got = engine.search_matrix_pairs("c", query_filter=flt, sample=N, limit=2)
    want = local.search_matrix_pairs("c", query_filter=flt, sample=N, limit=2)
    assert [(p.a, p.b) for p in got.pairs] == [(p.a, p.b) for p in want.pairs]
    assert {p.a for p in got.pairs} == {i for i in range(N) if i % 5 == 2}
    small = engine.search_matrix_offsets("c", sample=8, limit=2)
    assert len(small.ids) == 8 and small.ids == sorted(small.ids)
    assert set(small.offsets_col) <= set(range(8)) and len(small.scores) == 16


def test_matrix_refusals(pair: tuple[Engine, QdrantClient]) -> None:
    engine, _ = pair
    with pytest.raises(ValidationFailed, match=r"\[sample: value 1 invalid, must be 2"):
        engine.search_matrix_pairs("c", sample=1)
    with pytest.raises(ValidationFailed, match=r"\[limit: value 0 invalid"):
        engine.search_matrix_offsets("c", limit=0)
    with pytest.raises(InvalidInput, match="Vector with name `nope` is not configured"):
        engine.search_matrix_pairs("c", using="nope")
    one = models.Filter(must=[models.HasIdCondition(has_id=[3])])
    assert engine.search_matrix_pairs("c", query_filter=one).pairs == []  # < 2 points


# -- facets --------------------------------------------------------------------------------------


@pytest.mark.parametrize("exact", [True, False])
def test_facet_as_local_mode(pair: tuple[Engine, QdrantClient], exact: bool) -> None:
    engine, local = pair
    flt = models.Filter(must=[models.FieldCondition(key="n", range=models.Range(gte=3))])
    for key, limit, f in [
        ("kind", 10, None),
        ("n", 3, None),
        ("tags", 10, flt),
        ("meta.shelf", 2, flt),
    ]:
        got = engine.facet("c", key, facet_filter=f, limit=limit, exact=exact)
        want = local.facet("c", key, facet_filter=f, limit=limit)
        assert got == want, key
    assert engine.facet("c", "kind").hits[0].count == N // 5


def test_facet_ties_keep_the_lowest_values(engine: Engine) -> None:
    """3,000 uuids counted once each: an approximate facet cuts that tie as Qdrant does
    (lowest values first), not in the order the edge happens to hold them."""
    local = QdrantClient(":memory:")
    for c in (engine, local):
        c.create_collection("u", vectors_config=models.VectorParams(size=2, distance="Dot"))
        c.upsert(
            "u",
            [
                models.PointStruct(
                    id=i,
                    vector=[1.0, 2.0],
                    payload={
                        "u": [str(uuid.UUID(int=(3 * i + j) * 7_919_000_003)) for j in range(3)]
                    },
                )
                for i in range(1000)
            ],
        )
    engine.create_payload_index("u", "u", models.PayloadSchemaType.UUID)
    want = local.facet("u", "u", limit=10)
    assert [h.count for h in want.hits] == [1] * 10
    for _ in range(5):
        assert engine.facet("u", "u", limit=10) == want
    local.close()


def test_facet_refusals(pair: tuple[Engine, QdrantClient]) -> None:
    engine, _ = pair
    with pytest.raises(InvalidInput, match="No appropriate index for faceting: `mixed`"):
        engine.facet("c", "mixed")
    with pytest.raises(ValidationFailed, match=r"\[limit: value 0 invalid"):
        engine.facet("c", "kind", limit=0)


# -- scroll with order_by, count ----------------------------------------------------------------


@pytest.mark.parametrize(
    "order_by",
    [
        "rank",
        models.OrderBy(key="rank", direction=models.Direction.DESC),
        models.OrderBy(key="rank", start_from=100.0),
        models.OrderBy(key="rank", direction=models.Direction.DESC, start_from=50),
    ],
)
def test_scroll_order_by_as_local_mode(pair: tuple[Engine, QdrantClient], order_by: Any) -> None:
    engine, local = pair
    flt = models.Filter(must_not=[models.FieldCondition(key="n", match=models.MatchValue(value=0))])
    got, nxt = engine.scroll("c", scroll_filter=flt, order_by=order_by, limit=15)
    want, _ = local.scroll("c", scroll_filter=flt, order_by=order_by, limit=15)
    assert [(r.id, r.order_value, r.payload) for r in got] == [
        (r.id, r.order_value, r.payload) for r in want
    ]
    assert nxt is None and len(got) == 15


def test_scroll_order_by_ties_and_arrays(pair: tuple[Engine, QdrantClient]) -> None:
    engine, local = pair
    got, _ = engine.scroll("c", order_by="n", limit=N)
    want, _ = local.scroll("c", order_by="n", limit=N)
    # ties (equal values) may come in any order: per value, the same points
    assert [r.order_value for r in got] == [r.order_value for r in want]
    by_value: dict[Any, set[Any]] = {}
    for r in got:
        by_value.setdefault(r.order_value, set()).add(r.id)
    assert by_value[3] == {i for i in range(N) if i % 7 == 3}
    tagged, _ = engine.scroll("c", order_by="tags", limit=2 * N)
    assert len(tagged) == 2 * N  # a point once per value of an array


def test_scroll_order_by_refusals(pair: tuple[Engine, QdrantClient]) -> None:
    engine, _ = pair
    with pytest.raises(InvalidInput, match="Cannot use an `offset` when using `order_by`"):
        engine.scroll("c", order_by="rank", offset=5)
    with pytest.raises(InvalidInput, match="No range index for `order_by` key: `mixed`"):
        engine.scroll("c", order_by="mixed")
    with pytest.raises(InvalidInput, match="No range index for `order_by` key: `kind`"):
        engine.scroll("c", order_by="kind")


def test_count_exact_and_approximate(pair: tuple[Engine, QdrantClient]) -> None:
    engine, local = pair
    assert engine.count("c", exact=False).count == engine.count("c").count == N
    indexed = models.Filter(must=[models.FieldCondition(key="n", match=models.MatchValue(value=2))])
    exact = engine.count("c", indexed).count
    assert exact == local.count("c", indexed).count
    assert engine.count("c", indexed, exact=False).count == exact  # fully indexed: exact
    unindexed = models.Filter(must=[models.FieldCondition(key="mixed", range=models.Range(gte=2))])
    estimate = engine.count("c", unindexed, exact=False).count
    assert 0 <= estimate <= N  # an estimate, as Qdrant's
    assert engine.count("c", unindexed).count == local.count("c", unindexed).count
