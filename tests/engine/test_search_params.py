"""Search params change the answer as Qdrant's do: `hnsw_ef` is the graph search's breadth,
`indexed_only` leaves out unindexed segments too big to scan, and where the engine's cut for
that differs from Qdrant's (non-default thresholds) the query is refused, not mis-answered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import models

from crewchief import Engine
from crewchief.errors import InvalidInput

DIM = 384
INDEXED, UNINDEXED = 1000, 7000  # 7000 x 384 x 4 bytes = 10,500 KB: over the 10,000 KB cut
ONLY = models.SearchParams(indexed_only=True)


def _collection(engine: Engine, name: str, data: np.ndarray, threshold_kb: int) -> None:
    """INDEXED points in a built segment, then the rest unindexed (auto-optimize is off)."""
    engine.create_collection(
        name,
        vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT),
        optimizers_config=models.OptimizersConfigDiff(indexing_threshold=100),
    )
    engine.upsert(name, models.Batch(ids=list(range(INDEXED)), vectors=data[:INDEXED].tolist()))
    assert engine.optimize(name)
    thresholds = models.OptimizersConfigDiff(indexing_threshold=threshold_kb)
    engine.update_collection(name, optimizers_config=thresholds)
    ids = list(range(INDEXED, len(data)))
    engine.upsert(name, models.Batch(ids=ids, vectors=data[INDEXED:].tolist()))


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    data = np.random.default_rng(5).normal(size=(INDEXED + UNINDEXED, DIM)).astype(np.float32)
    with Engine(Path(tmp_path_factory.mktemp("sp")) / "d", auto_optimize=False) as e:
        _collection(e, "default", data, 10_000)  # Qdrant's default: the engine's cut
        _collection(e, "custom", data, 20_000)
        yield e


def test_indexed_only_leaves_out_a_big_unindexed_segment(engine: Engine) -> None:
    info = engine.get_collection("default")
    assert (info.indexed_vectors_count, info.points_count) == (INDEXED, INDEXED + UNINDEXED)
    query = np.random.default_rng(6).normal(size=DIM).tolist()
    every = engine.query_points("default", query, limit=50).points
    assert any(int(p.id) >= INDEXED for p in every)
    indexed = engine.query_points("default", query, limit=50, search_params=ONLY).points
    assert len(indexed) == 50 and all(int(p.id) < INDEXED for p in indexed)
    # a prefetch's indexed_only is its own
    staged = engine.query_points(
        "default",
        query,
        prefetch=models.Prefetch(query=query, limit=50, params=ONLY),
        limit=50,
    ).points
    assert [p.id for p in staged] == [p.id for p in indexed]


def test_indexed_only_is_refused_where_the_cuts_differ(engine: Engine) -> None:
    """Qdrant would read this collection's 10,500 KB unindexed segment (its cut is 20,000 KB),
    the engine would leave it out: refused, in every place search params go."""
    query = [1.0] * DIM
    asks = [
        {"search_params": ONLY},
        {"prefetch": models.Prefetch(query=query, params=ONLY)},
    ]
    for ask in asks:
        with pytest.raises(InvalidInput, match="indexed_only cannot be answered") as err:
            engine.query_points("custom", query, **ask)  # type: ignore[arg-type]
        assert "20000 KB" in str(err.value) and err.value.hint
    batch = [models.QueryRequest(query=query, params=ONLY)]
    with pytest.raises(InvalidInput, match="indexed_only"):
        engine.query_batch_points("custom", batch)
    with pytest.raises(InvalidInput, match="indexed_only"):
        engine.query_points_groups("custom", "g", query=query, search_params=ONLY)
    assert engine.query_points("custom", query, limit=3).points  # without it: answered


def test_indexed_only_where_both_cuts_read_everything(tmp_path: Path) -> None:
    """With a non-default cut, a few unindexed vectors are under both: answered, with them."""
    data = np.random.default_rng(7).normal(size=(INDEXED + 50, DIM)).astype(np.float32)
    with Engine(tmp_path / "d", auto_optimize=False) as engine:
        _collection(engine, "c", data, 20_000)
        found = engine.query_points("c", data[-1].tolist(), limit=5, search_params=ONLY).points
        assert found[0].id == INDEXED + 49


def test_hnsw_ef_is_the_search_breadth(tmp_path: Path) -> None:
    """A graph search with ef=1 misses true neighbours that ef=500 finds (2000 x 64)."""
    rng = np.random.default_rng(3)
    data = rng.normal(size=(2000, 64)).astype(np.float32)
    with Engine(tmp_path / "d", auto_optimize=False) as engine:
        engine.create_collection(
            "c",
            vectors_config=models.VectorParams(size=64, distance=models.Distance.DOT),
            hnsw_config=models.HnswConfigDiff(full_scan_threshold=10),
            optimizers_config=models.OptimizersConfigDiff(indexing_threshold=1),
        )
        engine.upsert("c", models.Batch(ids=list(range(2000)), vectors=data.tolist()))
        assert engine.optimize("c")
        recall = {1: 0.0, 500: 0.0}
        queries = rng.normal(size=(30, 64)).astype(np.float32)
        for q in queries:
            truth = set(np.argsort(-(data @ q))[:10].tolist())
            for ef in recall:
                params = models.SearchParams(hnsw_ef=ef)
                hits = engine.query_points("c", q.tolist(), limit=10, search_params=params)
                recall[ef] += len(truth & {int(p.id) for p in hits.points}) / 10 / len(queries)
        assert recall[1] < 0.9 < recall[500], recall
