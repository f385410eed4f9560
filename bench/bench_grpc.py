"""Qdrant's gRPC API on `crewchief serve` vs its REST API vs the embedded engine vs raw Edge.

Usage: python bench/bench_grpc.py [--points 100000] [--dim 384] [--queries 300] [--json PATH]

One data set (`crewchief.datasets.embedding_like`), one run, four ways in:
- upload: `upload_points` (batch 256, wait) through `QdrantClient` over REST and over gRPC
  into the real `crewchief serve` (a subprocess on OS-picked ports), in alternating halves
  so that a change of machine load hits both alike; then `Engine.upload_points` in this
  process, then raw `qdrant_edge.EdgeShard.update` batches.  Indexing is off during the
  uploads (indexing_threshold 0), so no build competes with them;
- queries: one more collection, uploaded untimed, is indexed once (HNSW, by the server,
  as an app's collection would be); single sequential
  queries (k=10, as an app issues them) over REST and gRPC in alternating rounds, then
  the server is stopped and the same data directory opened by the embedded engine in this
  process, then that collection's shard by raw `EdgeShard`: the same index, the same
  queries, four transports.  Recall@10 against numpy's exact top-10.
Target: gRPC upload >= 1.5x REST's points/s.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import qdrant_edge as edge
from qdrant_client import QdrantClient, models

from crewchief import Engine
from crewchief.datasets import embedding_like, exact_top_k

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "server"))
import benchlib  # noqa: E402  (this folder, on sys.path when run as a script)
from serverproc import start_server  # noqa: E402  (the tests' real-server launcher)

K = 10
TARGET = 1.5
OPTIONS = dict(points=100_000, dim=384, queries=300, batch=256, seed=0, rounds=4)
NO_INDEX = models.OptimizersConfigDiff(indexing_threshold=0)

Search = Callable[[np.ndarray], list[int]]


def create(client: QdrantClient | Engine, name: str, dim: int) -> None:
    params = models.VectorParams(size=dim, distance=models.Distance.COSINE)
    client.create_collection(name, vectors_config=params, optimizers_config=NO_INDEX)


def upload_part(
    client: QdrantClient | Engine, name: str, data: np.ndarray, ids: range, batch: int
) -> float:
    points = (models.PointStruct(id=i, vector=data[i].tolist()) for i in ids)
    t0 = time.perf_counter()
    client.upload_points(name, points, batch_size=batch, wait=True)
    return time.perf_counter() - t0


def rate(n: int, seconds: float, batch: int) -> dict[str, float]:
    return {"points": n, "seconds": seconds, "points_per_s": n / seconds, "batch": batch}


def served_uploads(rest: QdrantClient, rpc: QdrantClient, data: np.ndarray, args: Any) -> dict:
    """REST and gRPC, alternating halves: REST 1st half, gRPC 1st, REST 2nd, gRPC 2nd."""
    n, half = len(data), len(data) // 2
    create(rest, "rest_up", args.dim)
    create(rpc, "grpc_up", args.dim)
    times = {"rest": 0.0, "grpc": 0.0}
    for part in (range(0, half), range(half, n)):
        times["rest"] += upload_part(rest, "rest_up", data, part, args.batch)
        times["grpc"] += upload_part(rpc, "grpc_up", data, part, args.batch)
    for client, name in ((rest, "rest_up"), (rpc, "grpc_up")):
        count = client.count(name, exact=True).count
        assert count == n, f"{name}: {count} points after uploading {n}"
    return {k: rate(n, s, args.batch) for k, s in times.items()}


def raw_edge_upload(path: Path, data: np.ndarray, batch: int) -> dict:
    config = edge.EdgeConfig(
        vectors=edge.EdgeVectorParams(size=data.shape[1], distance=edge.Distance.Cosine)
    )
    shard = edge.EdgeShard.create(str(path), config)
    t0 = time.perf_counter()
    for start in range(0, len(data), batch):
        chunk = data[start : start + batch]
        pts = [edge.Point(start + j, v.tolist()) for j, v in enumerate(chunk)]
        shard.update(edge.UpdateOperation.upsert_points(pts))
    shard.flush()
    seconds = time.perf_counter() - t0
    shard.close()
    return rate(len(data), seconds, batch)


def client_search(client: QdrantClient | Engine, name: str) -> Search:
    def search(q: np.ndarray) -> list[int]:
        return [int(p.id) for p in client.query_points(name, q.tolist(), limit=K).points]

    return search


def edge_search(shard: edge.EdgeShard) -> Search:
    def search(q: np.ndarray) -> list[int]:
        request = edge.QueryRequest(limit=K, query=edge.Query.Nearest(q.tolist()))
        return [int(p.id) for p in shard.query(request)]

    return search


def timed(searches: dict[str, Search], queries: np.ndarray, truth: np.ndarray, rounds: int) -> dict:
    """Sequential single queries, the ways taking turns in `rounds` over the same queries."""
    lat: dict[str, list[float]] = {k: [] for k in searches}
    rec: dict[str, list[float]] = {k: [] for k in searches}
    for search in searches.values():  # warm-up: connections, first requests
        for q in queries[:5]:
            search(q)
    n = len(queries)
    for r in range(rounds):
        part = slice(r * n // rounds, (r + 1) * n // rounds)
        for way, search in searches.items():
            for q, t in zip(queries[part], truth[part], strict=True):
                t0 = time.perf_counter()
                found = search(q)
                lat[way].append(time.perf_counter() - t0)
                rec[way].append(len(set(found) & set(t.tolist())) / K)
    return {
        way: {
            "queries": len(x),
            "qps": len(x) / sum(x),
            **benchlib.pct(x),
            "recall_at_10": float(np.mean(rec[way])),
        }
        for way, x in lat.items()
    }


def wait_indexed(client: QdrantClient, name: str, timeout: float = 7200) -> dict:
    """Until green with every vector indexed (or green for 10 s: a collection too small
    for HNSW stays brute force); its state then."""
    t0, green = time.perf_counter(), 0
    while True:
        info = client.get_collection(name)
        green = green + 1 if info.status == models.CollectionStatus.GREEN else 0
        indexed, points = info.indexed_vectors_count or 0, info.points_count or 0
        if (green >= 2 and indexed == points) or green >= 10:
            return {"seconds": time.perf_counter() - t0, "indexed": indexed, "points": points}
        if time.perf_counter() - t0 > timeout:
            raise RuntimeError(f"{name} not indexed after {timeout} s: {info}")
        time.sleep(1.0)


def run(args: Any) -> dict:
    data = embedding_like(args.points + args.queries, args.dim, seed=args.seed)
    points, queries = data[: args.points], data[args.points :]
    truth = exact_top_k(points, queries, K)
    tmp = Path(tempfile.mkdtemp(prefix="crewchief-bench-grpc-"))
    res: dict[str, Any] = {
        "machine": benchlib.machine_info("grpcio"),
        "options": vars(args) | {"json": str(args.json)},
    }
    try:
        server = start_server(tmp / "serve")
        res["ports"] = {"rest": server.port, "grpc": server.grpc_port}
        rest = QdrantClient(url=server.url, timeout=600)
        rpc = QdrantClient(
            host="127.0.0.1",
            port=server.port,
            grpc_port=server.grpc_port,
            prefer_grpc=True,
            timeout=600,
        )
        print("  upload_points over REST and gRPC (alternating halves) ...", flush=True)
        res["upload"] = served_uploads(rest, rpc, points, args)
        res["load_after_served_upload"] = os.getloadavg()
        print(
            "  the queried collection: uploaded (untimed), HNSW built by the server ...", flush=True
        )
        params = models.VectorParams(size=args.dim, distance=models.Distance.COSINE)
        rpc.create_collection("query", vectors_config=params)
        upload_part(rpc, "query", points, range(len(points)), args.batch)
        httpx.post(f"{server.url}/crewchief/collections/query/optimize").raise_for_status()
        res["index"] = wait_indexed(rest, "query")
        print("  queries over REST and gRPC (alternating rounds) ...", flush=True)
        res["query"] = timed(
            {"rest": client_search(rest, "query"), "grpc": client_search(rpc, "query")},
            queries,
            truth,
            args.rounds,
        )
        rest.close()
        rpc.close()
        assert server.stop() == 0, server.stderr
        print(
            "  the embedded engine: the same directory, then a new collection's upload ...",
            flush=True,
        )
        with Engine(tmp / "serve") as engine:
            res["query"]["embedded"] = timed(
                {"embedded": client_search(engine, "query")}, queries, truth, 1
            )["embedded"]
            shard_dir = engine.collection("query").shard_dir
            create(engine, "emb_up", args.dim)
            seconds = upload_part(engine, "emb_up", points, range(len(points)), args.batch)
            res["upload"]["embedded"] = rate(len(points), seconds, args.batch)
        print("  raw qdrant-edge-py: the same shard, then a new shard's upload ...", flush=True)
        shard = edge.EdgeShard.load(str(shard_dir))
        res["query"]["raw_edge"] = timed({"raw_edge": edge_search(shard)}, queries, truth, 1)[
            "raw_edge"
        ]
        shard.close()
        res["upload"]["raw_edge"] = raw_edge_upload(tmp / "raw", points, args.batch)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res["grpc_vs_rest_upload"] = (
        res["upload"]["grpc"]["points_per_s"] / res["upload"]["rest"]["points_per_s"]
    )
    return res


LABELS = {
    "rest": "crewchief serve, REST",
    "grpc": "crewchief serve, gRPC",
    "embedded": "embedded Engine (in process)",
    "raw_edge": "raw qdrant-edge-py EdgeShard",
}


def report(res: dict) -> str:
    m, o = res["machine"], res["options"]
    lines = [
        f"# {o['points']:,} x {o['dim']} embedding-like vectors, {o['queries']} queries, "
        f"k={K}, batch {o['batch']}",
        f"# {m['date']} | {m['cpu']} | {m['cores']} cores | {m['ram_gb']} GB RAM | "
        f"Python {m['python']} | " + " | ".join(f"{k} {v}" for k, v in m["versions"].items()),
        f"# load average (1/5/15 min): at start {m['load_at_start']}, at end {m['load_at_end']}",
        f"# queried collection: {res['index']['indexed']:,} of {res['index']['points']:,} vectors "
        f"in HNSW (built by the server; waited {res['index']['seconds']:.0f} s)",
        "",
        "| way in | upload pts/s | upload s | query p50 ms | p99 ms | QPS | recall@10 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for way, label in LABELS.items():
        u, q = res["upload"][way], res["query"][way]
        lines.append(
            f"| {label} | {u['points_per_s']:,.0f} | {u['seconds']:.1f} | {q['p50_ms']:.2f} | "
            f"{q['p99_ms']:.2f} | {q['qps']:.0f} | {q['recall_at_10']:.3f} |"
        )
    ratio = res["grpc_vs_rest_upload"]
    verdict = "met" if ratio >= TARGET else "NOT met"
    lines += ["", f"gRPC upload / REST upload: {ratio:.2f}x (target >= {TARGET}x: {verdict})"]
    return "\n".join(lines)


def main() -> None:
    args = benchlib.options(__doc__, OPTIONS)
    benchlib.finish(run(args), report, args.json)


if __name__ == "__main__":
    main()
