"""The data path against raw qdrant-edge-py, every figure a ratio in one run (issue 16).

    python bench/bench_ingest.py [--points 100000] [--dim 384] [--json PATH] [--parts ...]

One data set (embedding-like unit vectors + small movie payloads).  Parts (`--parts`):

  inproc  ingest: per batch of `--batch` points, the raw Edge shard (`edge.Point` from
          lists: its fastest form) and `Engine.upsert(models.Batch)` (validated lists, as
          qdrant-client code sends them) and `Engine.upload_collection(ndarray)` take
          turns, so both see the same load.  Then the raw shard's `optimize()` (in this
          process), the engine's build of the same data with nothing else running (time to
          green against the raw `optimize()`), and its build of the same data again while
          this thread queries it (one query every `--pace-ms`, each an exact scan of the
          unindexed shard: they take CPU from the build): the longest gap between answers,
          the slowest answer, the time to green.  Then queries with payload, k=10, in
          alternating rounds, through the engine and as raw Edge requests on the engine's
          own built shard (the same graph and pages: only the wrapper differs), and raw
          Edge's answers turned into qdrant-client's models (the floor of any wrapper that
          answers in qdrant-client's types).
  serve   `crewchief serve` (subprocess): qdrant-client `upload_points` (batch 256), wait
          until indexed; query p50 alternating with the raw shard's in this process; 1
          client process vs `--processes` client processes.

Load averages are recorded with every figure: on a shared 2-core machine they move.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import bench_serve as bs
import benchlib
import numpy as np
import qdrant_edge as edge
from qdrant_client import QdrantClient, models

from crewchief import Engine
from crewchief.datasets import embedding_like
from crewchief.engine.config import edge_config
from crewchief.engine.query.request import client_points

OPTIONS = dict(points=100_000, dim=384, queries=300, batch=1000, rounds=6, seed=0)
OPTIONS |= {"pace-ms": 10.0, "processes": 4, "mp-seconds": 15.0, "parts": "inproc,serve"}
K = 10
GENRES = ["drama", "comedy", "action", "horror", "romance", "documentary"]


def payloads(n: int) -> list[dict[str, Any]]:
    return [
        {"title": f"movie {i}", "year": 1950 + i % 75, "genre": GENRES[i % 6], "rating": i % 10}
        for i in range(n)
    ]


def load() -> float:
    return round(os.getloadavg()[0], 2)


def raw_upsert(shard: edge.EdgeShard, ids: list[int], chunk: np.ndarray, pays: list) -> None:
    rows = chunk.tolist()
    shard.update(edge.UpdateOperation.upsert_points(list(map(edge.Point, ids, rows, pays))))


def raw_query(shard: edge.EdgeShard, q: np.ndarray) -> list[Any]:
    req = edge.QueryRequest(
        limit=K, query=edge.Query.Nearest(q.tolist()), with_payload=True, with_vector=False
    )
    return shard.query(req)


def ingest(engine: Engine, shard: edge.EdgeShard, data: np.ndarray, pays: list, batch: int):
    spent = {"raw": 0.0, "engine_batch": 0.0, "engine_numpy": 0.0}
    start = load()
    for lo in range(0, len(data), batch):
        chunk, ids, p = data[lo : lo + batch], list(range(lo, lo + batch)), pays[lo : lo + batch]
        t0 = time.perf_counter()
        raw_upsert(shard, ids, chunk, p)
        t1 = time.perf_counter()
        engine.upsert("idx", models.Batch(ids=ids, vectors=chunk.tolist(), payloads=p))
        t2 = time.perf_counter()
        engine.upload_collection("np", chunk, payload=p, ids=ids, batch_size=batch)
        t3 = time.perf_counter()
        for key, dt in zip(spent, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            spent[key] += dt
    out = {k: {"seconds": s, "points_per_s": len(data) / s} for k, s in spent.items()}
    for k in ("engine_batch", "engine_numpy"):
        out[k]["ratio"] = spent["raw"] / spent[k]
    return out | {"load": [start, load()]}


def build_under_queries(engine: Engine, queries: np.ndarray, pace: float) -> dict:
    """Start the engine's build of `idx` and query it every `pace` s until green."""
    col, call = engine.collection("idx"), []
    t0 = time.perf_counter()

    def start() -> None:  # as a write would: in another thread than the reader's
        engine.optimize("idx", wait=False)
        call.append(time.perf_counter() - t0)

    starter = threading.Thread(target=start)
    starter.start()
    last, worst_gap, worst_lat, n = time.perf_counter(), 0.0, 0.0, 0
    while (
        starter.is_alive()
        or col.building
        or engine.get_collection("idx").status != models.CollectionStatus.GREEN
    ):
        a = time.perf_counter()
        engine.query_points("idx", queries[n % len(queries)], limit=K, with_payload=True)
        b = time.perf_counter()
        worst_gap, worst_lat, last, n = max(worst_gap, b - last), max(worst_lat, b - a), b, n + 1
        time.sleep(pace)
    green = time.perf_counter() - t0
    info = engine.get_collection("idx")
    return {
        "indexed": f"{info.indexed_vectors_count:,} of {info.points_count:,}",
        "optimize_call_ms": call[0] * 1000,
        "time_to_green_s": green,
        "queries": n,
        "max_gap_ms": (worst_gap - pace) * 1000,
        "max_latency_ms": worst_lat * 1000,
    }


def inproc(data, queries, pays, args, tmp: Path) -> tuple[dict, edge.EdgeShard]:
    engine = Engine(tmp / "engine", auto_optimize=False)
    params = models.VectorParams(size=data.shape[1], distance=models.Distance.COSINE)
    engine.create_collection("idx", vectors_config=params)
    engine.create_collection("np", vectors_config=params)
    shard = edge.EdgeShard.create(str(tmp / "raw"), edge_config(engine.collection("idx").config))
    out: dict = {}
    try:
        print("  ingest (raw / engine Batch / engine numpy, alternating) ...", flush=True)
        out["ingest"] = ingest(engine, shard, data, pays, args.batch)
        print("  raw optimize() ...", flush=True)
        t0, start = time.perf_counter(), load()
        shard.optimize()
        out["raw_optimize"] = {"seconds": time.perf_counter() - t0, "load": [start, load()]}
        shard.flush()  # then reopened, as the engine opens its built generation
        shard.close()
        shard = edge.EdgeShard.load(str(tmp / "raw"))
        info = shard.info()
        out["raw_optimize"] |= {
            "segments": info.segments_count,
            "indexed": info.indexed_vectors_count,
        }
        print("  engine build of the same data, nothing else running ...", flush=True)
        t0, start = time.perf_counter(), load()
        engine.optimize("np", wait=True)
        out["build_alone"] = {"seconds": time.perf_counter() - t0, "load": [start, load()]}
        out["build_alone"]["ratio_vs_raw_optimize"] = (
            out["build_alone"]["seconds"] / out["raw_optimize"]["seconds"]
        )
        engine.delete_collection("np")
        print("  engine build while querying ...", flush=True)
        start = load()
        out["build"] = build_under_queries(engine, queries, args.pace_ms / 1000)
        out["build"]["load"] = [start, load()]
        out["build"]["ratio_vs_raw_optimize"] = (
            out["build"]["time_to_green_s"] / out["raw_optimize"]["seconds"]
        )
        # raw Edge queries the engine's own built shard (under the collection's lock, which is
        # all `Collection.read` adds): the same graph and the same warm pages, so only the
        # wrapper differs (two builds of the same data differ by several % in search work)
        col = engine.collection("idx")
        print("  queries with payload (alternating) ...", flush=True)
        start = load()
        fns = {
            "raw": lambda q: col.read(lambda s: raw_query(s, q)),
            "engine": lambda q: engine.query_points("idx", q, limit=K, with_payload=True),
            # the floor of any answer in qdrant-client's types: raw Edge, then its points
            # turned into models.ScoredPoint as the engine turns them
            "raw_as_models": lambda q: client_points(col.read(lambda s: raw_query(s, q)), False),
        }
        # every query once each before timing: the pages of a freshly built shard are cold
        out["query"] = benchlib.alternate(fns, queries, args.rounds, warmup=len(queries)) | {
            "load": [start, load()]
        }
        raw_qps = out["query"]["raw"]["qps"]
        out["query"]["ratio"] = out["query"]["engine"]["qps"] / raw_qps
        out["query"]["ratio_raw_as_models"] = out["query"]["raw_as_models"]["qps"] / raw_qps
    finally:
        engine.close()
    return out, shard


def serve(data, queries, pays, args, tmp: Path, shard: edge.EdgeShard) -> dict:
    server = bs.start_server(tmp / "served")
    out: dict = {}
    try:
        client = QdrantClient(url=server.url, timeout=300)
        params = models.VectorParams(size=data.shape[1], distance=models.Distance.COSINE)
        client.create_collection("bench", params)
        points = [
            models.PointStruct(id=i, vector=v, payload=p)
            for i, v, p in zip(range(len(data)), data.tolist(), pays, strict=True)
        ]
        print("  upload_points (batch 256) ...", flush=True)
        start, t0 = load(), time.perf_counter()
        client.upload_points("bench", points, batch_size=256, wait=True)
        seconds = time.perf_counter() - t0
        out["upload"] = {"seconds": seconds, "points_per_s": len(data) / seconds}
        out["upload"]["load"] = [start, load()]
        out["index_wait"] = bs.wait_indexed(client, server.url, "bench")
        print("  queries: served vs raw (alternating), then processes ...", flush=True)
        start = load()
        fns = {
            "raw": lambda q: raw_query(shard, q),
            "served": lambda q: client.query_points("bench", q, limit=K, with_payload=True),
        }
        out["query"] = benchlib.alternate(fns, queries, args.rounds, warmup=10) | {
            "load": [start, load()]
        }
        out["query"]["p50_over_raw_ms"] = (
            out["query"]["served"]["p50_ms"] - out["query"]["raw"]["p50_ms"]
        )
        start = load()
        one = bs.multi_process(server.url, "bench", queries, 1, args.mp_seconds)
        many = bs.multi_process(server.url, "bench", queries, args.processes, args.mp_seconds)
        out["processes"] = {"one": one, "many": many, "ratio": many["qps"] / one["qps"]}
        out["processes"]["load"] = [start, load()]
    finally:
        server.stop()
    return out


def report(res: dict) -> str:
    m, lines = res["machine"], []
    lines.append(
        f"# {res['points']:,} x {res['dim']}, payloads, {m['date']} | {m['cpu']} | "
        f"{m['cores']} cores | load at start {m['load_at_start']}, at end {m['load_at_end']}"
    )
    lines += ["", "| figure | raw Edge | crewchief | ratio | goal | load (1 min) |"]
    lines.append("|---|---:|---:|---:|---:|---|")
    if "inproc" in res:
        i, g = res["inproc"], res["inproc"]["ingest"]
        ld = lambda x: " → ".join(str(v) for v in x["load"])  # noqa: E731
        for key, label in (("engine_batch", "models.Batch"), ("engine_numpy", "numpy")):
            lines.append(
                f"| in-process ingest, {label} (pts/s) | {g['raw']['points_per_s']:,.0f} | "
                f"{g[key]['points_per_s']:,.0f} | {g[key]['ratio']:.2f} | >= 0.7 | {ld(g)} |"
            )
        q = i["query"]
        lines.append(
            f"| in-process query QPS, payload, k=10 | {q['raw']['qps']:,.0f} | "
            f"{q['engine']['qps']:,.0f} | {q['ratio']:.2f} | >= 0.95 | {ld(q)} |"
        )
        lines.append(
            f"| the floor: raw Edge + its points as models.ScoredPoint | {q['raw']['qps']:,.0f} | "
            f"{q['raw_as_models']['qps']:,.0f} | {q['ratio_raw_as_models']:.2f} | | {ld(q)} |"
        )
        b, alone, raw = i["build"], i["build_alone"], i["raw_optimize"]
        lines.append(
            f"| time to green (s) vs raw optimize() | {raw['seconds']:.1f} | "
            f"{alone['seconds']:.1f} | {alone['ratio_vs_raw_optimize']:.2f} | <= 1.2 | "
            f"{ld(raw)}; {ld(alone)} |"
        )
        lines.append(
            f"| the same, queried every {res['pace_ms']:g} ms meanwhile | {raw['seconds']:.1f} | "
            f"{b['time_to_green_s']:.1f} | {b['ratio_vs_raw_optimize']:.2f} | | {ld(b)} |"
        )
        lines.append(
            f"| longest gap while indexing (ms) | - | {b['max_gap_ms']:.0f} "
            f"(slowest answer {b['max_latency_ms']:.0f}, {b['queries']} queries) | | <= 300 | |"
        )
    if "serve" in res:
        s = res["serve"]
        ld = lambda x: " → ".join(str(v) for v in x["load"])  # noqa: E731
        u, q, p = s["upload"], s["query"], s["processes"]
        lines.append(
            f"| serve upload_points, batch 256 (pts/s) | - | {u['points_per_s']:,.0f} | | "
            f">= 10,000 | {ld(u)} |"
        )
        lines.append(
            f"| serve query p50 (ms) | {q['raw']['p50_ms']:.2f} | {q['served']['p50_ms']:.2f} | "
            f"+{q['p50_over_raw_ms']:.2f} ms | <= +1 ms | {ld(q)} |"
        )
        lines.append(
            f"| serve QPS, {p['many']['processes']} processes vs 1 | {p['one']['qps']:,.0f} | "
            f"{p['many']['qps']:,.0f} | {p['ratio']:.2f} | >= 1.5 | {ld(p)} |"
        )
    return "\n".join(lines)


def main() -> None:
    args = benchlib.options(__doc__, OPTIONS)
    parts = set(args.parts.split(","))
    x = embedding_like(args.points + args.queries, args.dim, seed=args.seed)
    data, queries, pays = x[: args.points], x[args.points :], payloads(args.points)
    res: dict = {"points": args.points, "dim": args.dim, "pace_ms": args.pace_ms}
    res["machine"] = benchlib.machine_info()
    tmp = Path(tempfile.mkdtemp(prefix="crewchief-bench-ingest-"))
    try:
        print("in-process: raw Edge vs Engine ...", flush=True)
        res["inproc"], shard = inproc(data, queries, pays, args, tmp)
        if "inproc" not in parts:
            del res["inproc"]
        if "serve" in parts:
            print("crewchief serve vs raw Edge ...", flush=True)
            res["serve"] = serve(data, queries, pays, args, tmp, shard)
        shard.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    benchlib.finish(res, report, args.json)


if __name__ == "__main__":
    main()
