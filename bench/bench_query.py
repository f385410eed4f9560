"""Hybrid RRF query latency: through the engine vs raw qdrant-edge-py (issue 13, item 5).

    nice -n 10 python bench/bench_query.py [--points 100000] [--queries 300] [--json PATH]

One collection of `points` points: a dense 384-d embedding-like vector ("dense", cosine,
from `crewchief.datasets.embedding_like`) and a sparse vector ("sparse", ~20 non-zeros
of a 30,000-term vocabulary, Zipf-like term frequencies, IDF modifier), HNSW-indexed
(`optimize(wait=True)`) before any query.  The query: two prefetches (dense top 50,
sparse top 50) fused by RRF (Qdrant's default k = 2), limit 10, no payload.

Two sides, timed query by query in alternating order on the same queries in the same
run (a shared machine's load shifts between phases):
- engine: `Engine.query_points(prefetch=[...], query=FusionQuery(rrf))`, what an app calls
  (argument checks, conversion to Edge objects, results back to qdrant-client models);
- raw edge: the same `qdrant_edge.QueryRequest` built by hand and run on the same shard
  (`Collection.read`, which adds only the collection's lock).
If the engine refuses prefetch (the Query API work not merged yet), the engine side is
recorded as refused and the report says so.  A plain dense nearest query is timed both
ways too, as the overhead baseline that needs no fusion.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import benchlib
import numpy as np
import qdrant_edge as edge
from qdrant_client import models

from crewchief import Engine
from crewchief.datasets import embedding_like
from crewchief.errors import CrewchiefError

NAME = "hybrid"
VOCAB, NNZ, PREFETCH, LIMIT, BATCH = 30_000, 20, 50, 10, 1000


def sparse_rows(n: int, seed: int) -> list[tuple[list[int], list[float]]]:
    """`n` sparse vectors of ~NNZ distinct terms each (Zipf-like: frequent terms recur)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        terms = np.unique(np.minimum(rng.zipf(1.3, size=NNZ), VOCAB) - 1)
        while len(terms) < NNZ:  # top up with uniform terms to exactly NNZ
            terms = np.unique(np.concatenate([terms, rng.integers(0, VOCAB, NNZ)]))[:NNZ]
        rows.append((terms.tolist(), rng.uniform(0.1, 3.0, len(terms)).round(4).tolist()))
    return rows


def build(engine: Engine, dense: np.ndarray, sparse: list[Any]) -> dict[str, float]:
    engine.create_collection(
        NAME,
        vectors_config={"dense": models.VectorParams(size=384, distance=models.Distance.COSINE)},
        sparse_vectors_config={"sparse": models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )
    t0 = time.perf_counter()
    for start in range(0, len(dense), BATCH):
        engine.upsert(
            NAME,
            [
                models.PointStruct(
                    id=i,
                    vector={
                        "dense": dense[i].tolist(),
                        "sparse": models.SparseVector(indices=sparse[i][0], values=sparse[i][1]),
                    },
                )
                for i in range(start, min(start + BATCH, len(dense)))
            ],
        )
    t1 = time.perf_counter()
    assert engine.optimize(NAME, wait=True)
    return {"upsert_s": t1 - t0, "index_s": time.perf_counter() - t1}


def engine_hybrid(engine: Engine, q: np.ndarray, s: Any) -> list[Any]:
    result = engine.query_points(
        NAME,
        prefetch=[
            models.Prefetch(query=q.tolist(), using="dense", limit=PREFETCH),
            models.Prefetch(
                query=models.SparseVector(indices=s[0], values=s[1]),
                using="sparse",
                limit=PREFETCH,
            ),
        ],
        query=models.FusionQuery(fusion=models.Fusion.RRF),
        limit=LIMIT,
        with_payload=False,
    )
    return [p.id for p in result.points]


def raw_hybrid(engine: Engine, q: np.ndarray, s: Any) -> list[Any]:
    request = edge.QueryRequest(
        limit=LIMIT,
        prefetches=[
            edge.Prefetch(limit=PREFETCH, query=edge.Query.Nearest(q.tolist(), using="dense")),
            edge.Prefetch(
                limit=PREFETCH,
                query=edge.Query.Nearest(edge.SparseVector(s[0], s[1]), using="sparse"),
            ),
        ],
        query=edge.Fusion.Rrf(k=2),
        with_payload=False,
        with_vector=False,
    )
    return [p.id for p in engine.collection(NAME).read(lambda shard: shard.query(request))]


def engine_dense(engine: Engine, q: np.ndarray, s: Any) -> list[Any]:
    result = engine.query_points(NAME, query=q.tolist(), using="dense", limit=LIMIT)
    return [p.id for p in result.points]


def raw_dense(engine: Engine, q: np.ndarray, s: Any) -> list[Any]:
    request = edge.QueryRequest(
        limit=LIMIT,
        query=edge.Query.Nearest(q.tolist(), using="dense"),
        with_payload=True,
        with_vector=False,
    )
    return [p.id for p in engine.collection(NAME).read(lambda shard: shard.query(request))]


Side = Callable[[Engine, np.ndarray, Any], list[Any]]


def interleaved(engine: Engine, a: Side, b: Side, qs: np.ndarray, ss: list[Any]) -> dict:
    """Time `a` and `b` query by query, alternating which goes first; count same answers."""
    times: dict[str, list[float]] = {"a": [], "b": []}
    same = 0
    for i, (q, s) in enumerate(zip(qs, ss, strict=True)):
        order = [("a", a), ("b", b)] if i % 2 == 0 else [("b", b), ("a", a)]
        got = {}
        for key, fn in order:
            t0 = time.perf_counter()
            got[key] = fn(engine, q, s)
            times[key].append(time.perf_counter() - t0)
        same += set(got["a"]) == set(got["b"])  # RRF ties (equal ranks) come in any order
    return {
        "engine": benchlib.pct(times["a"]),
        "raw_edge": benchlib.pct(times["b"]),
        "same_ids": f"{same}/{len(qs)}",
    }


def run(points: int, queries: int) -> dict[str, Any]:
    res: dict[str, Any] = {"machine": benchlib.machine_info(), "points": points}
    dense = embedding_like(points + queries, seed=13)
    sparse = sparse_rows(points + queries, seed=13)
    qs, ss = dense[points:], sparse[points:]
    folder = Path(tempfile.mkdtemp(prefix="bench-query-"))
    try:
        with Engine(folder / "data", auto_optimize=False) as engine:
            res["build"] = build(engine, dense[:points], sparse[:points])
            for q, s in zip(qs[:20], ss[:20], strict=True):  # warm-up
                raw_hybrid(engine, q, s)
                raw_dense(engine, q, s)
            res["dense"] = interleaved(engine, engine_dense, raw_dense, qs, ss)
            try:
                engine_hybrid(engine, qs[0], ss[0])
            except CrewchiefError as exc:
                res["hybrid_engine_refused"] = str(exc)
                res["hybrid_raw_only"] = interleaved(engine, raw_hybrid, raw_hybrid, qs, ss)
            else:
                res["hybrid"] = interleaved(engine, engine_hybrid, raw_hybrid, qs, ss)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return res


def report(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        f"{m['date']}  {m['cpu']}  {m['cores']} cores  {m['ram_gb']} GB  python {m['python']}",
        f"versions {m['versions']}",
        f"load {m['load_at_start']} -> {m['load_at_end']}",
        f"{res['points']:,} points; upsert {res['build']['upsert_s']:.1f} s, "
        f"index {res['build']['index_s']:.1f} s",
        "",
        "| query | engine p50 / p99 ms | raw edge p50 / p99 ms | same ids |",
        "|---|---:|---:|---:|",
    ]

    def row(label: str, r: dict[str, Any], engine: bool = True) -> str:
        e, w = r["engine"], r["raw_edge"]
        left = f"{e['p50_ms']:.2f} / {e['p99_ms']:.2f}" if engine else "refused (see below)"
        return f"| {label} | {left} | {w['p50_ms']:.2f} / {w['p99_ms']:.2f} | {r['same_ids']} |"

    if "hybrid" in res:
        lines.append(row("hybrid RRF (dense 50 + sparse 50 -> 10)", res["hybrid"]))
    else:
        lines.append(row("hybrid RRF (dense 50 + sparse 50 -> 10)", res["hybrid_raw_only"], False))
    lines.append(row("dense nearest, top 10 (baseline)", res["dense"]))
    if "hybrid_engine_refused" in res:
        lines += ["", f"engine refused the hybrid query: {res['hybrid_engine_refused']}"]
    return "\n".join(lines)


def main() -> None:
    opts = benchlib.options(__doc__, {"points": 100_000, "queries": 300})
    res = run(opts.points, opts.queries)
    benchlib.finish(res, report, opts.json)


if __name__ == "__main__":
    main()
