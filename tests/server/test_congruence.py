"""Congruence: the same operations on QdrantClient(":memory:") and on `crewchief serve`.

In the style of qdrant-client's own congruence tests: local mode is the
reference; the server must give the same ids, (exact-search) scores, counts,
scroll pages and alias lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from qdrant_client import QdrantClient, models

from tests.server.data import points, vectors

pytestmark = pytest.mark.filterwarnings("ignore:Local mode performs exact:UserWarning")

DIM, N = 8, 120
EXACT = models.SearchParams(exact=True)


def F(**kwargs: Any) -> models.Filter:
    return models.Filter(**kwargs)


def match(key: str, value: Any) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))


DRAMA = F(must=[match("genre", "drama")])
FILTERS: list[models.Filter | None] = [
    None,
    DRAMA,
    F(must=[models.FieldCondition(key="year", range=models.Range(gte=2000, lt=2010))]),
    F(must_not=[match("genre", "comedy")]),
    F(should=[match("genre", "horror"), match("genre", "sci-fi")]),
    F(must=[models.FieldCondition(key="genre", match=models.MatchAny(any=["drama", "horror"]))]),
    F(must=[models.HasIdCondition(has_id=[1, 5, 9, 42, 77])]),
    F(
        must=[match("tags", 1)],
        must_not=[models.FieldCondition(key="i", range=models.Range(lt=50))],
    ),
]


@pytest.fixture
def pair(client: QdrantClient, name: str) -> Iterator[tuple[QdrantClient, QdrantClient, str]]:
    local = QdrantClient(":memory:")
    yield local, client, name
    local.close()


def both(
    pair: tuple[QdrantClient, QdrantClient, str], fn: Callable[[QdrantClient, str], Any]
) -> tuple[Any, Any]:
    local, remote, name = pair
    return fn(local, name), fn(remote, name)


def setup_collection(
    pair: tuple[QdrantClient, QdrantClient, str], distance: models.Distance
) -> None:
    def create(c: QdrantClient, name: str) -> None:
        c.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=distance))
        c.upsert(name, points(N, DIM, seed=3))

    both(pair, create)


def exact_search(
    c: QdrantClient, n: str, q: list[float], flt: models.Filter | None
) -> list[models.ScoredPoint]:
    hits = c.query_points(
        n, query=q, query_filter=flt, limit=10, search_params=EXACT, with_payload=True
    )
    return hits.points


def count(c: QdrantClient, n: str, flt: models.Filter | None) -> int:
    return c.count(n, count_filter=flt).count


def scroll_page(c: QdrantClient, n: str, flt: models.Filter | None) -> Any:
    return c.scroll(n, scroll_filter=flt, limit=17, offset=5)


def alias_names_of(c: QdrantClient, n: str, suffix: str) -> list[str]:
    return sorted(
        a.alias_name.removeprefix(n) for a in c.get_collection_aliases(n + suffix).aliases
    )


def assert_same_hits(
    local: list[models.ScoredPoint], remote: list[models.ScoredPoint], tol: float = 1e-4
) -> None:
    assert [p.id for p in remote] == [p.id for p in local]
    assert [p.score for p in remote] == pytest.approx([p.score for p in local], abs=tol)
    assert [p.payload for p in remote] == [p.payload for p in local]


@pytest.mark.parametrize(
    "distance",
    [
        models.Distance.COSINE,
        models.Distance.DOT,
        models.Distance.EUCLID,
        models.Distance.MANHATTAN,
    ],
)
def test_exact_search_same_ids_and_scores(
    pair: tuple[QdrantClient, QdrantClient, str], distance: models.Distance
) -> None:
    setup_collection(pair, distance)
    for q in vectors(5, DIM, seed=11):
        for flt in FILTERS:
            local, remote = both(pair, partial(exact_search, q=q, flt=flt))
            assert_same_hits(local, remote)


def test_counts_scroll_and_retrieve(pair: tuple[QdrantClient, QdrantClient, str]) -> None:
    setup_collection(pair, models.Distance.COSINE)
    for flt in FILTERS:
        local, remote = both(pair, partial(count, flt=flt))
        assert remote == local
        local, remote = both(pair, partial(scroll_page, flt=flt))
        assert [p.id for p in remote[0]] == [p.id for p in local[0]]
        assert [p.payload for p in remote[0]] == [p.payload for p in local[0]]
        assert remote[1] == local[1]
    local, remote = both(pair, lambda c, n: c.retrieve(n, [0, 3, 500, 64], with_payload=True))
    assert sorted((p.id, str(p.payload)) for p in remote) == sorted(
        (p.id, str(p.payload)) for p in local
    )


def test_deletes_keep_both_in_step(pair: tuple[QdrantClient, QdrantClient, str]) -> None:
    setup_collection(pair, models.Distance.DOT)
    both(pair, lambda c, n: c.delete(n, models.PointIdsList(points=list(range(0, 40, 3)))))
    both(pair, lambda c, n: c.delete(n, models.FilterSelector(filter=DRAMA)))
    local, remote = both(pair, lambda c, n: c.count(n).count)
    assert remote == local
    q = vectors(1, DIM, seed=12)[0]
    local, remote = both(
        pair, lambda c, n: c.query_points(n, query=q, limit=20, search_params=EXACT).points
    )
    assert_same_hits(local, remote)


def test_alias_lists(pair: tuple[QdrantClient, QdrantClient, str]) -> None:
    setup_collection(pair, models.Distance.COSINE)

    def second(c: QdrantClient, n: str) -> None:
        c.create_collection(
            f"{n}_2", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT)
        )

    both(pair, second)

    def ops(*actions: Any) -> Callable[[QdrantClient, str], Any]:
        return lambda c, n: c.update_collection_aliases([a(n) for a in actions])

    def create(alias: str, target: str = "") -> Callable[[str], Any]:
        return lambda n: models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name=n + target, alias_name=n + alias)
        )

    def delete(alias: str) -> Callable[[str], Any]:
        return lambda n: models.DeleteAliasOperation(
            delete_alias=models.DeleteAlias(alias_name=n + alias)
        )

    def rename(old: str, new: str) -> Callable[[str], Any]:
        return lambda n: models.RenameAliasOperation(
            rename_alias=models.RenameAlias(old_alias_name=n + old, new_alias_name=n + new)
        )

    steps = [
        ops(create("_a"), create("_b"), create("_c", "_2")),
        ops(delete("_a"), create("_a", "_2")),  # the blue-green switch
        ops(rename("_b", "_bb")),
        ops(delete("_c")),
    ]
    for step in steps:
        both(pair, step)

        def mine(c: QdrantClient, n: str) -> Any:
            everything = c.get_aliases().aliases
            return sorted(
                (a.alias_name.removeprefix(n), a.collection_name.removeprefix(n))
                for a in everything
                if a.alias_name.startswith(n)
            )

        local, remote = both(pair, mine)
        assert remote == local
        for suffix in ("", "_2"):
            local, remote = both(pair, partial(alias_names_of, suffix=suffix))
            assert remote == local
    local, remote = both(pair, lambda c, n: c.count(n + "_a").count)
    assert remote == local == 0
    local, remote = both(pair, lambda c, n: c.count(n + "_bb").count)
    assert remote == local == N


def test_collection_listing_and_existence(pair: tuple[QdrantClient, QdrantClient, str]) -> None:
    setup_collection(pair, models.Distance.COSINE)
    local, remote = both(pair, lambda c, n: (c.collection_exists(n), c.collection_exists(n + "x")))
    assert remote == local == (True, False)
    local, remote = both(pair, lambda c, n: n in {x.name for x in c.get_collections().collections})
    assert remote == local is True
    local, remote = both(pair, lambda c, n: c.get_collection(n).points_count)
    assert remote == local == N
    local, remote = both(pair, lambda c, n: c.delete_collection(n))
    assert remote == local is True
    local, remote = both(pair, lambda c, n: c.collection_exists(n))
    assert remote == local is False
