"""The served data path through qdrant-client, against its own ceiling and raw Edge (issue 16).

    python bench/bench_http.py [--points 100000] [--dim 384] [--json PATH]

One data set (embedding-like unit vectors + small movie payloads, bench_ingest.py's), one
run, every figure beside its reference measured alongside it:

- **upload_points** (batch 256, `wait=true`, indexing off while uploading) over REST and
  gRPC into `crewchief serve`, and into the *null server* (bench/nullserver.py: answers at
  once, so only qdrant-client's own work and the loopback are timed: the ceiling of any
  server), in alternating halves; then `parallel=2` the same way; then raw qdrant-edge-py
  `EdgeShard.update` of the same points and payloads from lists in this process (the
  engine's own cost).  `bound` is what a server costing exactly raw Edge would reach:
  1 / (1/ceiling + 1/raw), the two being sequential in `upload_points`.
- **query p50** (k=10, with payload): raw Edge on the same points indexed in this process,
  crewchief serve over REST and gRPC (the same data, indexed by the server) and the null
  server over both, in alternating rounds.
- **4 client processes vs 1** (REST, bench_serve.multi_process).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_ingest as bi
import bench_serve as bs
import benchlib
import httpx
import numpy as np
import qdrant_edge as edge
from qdrant_client import QdrantClient, models

from crewchief.datasets import embedding_like

OPTIONS = dict(points=100_000, dim=384, queries=300, batch=256, rounds=6, seed=0)
OPTIONS |= {"processes": 4, "mp-seconds": 15.0}
NO_INDEX = models.OptimizersConfigDiff(indexing_threshold=0)
WAYS = ("rest", "grpc")


def load() -> float:
    return round(os.getloadavg()[0], 2)


def start_null() -> tuple[subprocess.Popen[str], int, int]:
    script = Path(__file__).with_name("nullserver.py")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    found = re.search(r"REST (\d+) gRPC (\d+)", proc.stdout.readline())
    assert found, "the null server did not start"
    return proc, int(found.group(1)), int(found.group(2))


def clients(rest_port: int, grpc_port: int) -> dict[str, QdrantClient]:
    kw = dict(host="127.0.0.1", port=rest_port, grpc_port=grpc_port, timeout=600)
    return {
        "rest": QdrantClient(**kw, check_compatibility=False),  # type: ignore[arg-type]
        "grpc": QdrantClient(**kw, prefer_grpc=True, check_compatibility=False),  # type: ignore[arg-type]
    }


def upload(client: QdrantClient, name: str, pts: list, batch: int, parallel: int) -> float:
    t0 = time.perf_counter()
    client.upload_points(name, pts, batch_size=batch, wait=True, parallel=parallel)
    return time.perf_counter() - t0


def uploads(served: dict, null: dict, points: list, args: Any, parallel: int) -> dict:
    """REST and gRPC, served and null, in alternating halves (same load for each)."""
    n, half, tag = len(points), len(points) // 2, f"p{parallel}"
    params = models.VectorParams(size=args.dim, distance=models.Distance.COSINE)
    for way in WAYS:
        served[way].create_collection(f"{way}_{tag}", params, optimizers_config=NO_INDEX)
    spent = {f"{k}_{way}": 0.0 for k in ("served", "null") for way in WAYS}
    start = load()
    for part in (points[:half], points[half:]):
        for way in WAYS:
            spent[f"null_{way}"] += upload(null[way], "null", part, args.batch, parallel)
            name = f"{way}_{tag}"
            spent[f"served_{way}"] += upload(served[way], name, part, args.batch, parallel)
    for way in WAYS:
        count = served["rest"].count(f"{way}_{tag}", exact=True).count
        assert count == n, f"{way}_{tag}: {count} points after uploading {n}"
    out: dict[str, Any] = {k: {"seconds": s, "points_per_s": n / s} for k, s in spent.items()}
    return out | {"load": [start, load()]}


def raw_ingest(shard: edge.EdgeShard, data: np.ndarray, pays: list, batch: int) -> dict:
    """The same points from lists (as a server holds them after parsing), batch by batch."""
    rows, start, spent = data.tolist(), load(), 0.0
    for lo in range(0, len(rows), batch):
        t0 = time.perf_counter()
        pts = list(map(edge.Point, range(lo, lo + batch), rows[lo : lo + batch], pays[lo:]))
        shard.update(edge.UpdateOperation.upsert_points(pts))
        spent += time.perf_counter() - t0
    return {"seconds": spent, "points_per_s": len(rows) / spent, "load": [start, load()]}


def queries_alternating(fns: dict[str, Any], queries: np.ndarray, rounds: int) -> dict:
    start = load()
    # every query once on each side before timing: the pages of freshly built shards are cold
    warm = len(queries)
    return benchlib.alternate(fns, queries, rounds, warmup=warm) | {"load": [start, load()]}


def run(args: Any) -> dict:
    x = embedding_like(args.points + args.queries, args.dim, seed=args.seed)
    data, queries, pays = x[: args.points], x[args.points :], bi.payloads(args.points)
    res: dict[str, Any] = {"machine": benchlib.machine_info("grpcio", "uvicorn")}
    res["options"] = vars(args) | {"json": str(args.json)}
    tmp = Path(tempfile.mkdtemp(prefix="crewchief-bench-http-"))
    server = bs.start_server(tmp / "served")
    null_proc, null_rest, null_grpc = start_null()
    try:
        served, null = clients(server.port, server.grpc_port), clients(null_rest, null_grpc)
        points = [
            models.PointStruct(id=i, vector=v, payload=p)
            for i, (v, p) in enumerate(zip(data.tolist(), pays, strict=True))
        ]
        print("upload_points, parallel=1: served and null, REST and gRPC ...", flush=True)
        res["upload"] = uploads(served, null, points, args, 1)
        print("upload_points, parallel=2 ...", flush=True)
        res["upload_parallel2"] = uploads(served, null, points, args, 2)
        print("raw Edge ingest of the same points ...", flush=True)
        config = edge.EdgeConfig(
            vectors=edge.EdgeVectorParams(size=args.dim, distance=edge.Distance.Cosine)
        )
        shard = edge.EdgeShard.create(str(tmp / "raw"), config)
        res["raw_ingest"] = raw_ingest(shard, data, pays, args.batch)
        print("index builds: the server's (rest_p1) and raw Edge's, side by side ...", flush=True)
        url = server.url
        asked = time.perf_counter()
        on = models.OptimizersConfigDiff(indexing_threshold=10_000)  # Qdrant's default
        served["rest"].update_collection("rest_p1", optimizers_config=on)
        httpx.post(f"{url}/crewchief/collections/rest_p1/optimize", timeout=600).raise_for_status()
        t0 = time.perf_counter()
        shard.optimize()
        res["raw_optimize_s"] = time.perf_counter() - t0
        res["index_wait"] = bs.wait_indexed(served["rest"], url, "rest_p1")
        res["index_wait"]["since_request_s"] = time.perf_counter() - asked
        print("queries: raw, served REST / gRPC, null REST / gRPC (alternating) ...", flush=True)

        def q(client: QdrantClient, name: str) -> Any:
            return lambda v: client.query_points(name, v, limit=bi.K, with_payload=True)

        fns = {"raw": lambda v: bi.raw_query(shard, v)}
        fns |= {f"served_{w}": q(served[w], "rest_p1") for w in WAYS}
        fns |= {f"null_{w}": q(null[w], "null") for w in WAYS}
        res["query"] = queries_alternating(fns, queries, args.rounds)
        print("client processes: 1, then several (REST) ...", flush=True)
        start = load()
        one = bs.multi_process(url, "rest_p1", queries, 1, args.mp_seconds)
        many = bs.multi_process(url, "rest_p1", queries, args.processes, args.mp_seconds)
        res["processes"] = {"one": one, "many": many, "ratio": many["qps"] / one["qps"]}
        res["processes"]["load"] = [start, load()]
        shard.close()
        for c in (*served.values(), *null.values()):
            c.close()
    finally:
        null_proc.terminate()
        null_proc.wait(timeout=30)
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return res


def report(res: dict) -> str:
    m, raw = res["machine"], res["raw_ingest"]["points_per_s"]
    ld = lambda x: " → ".join(str(v) for v in x["load"])  # noqa: E731
    lines = [
        f"# {res['options']['points']:,} x {res['options']['dim']}, payloads, batch "
        f"{res['options']['batch']} | {m['date']} | {m['cpu']} | {m['cores']} cores | "
        f"load at start {m['load_at_start']}, at end {m['load_at_end']}",
        f"# raw Edge ingest (lists + payloads, this process): {raw:,.0f} pts/s "
        f"({ld(res['raw_ingest'])})",
        f"# index builds side by side: the server's indexed within "
        f"{res['index_wait']['since_request_s']:.0f} s of the request, raw optimize() "
        f"{res['raw_optimize_s']:.0f} s",
        "",
        "| figure | crewchief serve | null server (client ceiling) | bound: ceiling + raw Edge "
        "| goal | load (1 min) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for key, label in (("upload", "parallel=1"), ("upload_parallel2", "parallel=2")):
        u = res[key]
        for way in WAYS:
            ceiling = u[f"null_{way}"]["points_per_s"]
            bound = 1 / (1 / ceiling + 1 / raw)
            lines.append(
                f"| upload_points {way.upper() if way == 'rest' else 'gRPC'}, {label} (pts/s) | "
                f"{u[f'served_{way}']['points_per_s']:,.0f} | {ceiling:,.0f} | {bound:,.0f} | "
                f">= 10,000 | {ld(u)} |"
            )
    q = res["query"]
    for way in WAYS:
        served, null, raw_p50 = q[f"served_{way}"], q[f"null_{way}"], q["raw"]["p50_ms"]
        lines.append(
            f"| query p50 {way.upper() if way == 'rest' else 'gRPC'} (ms; raw Edge "
            f"{raw_p50:.2f}) | {served['p50_ms']:.2f} (+{served['p50_ms'] - raw_p50:.2f}) | "
            f"{null['p50_ms']:.2f} | {raw_p50 + null['p50_ms']:.2f} (+{null['p50_ms']:.2f}) | "
            f"<= +1 ms | {ld(q)} |"
        )
    p = res["processes"]
    lines.append(
        f"| QPS, {p['many']['processes']} client processes vs 1 (REST) | "
        f"{p['many']['qps']:,.0f} vs {p['one']['qps']:,.0f}: {p['ratio']:.2f}x | | | "
        f">= 1.5x | {ld(p)} |"
    )
    return "\n".join(lines)


def main() -> None:
    args = benchlib.options(__doc__, OPTIONS)
    res = run(args)
    benchlib.finish(res, report, args.json)


if __name__ == "__main__":
    main()
