"""Embedded engine vs qdrant-client local mode vs numpy exact search (issue 2, item 9).

    python bench/bench_engine.py [--points 100000] [--dim 384] [--queries 200] [--json PATH]

One run, one data set: `n + q` embedding-like unit vectors (low rank plus noise, from
`crewchief.datasets.embedding_like`), split into `n` points and `q` queries from the same
subspace.  Every query is issued alone, one after the other, as an application would.
Ground truth is numpy exact top-10 by cosine; recall@10 is measured against it.

The engine runs with `auto_optimize=False` (ingest timed without a build behind it).  Its
collection `idx` is indexed with `optimize(wait=True)` (build alone) and queried; `stall`
is indexed with `optimize(wait=False)` while this thread queries it back-to-back (how long
the app goes without an answer).  On a shared machine the load changes between phases, so
engine and local mode are also timed in alternating rounds on the same queries.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import importlib.metadata as md
import json
import os
import platform
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient, models

from crewchief import Engine
from crewchief.datasets import embedding_like, exact_top_k

K = 10
BATCH = 1000
TARGETS = {  # ratio -> (label, target)
    "engine_vs_local_qps": ("engine QPS / local-mode QPS", 100.0),
    "engine_vs_local_qps_interleaved": ("the same, interleaved on the same queries", 100.0),
    "engine_vs_numpy_qps": ("engine QPS / numpy QPS", 1.0),
    "engine_recall": ("engine recall@10", 0.95),
}


def machine_info() -> dict[str, object]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), "?")
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kb = next(int(ln.split()[1]) for ln in meminfo if ln.startswith("MemTotal"))
    versions = {p: md.version(p) for p in ("numpy", "qdrant-edge-py", "qdrant-client", "crewchief")}
    date = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    info = dict(date=date, cpu=cpu, cores=os.cpu_count(), ram_gb=round(mem_kb / 1024**2, 1))
    info |= dict(python=platform.python_version(), versions=versions, blas=blas_threads())
    return info | {"loadavg_start": load_average()}  # a busy machine skews every timing


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def blas_threads() -> str:
    """OpenBLAS threads numpy uses (read from its bundled OpenBLAS; env vars left alone)."""
    libs = Path(np.__file__).parent.parent / "numpy.libs"
    for lib in libs.glob("*openblas*.so*"):
        with contextlib.suppress(OSError, AttributeError):
            return f"{ctypes.CDLL(lib).scipy_openblas_get_num_threads64_()} (OpenBLAS)"
    return f"unknown (os.cpu_count() = {os.cpu_count()})"


def run_queries(search: Callable[[np.ndarray], list[int]], queries: np.ndarray) -> dict:
    """Issue queries one at a time; latency stats, QPS and the ids found."""
    lat, found, start = [], [], time.perf_counter()
    for q in queries:
        t0 = time.perf_counter()
        found.append(search(q))
        lat.append(time.perf_counter() - t0)
    qps = len(queries) / (time.perf_counter() - start)
    return {"queries": len(queries), "qps": qps, **percentiles(lat), "found": found}


def interleaved(engine: Callable, local: Callable, queries, n_local: int, rounds=4) -> dict:
    """Rounds of a few local-mode queries then a slice of the engine's: both see the same
    machine load (and the engine's caches are cold once a round, not every query)."""
    spent, count = [0.0, 0.0], [0, 0]
    split = [np.array_split(qs, rounds) for qs in (queries[:n_local], queries)]
    for local_qs, engine_qs in zip(*split, strict=True):
        for j, (search, qs) in enumerate([(local, local_qs), (engine, engine_qs)]):
            t0 = time.perf_counter()
            for q in qs:
                search(q)
            spent[j], count[j] = spent[j] + time.perf_counter() - t0, count[j] + len(qs)
    e_qps, l_qps = count[1] / spent[1], count[0] / spent[0]
    return {"engine_qps": e_qps, "local_qps": l_qps, "ratio": e_qps / l_qps}


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds or [0.0]) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def finish(stats: dict, truth: np.ndarray) -> dict:
    """Replace the ids found by recall@10 against the exact ids."""
    pairs = zip(stats.pop("found"), truth[: stats["queries"]], strict=True)
    stats["recall_at_10"] = float(np.mean([len(set(f) & set(t.tolist())) / K for f, t in pairs]))
    return stats


def numpy_exact(data: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> dict:
    def search(q: np.ndarray) -> list[int]:
        scores = data @ q
        top = np.argpartition(-scores, K)[:K]
        return top[np.argsort(-scores[top])].tolist()

    return finish(run_queries(search, queries), truth)


def ingest(client: Engine | QdrantClient, name: str, data: np.ndarray) -> dict:
    params = models.VectorParams(size=data.shape[1], distance=models.Distance.COSINE)
    client.create_collection(name, vectors_config=params)
    t0 = time.perf_counter()
    for lo in range(0, len(data), BATCH):
        chunk = data[lo : lo + BATCH]
        ids = list(range(lo, lo + len(chunk)))
        client.upsert(name, models.Batch(ids=ids, vectors=chunk.tolist()), wait=True)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "points_per_s": len(data) / seconds}


def searcher(client: Engine | QdrantClient, name: str, ef: int | None) -> Callable:
    sp = models.SearchParams(hnsw_ef=ef) if ef else None

    def search(q: np.ndarray) -> list[int]:
        res = client.query_points(name, q.tolist(), limit=K, with_payload=False, search_params=sp)
        return [int(p.id) for p in res.points]

    return search


def engine_bench(data, queries, truth, args, local: QdrantClient) -> dict:
    out: dict = {}
    tmp = tempfile.mkdtemp(prefix="crewchief-bench-")
    engine = Engine(tmp, auto_optimize=False)
    try:
        out["ingest"] = ingest(engine, "idx", data)
        out["bruteforce"] = finish(run_queries(searcher(engine, "idx", None), queries), truth)
        t0 = time.perf_counter()
        ok = engine.optimize("idx", wait=True)
        out["build_alone_s"] = time.perf_counter() - t0
        info = engine.get_collection("idx")
        out["after_build"] = dict(ok=ok, status=str(info.status.value), points=info.points_count)
        out["after_build"].update(indexed=info.indexed_vectors_count, segments=info.segments_count)
        out["indexed"] = finish(run_queries(searcher(engine, "idx", args.hnsw_ef), queries), truth)
        for ef in args.ef_sweep:  # recall / speed trade-off on the same index and queries
            r = finish(run_queries(searcher(engine, "idx", ef), queries), truth)
            out.setdefault("ef_sweep", {})[ef] = {k: r[k] for k in ("qps", "recall_at_10")}
        pair = [searcher(engine, "idx", args.hnsw_ef), searcher(local, "local", None)]
        out["interleaved"] = interleaved(*pair, queries, args.local_queries)
        out["ingest_stall_collection"] = ingest(engine, "stall", data)
        out["stall"] = stall_during_build(engine, "stall", queries, truth, args.hnsw_ef)
    finally:
        engine.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def stall_during_build(engine: Engine, name: str, queries, truth, ef: int | None) -> dict:
    """Start a background build and query back-to-back on this thread until it is done."""
    col = engine.collection(name)
    search = searcher(engine, name, ef)
    t0 = time.perf_counter()
    engine.optimize(name, wait=False)  # flush + sparse copy of the shard happen in this call
    start_call = time.perf_counter() - t0
    last, lat, n, worst, worst_end = time.perf_counter(), [], 0, 0.0, 0.0
    while col.building:
        a = time.perf_counter()
        search(queries[n % len(queries)])
        b = time.perf_counter()
        lat.append(b - a)
        if b - last > worst:  # the longest time without an answer, and when it ended
            worst, worst_end = b - last, time.time()
        last, n = b, n + 1
    rec = col.last_build
    assert rec is not None and rec.finished is not None
    after = finish(run_queries(search, queries), truth)  # the swapped-in, indexed generation
    return {
        "optimize_call_s": start_call,
        "build_s": rec.finished - rec.started,
        "build_error": rec.error,
        "queries_during_build": n,
        **percentiles(lat),
        "max_gap_ms": worst * 1000,
        "max_gap_ended_s_before_build_end": rec.finished - worst_end,
        "recall_after_swap": after["recall_at_10"],
    }


def report(res: dict) -> str:
    m, e, loc, npx = res["machine"], res["engine"], res["local"]["search"], res["numpy"]
    v, s = m["versions"], e["stall"]
    ratios = res["ratios"] = {
        "engine_vs_local_qps": e["indexed"]["qps"] / loc["qps"],
        "engine_vs_local_qps_interleaved": e["interleaved"]["ratio"],
        "engine_vs_numpy_qps": e["indexed"]["qps"] / npx["qps"],
        "engine_recall": e["indexed"]["recall_at_10"],
    }
    rows = [
        ("numpy exact (reference)", "-", "-", npx),
        ("engine, brute force (unindexed)", f"{e['ingest']['points_per_s']:,.0f}", "-",
         e["bruteforce"]),
        ("engine, HNSW", "(same)", f"{e['build_alone_s']:.1f}", e["indexed"]),
        ("QdrantClient(':memory:')", f"{res['local']['ingest']['points_per_s']:,.0f}", "-", loc),
    ]  # fmt: skip
    lines = [
        f"# {res['points']:,} x {res['dim']} embedding-like vectors, {res['queries']} queries, "
        f"k={K}, hnsw_ef={res['hnsw_ef'] or 'engine default'}",
        f"# {m['date']} | {m['cpu']} | {m['cores']} cores | {m['ram_gb']} GB RAM | Python "
        f"{m['python']} | numpy {v['numpy']} (BLAS threads: {m['blas']}) | "
        f"qdrant-edge-py {v['qdrant-edge-py']} | qdrant-client {v['qdrant-client']}",
        f"# load average (1/5/15 min): at start {m['loadavg_start']}, at end {res['loadavg_end']}",
        "",
        "| system | ingest pts/s | build s | queries | p50 ms | p99 ms | QPS | recall@10 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, ing, build, r in rows:
        lines.append(
            f"| {name} | {ing} | {build} | {r['queries']} | {r['p50_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['qps']:,.1f} | {r['recall_at_10']:.3f} |"
        )
    lines += ["", f"local mode: only {loc['queries']} queries (it is slow).", ""]
    lines += ["| ratio | measured | target | |", "|---|---:|---:|---|"]
    for key, (label, target) in TARGETS.items():
        strict = key == "engine_vs_numpy_qps"  # "faster than numpy": strictly greater
        ok = ratios[key] > target if strict else ratios[key] >= target
        op, verdict = (">" if strict else ">="), ("met" if ok else "MISSED")
        lines.append(f"| {label} | {ratios[key]:,.2f} | {op} {target:g} | {verdict} |")
    lines += [
        "",
        f"Background build (optimize(wait=False)) while the main thread queried back-to-back: "
        f"build {s['build_s']:.1f} s (alone: {e['build_alone_s']:.1f} s), "
        f"{s['queries_during_build']} queries answered, p50 {s['p50_ms']:.2f} ms, "
        f"p99 {s['p99_ms']:.2f} ms, longest gap between answers {s['max_gap_ms']:.0f} ms "
        f"(ended {s['max_gap_ended_s_before_build_end']:.2f} s before the build finished); "
        f"the optimize(wait=False) call itself (flush + copy) took "
        f"{s['optimize_call_s'] * 1000:.0f} ms; recall@10 after the swap "
        f"{s['recall_after_swap']:.3f}.",
        "",
        "hnsw_ef sweep (same index and queries): "
        + "; ".join(
            f"ef={ef}: recall@10 {r['recall_at_10']:.3f}, {r['qps']:,.0f} QPS"
            for ef, r in e.get("ef_sweep", {}).items()
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--local-queries", type=int, default=20, help="query sample for local mode")
    ap.add_argument("--hnsw-ef", type=int, default=None, help="search ef (default: engine's)")
    ap.add_argument("--ef-sweep", type=int, nargs="*", default=[32, 64, 128, 256], help="efs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="write the raw numbers here")
    args = ap.parse_args()

    x = embedding_like(args.points + args.queries, args.dim, seed=args.seed)
    data, queries = x[: args.points], x[args.points :]
    truth = exact_top_k(data, queries, K)
    res: dict = dict(points=args.points, dim=args.dim, queries=args.queries, hnsw_ef=args.hnsw_ef)
    res["machine"] = machine_info()
    print("numpy exact ...", flush=True)
    res["numpy"] = numpy_exact(data, queries, truth)
    print(f"QdrantClient(':memory:') ({args.local_queries} queries) ...", flush=True)
    warnings.filterwarnings("ignore", message="Local mode is not recommended")  # we know
    local = QdrantClient(":memory:")
    res["local"] = {"ingest": ingest(local, "local", data)}
    search = searcher(local, "local", None)
    res["local"]["search"] = finish(run_queries(search, queries[: args.local_queries]), truth)
    print("crewchief engine (ingest, brute force, build, HNSW, build under load) ...", flush=True)
    res["engine"] = engine_bench(data, queries, truth, args, local)
    local.close()
    res["loadavg_end"] = load_average()
    print()
    print(report(res))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, default=str) + "\n")
        print(f"\nraw numbers: {args.json}")


if __name__ == "__main__":
    main()
