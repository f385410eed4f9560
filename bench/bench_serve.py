"""`crewchief serve` vs qdrant-client local mode, both through qdrant-client (issue 3).

Usage: python bench/bench_serve.py [--points 100000] [--dim 384] [--json PATH] (see --help)

Same points uploaded (`upload_points`) into the real `crewchief serve` (subprocess, loopback
port from the OS) and `QdrantClient(":memory:")`.  Queries start once the served collection
is green AND fully indexed (else: recorded, a build requested): single sequential queries
(k=10) like an app, alternating with local mode's (~5/s at 100k, so only `--local-queries`)
in 4 rounds; then N client processes.  Stall: a second collection is uploaded and
auto-indexed while probe processes query it and the first one back-to-back.
"""

from __future__ import annotations

import multiprocessing as mp
import os
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
import benchlib  # noqa: E402  (this folder, on sys.path when run as a script)
from serverproc import start_server  # noqa: E402  (the tests' real-server launcher)

K = 10
TARGET_RATIO = 20.0
OPTIONS = dict(points=100_000, dim=384, queries=500, processes=4, batch=256, seed=0)
OPTIONS |= {"local-queries": 20, "mp-seconds": 20.0}


def search(client: QdrantClient, name: str, q: np.ndarray) -> list[int]:
    return [int(p.id) for p in client.query_points(name, q.tolist(), limit=K).points]


def interleaved(pairs: list, queries: np.ndarray, truth: np.ndarray, rounds: int = 4) -> list:
    """Sequential single queries on each (client, name, count), alternating in `rounds`, so
    that a change in machine load cannot skew their ratio."""
    lat, rec = [[] for _ in pairs], [[] for _ in pairs]
    for client, name, _ in pairs:  # warm-up: connection, first requests
        _ = [search(client, name, q) for q in queries[:5]]
    for r in range(rounds):
        for i, (client, name, n) in enumerate(pairs):
            part = slice(r * n // rounds, (r + 1) * n // rounds)
            for q, t in zip(queries[part], truth[part], strict=True):
                t0 = time.perf_counter()
                found = search(client, name, q)
                lat[i].append(time.perf_counter() - t0)
                rec[i].append(len(set(found) & set(t.tolist())) / K)
    return [
        {
            "queries": len(x),
            "qps": len(x) / sum(x),
            **benchlib.pct(x),
            "recall_at_10": float(np.mean(r)),
        }
        for x, r in zip(lat, rec, strict=True)
    ]


def worker(url: str, name: str, queries: np.ndarray, ready, stop, out) -> None:
    """A client process: connect, warm up, wait for the others, query until `stop` is set."""
    client = QdrantClient(url=url, timeout=120)
    search(client, name, queries[0])
    times, errors = [], []  # (sent, answered) per query
    ready.wait()
    while not stop.is_set():
        t0 = time.time()
        try:
            search(client, name, queries[len(times) % len(queries)])
        except Exception as exc:  # counted and reported, never fatal
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
        times.append((t0, time.time()))
    out.put({"name": name, "times": times, "errors": errors})


def run_workers(url: str, names: list[str], queries: np.ndarray, during) -> tuple[list, dict]:
    """One client process per name, all querying while `during()` runs here."""
    ctx = mp.get_context("spawn")
    ready, stop, out = ctx.Barrier(len(names) + 1), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(url, n, queries, ready, stop, out)) for n in names]
    for p in procs:
        p.start()
    ready.wait(timeout=300)
    result = during()
    stop.set()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    return results, result


def window(times: list, a: float, b: float) -> dict:
    """Answers in [a, b], their latency, and the longest gap between answers overlapping it."""
    t = np.array(sorted(times, key=lambda x: x[1])).reshape(-1, 2)
    ends, inside = t[:, 1], (t[:, 1] >= a) & (t[:, 1] <= b)
    gaps = [e1 - e0 for e0, e1 in zip(ends[:-1], ends[1:], strict=True) if e1 >= a and e0 <= b]
    lat = list(ends[inside] - t[inside, 0])
    n, gap = int(inside.sum()), max(gaps, default=b - a)
    return {"seconds": b - a, "queries": n, **benchlib.pct(lat), "max_gap_ms": 1000 * gap}


def multi_process(url: str, name: str, queries: np.ndarray, n: int, seconds: float) -> dict:
    res, _ = run_workers(url, [name] * n, queries, lambda: time.sleep(seconds))
    a = max(r["times"][0][1] for r in res)  # count only while every process is querying
    b = min(r["times"][-1][1] for r in res)
    w = window([x for r in res for x in r["times"]], a, b) | {"processes": n}
    return w | {"qps": w["queries"] / (b - a), "errors": sum(len(r["errors"]) for r in res)}


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
        time.sleep(0.5)
    g, left, seconds = out["green_unindexed"], out.get("left_unindexed"), time.perf_counter() - t0
    text = f"`{name}` was green with {idx:,} of {pts:,} vectors indexed "
    text += f"({now['segments']} segments) {seconds:.1f} s after its upload ended"
    if g:
        text += f"; green with only {g['indexed']:,} indexed at {g['after_s']:.0f} s: build asked"
    if left:
        text += f"; even then {left['points'] - left['indexed']:,} vectors stayed UNINDEXED"
    kb = info.config.optimizer_config.indexing_threshold
    return out | now | {"seconds": seconds, "note": text + f" (indexing_threshold {kb} KB)."}


def serve_bench(data, queries, truth, stall_data, local: QdrantClient, args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="crewchief-bench-serve-"))
    server = start_server(tmp / "data")
    out: dict = {"url": server.url}
    try:
        client = QdrantClient(url=server.url, timeout=300)
        print("  upload_points, then wait until indexed ...", flush=True)
        out["ingest"] = upload(client, "bench", data, args.batch)
        out["index_wait"] = wait_indexed(client, server.url, "bench")
        out["load_queries"] = os.getloadavg()
        print("  queries (1 client vs local mode, N processes), then the stall test", flush=True)
        pairs = [(client, "bench", args.queries), (local, "local", args.local_queries)]
        out["single"], out["local"] = interleaved(pairs, queries, truth)
        out["multi"] = multi_process(server.url, "bench", queries, args.processes, args.mp_seconds)
        out["stall"] = stall(client, server.url, stall_data, queries, args)
        out["load_stall"] = os.getloadavg()
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def stall(client: QdrantClient, url: str, data: np.ndarray, queries, args) -> dict:
    upload(client, "stall", data[:1], args.batch)  # exists, with one point, for the probe

    def during() -> dict:
        t = {"start": time.time()}
        time.sleep(3)  # baseline before the upload
        t["upload"], out = time.time(), {"ingest": upload(client, "stall", data, args.batch, False)}
        t["index"], out["index"] = time.time(), wait_indexed(client, url, "stall")
        t["end"] = time.time()
        time.sleep(1)  # answers after the end, so a gap spanning it is seen
        return out | {"t": t}

    res, out = run_workers(url, ["stall", "bench"], queries, during)
    t = out.pop("t")
    phases = {"before": (t["start"], t["upload"]), "upload": (t["upload"], t["index"])}
    phases["indexing"] = (t["index"], t["end"])
    probes = {r["name"]: {k: window(r["times"], a, b) for k, (a, b) in phases.items()} for r in res}
    errors = {r["name"]: r["errors"][:3] + [f"total {len(r['errors'])}"] for r in res}
    return out | {"probes": probes, "errors": errors}


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
        f"avg (1 min) at start {m['load_at_start'][0]:.1f}, before queries "
        f"{s['load_queries'][0]:.1f}, after the stall test {s['load_stall'][0]:.1f}, at end "
        f"{m['load_at_end'][0]:.1f}",
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
        "Index before the queries: " + s["index_wait"]["note"],
        f"Local mode answered {lone['queries']} queries, alternating with serve's in 4 rounds.",
        "",
        f"Stall: a second {res['points']:,}-point collection `stall` is uploaded (auto-indexing "
        "on) while one probe process queries `stall` and one `bench`, back-to-back:",
        "",
        "| probe | phase | seconds | answers | p50 ms | p99 ms | longest gap ms |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    st = s["stall"]
    lines += [f"| `{probe}` | {phase} | {w['seconds']:.1f} | {w['queries']} | {w['p50_ms']:.2f} "
              f"| {w['p99_ms']:.2f} | {w['max_gap_ms']:.0f} |"
              for probe, phases in st["probes"].items() for phase, w in phases.items()]  # fmt: skip
    lines.append(
        f"\n`stall` uploaded at {st['ingest']['points_per_s']:,.0f} pts/s under probe load; "
        + st["index"]["note"]
        + f" Probe errors: {st['errors']}."
    )
    return "\n".join(lines)


def main() -> None:
    args = benchlib.options(__doc__, OPTIONS)

    n, nq = args.points, args.queries
    x = embedding_like(2 * n + nq, args.dim, seed=args.seed)
    data, stall_data, queries = x[:n], x[n : 2 * n], x[2 * n :]
    truth = exact_top_k(data, queries, K)
    res: dict = dict(points=n, dim=args.dim, machine=benchlib.machine_info("uvicorn", "starlette"))
    print("QdrantClient(':memory:') ingest ...", flush=True)
    warnings.filterwarnings("ignore", message="Local mode is not recommended")  # we know
    local = QdrantClient(":memory:")
    res["local"] = {"ingest": upload(local, "local", data, args.batch)}
    print("crewchief serve ...", flush=True)
    res["serve"] = serve_bench(data, queries, truth, stall_data, local, args)
    res["local"]["single"] = res["serve"].pop("local")
    benchlib.finish(res, report, args.json)


if __name__ == "__main__":
    main()
