"""`crewchief serve` vs qdrant-client local mode, both through qdrant-client (issue 3).

    python bench/bench_serve.py [--points 100000] [--dim 384] [--json PATH] [--queries 500]
        [--local-queries 20] [--processes 4] [--mp-seconds 20] [--batch 256] [--seed 0]

Same `embedding_like` points uploaded (`upload_points`) into the real `crewchief serve`
(subprocess, loopback port from the OS) and `QdrantClient(":memory:")`.  Queries wait until
the served collection is green AND fully indexed (green with vectors unindexed is recorded
and a build requested).  Sequential single `query_points` (k=10) like an app, then N client
processes for `--mp-seconds`; local mode (~5 queries/s at 100k) gets `--local-queries`.
Stall: a second collection is uploaded and auto-indexed while probe processes query it and
the first one back-to-back.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as md
import json
import multiprocessing as mp
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import httpx
import numpy as np
from qdrant_client import QdrantClient, models

from crewchief.datasets import embedding_like, exact_top_k

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "server"))
from serverproc import start_server  # noqa: E402  (the tests' real-server launcher)

K = 10
TARGET_RATIO = 20.0
OPTIONS = dict(points=100_000, dim=384, queries=500, processes=4, batch=256, seed=0)
OPTIONS |= {"local-queries": 20, "mp-seconds": 20.0}


def machine_info() -> dict:
    cpu = Path("/proc/cpuinfo").read_text().split("model name", 1)[-1].split("\n")[0]
    mem = Path("/proc/meminfo").read_text().split("MemTotal:", 1)[1].split()[0]
    pkgs = ("numpy", "qdrant-edge-py", "qdrant-client", "crewchief", "uvicorn", "starlette")
    when = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    info = dict(date=when, cpu=cpu.strip(" :\t"), cores=os.cpu_count(), ram_gb=int(mem) >> 20)
    info["python"] = platform.python_version()
    return info | dict(versions={p: md.version(p) for p in pkgs}, load_at_start=os.getloadavg())


def pct(seconds: list[float]) -> dict[str, float]:  # latency percentiles in ms
    ms = np.array(seconds or [0.0]) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def search(client: QdrantClient, name: str, q: np.ndarray) -> list[int]:
    return [int(p.id) for p in client.query_points(name, q.tolist(), limit=K).points]


def sequential(client: QdrantClient, name: str, queries: np.ndarray, truth: np.ndarray) -> dict:
    _warm_up = [search(client, name, q) for q in queries[:5]]  # connection, first requests
    lat, found = [], []
    start = time.perf_counter()
    for q in queries:
        t0 = time.perf_counter()
        found.append(search(client, name, q))
        lat.append(time.perf_counter() - t0)
    qps = len(queries) / (time.perf_counter() - start)
    rec = np.mean([len(set(f) & set(t.tolist())) / K for f, t in zip(found, truth, strict=True)])
    return {"queries": len(queries), "qps": qps, **pct(lat), "recall_at_10": float(rec)}


def worker(url: str, name: str, queries: np.ndarray, start_at: float, stop, out) -> None:
    """A client process: query back-to-back from `start_at` until `stop` is set."""
    client = QdrantClient(url=url, timeout=120)
    times, errors = [], []  # (sent, answered) per query
    time.sleep(max(0.0, start_at - time.time()))
    while not stop.is_set():
        t0 = time.time()
        try:
            search(client, name, queries[len(times) % len(queries)])
        except Exception as exc:  # counted and reported, never fatal
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
        times.append((t0, time.time()))
    out.put({"name": name, "times": times, "errors": errors})


def start_workers(url: str, names: list[str], queries: np.ndarray, delay: float = 5.0):
    ctx = mp.get_context("spawn")
    stop, out = ctx.Event(), ctx.Queue()
    start_at = time.time() + delay  # after every process has imported and connected
    procs = [ctx.Process(target=worker, args=(url, n, queries, start_at, stop, out)) for n in names]
    for p in procs:
        p.start()
    return start_at, stop, out, procs


def collect(stop, out, procs) -> list[dict]:
    stop.set()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    return results


def window(times: list, a: float, b: float) -> dict:
    """Answers in [a, b], their latency, and the longest gap between answers overlapping it."""
    t = np.array(sorted(times, key=lambda x: x[1])).reshape(-1, 2)
    ends, inside = t[:, 1], (t[:, 1] >= a) & (t[:, 1] <= b)
    gaps = [e1 - e0 for e0, e1 in zip(ends[:-1], ends[1:], strict=True) if e1 >= a and e0 <= b]
    lat = list(ends[inside] - t[inside, 0])
    n, gap = int(inside.sum()), max(gaps, default=b - a)
    return {"seconds": b - a, "answers": n, **pct(lat), "max_gap_ms": 1000 * gap}


def multi_process(url: str, name: str, queries: np.ndarray, n: int, seconds: float) -> dict:
    start_at, stop, out, procs = start_workers(url, [name] * n, queries)
    time.sleep(max(0.0, start_at - time.time()) + seconds)
    res = collect(stop, out, procs)
    a = max(r["times"][0][1] for r in res)  # count only while every process is querying
    b = min(r["times"][-1][1] for r in res)
    w = window([x for r in res for x in r["times"]], a, b)
    w |= {"processes": n, "queries": w["answers"], "qps": w["answers"] / (b - a)}
    return w | {"errors": sum(len(r["errors"]) for r in res)}


def upload(client: QdrantClient, name: str, data: np.ndarray, batch: int, new=True) -> dict:
    if new:
        params = models.VectorParams(size=data.shape[1], distance=models.Distance.COSINE)
        client.create_collection(name, params)
    points = (models.PointStruct(id=i, vector=v.tolist()) for i, v in enumerate(data))
    t0 = time.perf_counter()
    client.upload_points(name, points, batch_size=batch, wait=True)
    seconds = time.perf_counter() - t0
    count = client.count(name, exact=True).count
    assert count == len(data), f"{name}: {count} points after uploading {len(data)}"
    return {"seconds": seconds, "points_per_s": len(data) / seconds, "batch": batch}


def wait_indexed(client: QdrantClient, url: str, name: str, timeout: float = 3600) -> dict:
    """Poll until green with every vector indexed; ask for a build if green leaves some out."""
    t0, out, green_polls = time.perf_counter(), {"green_unindexed": None}, 0
    while True:
        info = client.get_collection(name)
        st, pts, idx = info.status.value, info.points_count, info.indexed_vectors_count
        now = {"points": pts, "indexed": idx, "segments": info.segments_count}
        if st == "green" and idx == pts:
            break
        if st == "red" or time.perf_counter() - t0 > timeout:
            raise RuntimeError(f"`{name}` {st} after {time.perf_counter() - t0:.0f} s: {info}")
        green_polls = green_polls + 1 if st == "green" else 0
        if green_polls >= 6:  # green for 3 s with vectors unindexed
            if out["green_unindexed"] is not None:  # a requested build did not help
                out["left_unindexed"] = now
                break
            out["green_unindexed"] = now | {"after_s": time.perf_counter() - t0}
            httpx.post(f"{url}/crewchief/collections/{name}/optimize", timeout=600)
            green_polls = 0
        time.sleep(0.5)
    kb = info.config.optimizer_config.indexing_threshold
    return out | now | {"seconds": time.perf_counter() - t0, "status": st, "threshold_kb": kb}


def index_note(name: str, w: dict) -> str:
    g, left = w["green_unindexed"], w.get("left_unindexed")
    text = f"`{name}` was green with {w['indexed']:,} of {w['points']:,} vectors indexed "
    text += f"({w['segments']} segments) {w['seconds']:.1f} s after its upload ended"
    if g:
        text += f"; green with only {g['indexed']:,} indexed at {g['after_s']:.0f} s: build asked"
    if left:
        text += f"; even then {left['points'] - left['indexed']:,} vectors stayed UNINDEXED "
        text += f"(indexing_threshold {w['threshold_kb']} KB)"
    return text + "."


def serve_bench(data, queries, truth, stall_data, args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="crewchief-bench-serve-"))
    server = start_server(tmp / "data")
    out: dict = {"url": server.url}
    try:
        client = QdrantClient(url=server.url, timeout=300)
        print("  upload_points, then wait until indexed ...", flush=True)
        out["ingest"] = upload(client, "bench", data, args.batch)
        out["index_wait"] = wait_indexed(client, server.url, "bench")
        out["load_queries"] = os.getloadavg()
        print(f"  queries: 1 client, then {args.processes} client processes ...", flush=True)
        out["single"] = sequential(client, "bench", queries, truth)
        out["multi"] = multi_process(server.url, "bench", queries, args.processes, args.mp_seconds)
        print("  stall: upload + auto-index a second collection under probes ...", flush=True)
        out["stall"] = stall(client, server.url, stall_data, queries, args)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def stall(client: QdrantClient, url: str, data: np.ndarray, queries, args) -> dict:
    upload(client, "stall", data[:1], args.batch)  # exists, with one point, for the probe
    start_at, stop, out, procs = start_workers(url, ["stall", "bench"], queries)
    time.sleep(max(0.0, start_at - time.time()) + 3)  # baseline: 3 s before the upload
    t_up = time.time()
    ingest = upload(client, "stall", data, args.batch, new=False)
    t_idx = time.time()
    index = wait_indexed(client, url, "stall")
    t_end = time.time()
    time.sleep(1)
    res = collect(stop, out, procs)
    phases = {"before": (t_up - 3, t_up), "upload": (t_up, t_idx), "indexing": (t_idx, t_end)}
    probes = {r["name"]: {k: window(r["times"], a, b) for k, (a, b) in phases.items()} for r in res}
    errors = {r["name"]: r["errors"][:3] + [f"total {len(r['errors'])}"] for r in res}
    return {"ingest": ingest, "index": index, "probes": probes, "errors": errors}


def report(res: dict) -> str:
    m, s, loc = res["machine"], res["serve"], res["local"]
    v, one, multi, lone = m["versions"], s["single"], s["multi"], loc["single"]
    ratios = res["ratios"] = {
        "serve QPS (1 client) / local-mode QPS": one["qps"] / lone["qps"],
        f"serve QPS ({multi['processes']} processes) / local-mode QPS": multi["qps"] / lone["qps"],
    }
    lines = [
        f"# {res['points']:,} x {res['dim']} embedding-like vectors, k={K}, upload_points "
        f"batch {s['ingest']['batch']}, REST (qdrant-client {v['qdrant-client']})",
        f"# {m['date']} | {m['cpu']} | {m['cores']} cores | {m['ram_gb']} GB RAM | Python "
        f"{m['python']} | qdrant-edge-py {v['qdrant-edge-py']} | uvicorn {v['uvicorn']} | load "
        f"avg at start {m['load_at_start'][0]:.2f}, before queries {s['load_queries'][0]:.2f}",
        "",
        "| system | ingest pts/s | queries | p50 ms | p99 ms | QPS | recall@10 | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, ing, r in [
        ("crewchief serve, 1 client", f"{s['ingest']['points_per_s']:,.0f}", one),
        (f"crewchief serve, {multi['processes']} client processes", "(same)", multi),
        ("QdrantClient(':memory:') (reference)", f"{loc['ingest']['points_per_s']:,.0f}", lone),
    ]:
        rec = f"{r['recall_at_10']:.3f}" if "recall_at_10" in r else "-"
        lines.append(f"| {name} | {ing} | {r['queries']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
                     f"| {r['qps']:,.1f} | {rec} | {r.get('errors', 0)} |")  # fmt: skip
    lines += ["", "| ratio | measured | target | |", "|---|---:|---:|---|"]
    for label, r in ratios.items():
        verdict = "met" if r >= TARGET_RATIO else "MISSED"
        lines.append(f"| {label} | {r:,.1f} | >= {TARGET_RATIO:g} | {verdict} |")
    lines += [
        "",
        "Index before the queries: " + index_note("bench", s["index_wait"]),
        f"Local mode answered only {lone['queries']} queries (it is slow).",
        "",
        f"Stall: a second {res['points']:,}-point collection `stall` is uploaded (auto-indexing "
        "on) while one probe process queries `stall` and one `bench`, back-to-back:",
        "",
        "| probe | phase | seconds | answers | p50 ms | p99 ms | longest gap ms |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    st = s["stall"]
    lines += [f"| `{probe}` | {phase} | {w['seconds']:.1f} | {w['answers']} | {w['p50_ms']:.2f} "
              f"| {w['p99_ms']:.2f} | {w['max_gap_ms']:.0f} |"
              for probe, phases in st["probes"].items() for phase, w in phases.items()]  # fmt: skip
    lines.append(
        f"\n`stall` uploaded at {st['ingest']['points_per_s']:,.0f} pts/s under probe load; "
        + index_note("stall", st["index"])
        + f" Probe errors: {st['errors']}."
    )
    return "\n".join(lines)


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    for opt, default in OPTIONS.items():
        ap.add_argument(f"--{opt}", type=type(default), default=default)
    ap.add_argument("--json", type=Path, default=None, help="write the raw numbers here")
    args = ap.parse_args()

    n, nq = args.points, args.queries
    x = embedding_like(2 * n + nq, args.dim, seed=args.seed)
    data, stall_data, queries = x[:n], x[n : 2 * n], x[2 * n :]
    truth = exact_top_k(data, queries, K)
    res: dict = dict(points=n, dim=args.dim, machine=machine_info())
    print("crewchief serve ...", flush=True)
    res["serve"] = serve_bench(data, queries, truth, stall_data, args)
    print(f"QdrantClient(':memory:') ({args.local_queries} queries) ...", flush=True)
    warnings.filterwarnings("ignore", message="Local mode is not recommended")  # we know
    local, nl = QdrantClient(":memory:"), args.local_queries
    res["local"] = {"ingest": upload(local, "local", data, args.batch)}
    res["local"]["single"] = sequential(local, "local", queries[:nl], truth[:nl])
    res["machine"]["load_at_end"] = os.getloadavg()
    print("\n" + report(res))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, default=str) + "\n")
        print(f"\nraw numbers: {args.json}")


if __name__ == "__main__":
    main()
