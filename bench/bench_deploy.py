"""Blue-green deploy throughput and alias switches under load (issue 4).

    python bench/bench_deploy.py [--points 100000] [--dim 384] [--json PATH] [--batch 256]
        [--switches 50] [--processes 4] [--seed 0]

On each target (an embedded data directory; `crewchief serve` reached through qdrant-client):
- raw ingest, the reference: upsert the points (vector + payload) in batches of `--batch`
  into a fresh `movies_v1`, ask for the index and wait until green, as deploy does;
- deploy: `plan_deploy` + `execute` (crewchief.ops.deploy) of alias `movies` from
  `movies_v1` to a new `movies_v2`: copy, index, wait until green, gates, switch.
Then, against `crewchief serve`, N client processes query through the alias back-to-back
while this process switches it between v1 and v2 `--switches` times with `execute_switch`.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient, models

from crewchief.core.aliases import create_op
from crewchief.datasets import embedding_like, movie_payload
from crewchief.ops.aliases import execute_switch, plan_switch
from crewchief.ops.deploy import execute, plan_deploy
from crewchief.target import EmbeddedTarget, ServeTarget, Target

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "server"))
import benchlib  # noqa: E402  (this folder, on sys.path when run as a script)
from serverproc import start_server  # noqa: E402  (the tests' real-server launcher)

K = 10
OPTIONS = dict(points=100_000, dim=384, batch=256, switches=50, processes=4, seed=0)


def wait_green(target: Target, name: str, timeout: float = 3600) -> dict:
    """Poll until green, as deploy's own wait does; report what green means here."""
    t0 = time.monotonic()
    while (info := target.client.get_collection(name)).status != models.CollectionStatus.GREEN:
        if info.status == models.CollectionStatus.RED or time.monotonic() - t0 > timeout:
            raise RuntimeError(f"`{name}` is {info.status.value}: {info.optimizer_status}")
        time.sleep(0.2)
    return {"points": info.points_count, "indexed": info.indexed_vectors_count}


def raw_ingest(target: Target, name: str, data: np.ndarray, batch: int) -> dict:
    params = models.VectorParams(size=data.shape[1], distance=models.Distance.COSINE)
    target.client.create_collection(name, vectors_config=params)
    t0 = time.monotonic()
    for lo in range(0, len(data), batch):
        points = [
            models.PointStruct(id=i, vector=data[i].tolist(), payload=movie_payload(i))
            for i in range(lo, min(lo + batch, len(data)))
        ]
        target.client.upsert(name, points)
    t1 = time.monotonic()
    target.optimize(name)  # embedded: waits for the build; served: starts it
    after = wait_green(target, name)
    t2 = time.monotonic()
    load = os.getloadavg()[0]
    return {"upsert_s": t1 - t0, "index_s": t2 - t1, "seconds": t2 - t0, "load": load} | after


def deploy(target: Target, batch: int) -> dict:
    target.update_aliases([create_op("movies", "movies_v1")])
    plan = plan_deploy(target, "movies", "movies_v2")
    t0 = time.monotonic()
    result = execute(target, plan, batch_size=batch)
    seconds = time.monotonic() - t0
    assert target.aliases()["movies"] == "movies_v2", target.aliases()
    gates = {g.name: g.passed for g in result.gates}
    out = {"seconds": seconds, "steps": result.seconds, "copied": result.copied, "gates": gates}
    return out | {"load": os.getloadavg()[0]}


def bench_target(target: Target, data: np.ndarray, batch: int) -> dict:
    n = len(data)
    print(f"  raw ingest into movies_v1 ({target.kind}) ...", flush=True)
    raw = raw_ingest(target, "movies_v1", data, batch)
    print(f"  deploy movies_v1 -> movies_v2 ({target.kind}) ...", flush=True)
    dep = deploy(target, batch)
    info = target.client.get_collection("movies_v2")
    dep |= {"points": info.points_count, "indexed": info.indexed_vectors_count}
    raw["points_per_s"], dep["points_per_s"] = n / raw["seconds"], n / dep["seconds"]
    return {"raw": raw, "deploy": dep, "ratio": dep["points_per_s"] / raw["points_per_s"]}


def worker(url: str, queries: np.ndarray, start_at: float, stop, out) -> None:
    """A client process: query through the alias back-to-back until `stop` is set."""
    client = QdrantClient(url=url, timeout=60)
    lat, errors = [], []
    time.sleep(max(0.0, start_at - time.time()))
    while not stop.is_set():
        t0 = time.time()
        try:
            hits = client.query_points("movies", queries[len(lat) % len(queries)].tolist(), limit=K)
            if len(hits.points) != K:
                errors.append(f"{len(hits.points)} hits instead of {K}")
        except Exception as exc:  # counted and reported, never fatal
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
        lat.append(time.time() - t0)
    out.put({"lat": lat, "errors": errors})


def switches(target: Target, count: int) -> dict:
    """Switch `movies` between v1 and v2 `count` times: plan, then execute (timed apart)."""
    plan_s, exec_s = [], []
    for _ in range(count):
        dest = "movies_v1" if target.aliases()["movies"] == "movies_v2" else "movies_v2"
        t0 = time.perf_counter()
        plan = plan_switch(target, "movies", dest)
        t1 = time.perf_counter()
        execute_switch(target, plan)
        exec_s.append(time.perf_counter() - t1)
        plan_s.append(t1 - t0)
        time.sleep(0.05)
    return {"switches": count, "execute": benchlib.pct(exec_s), "plan": benchlib.pct(plan_s)}


def switches_under_load(target: Target, url: str, queries, args) -> dict:
    ctx = mp.get_context("spawn")
    stop, out = ctx.Event(), ctx.Queue()
    start_at = time.time() + 5  # after every process has imported and connected
    procs = [ctx.Process(target=worker, args=(url, queries, start_at, stop, out))
             for _ in range(args.processes)]  # fmt: skip
    for p in procs:
        p.start()
    time.sleep(max(0.0, start_at - time.time()) + 2)  # clients running before the first switch
    history_before = len(target.alias_history("movies"))
    t0 = time.time()
    sw = switches(target, args.switches)
    wall = time.time() - t0
    time.sleep(1)
    stop.set()
    res = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    lat = [x for r in res for x in r["lat"]]
    errors = [e for r in res for e in r["errors"]]
    sw["history_entries_added"] = len(target.alias_history("movies")) - history_before
    clients = {"processes": args.processes, "queries": len(lat), **benchlib.pct(lat)}
    clients |= {"errors": len(errors), "error_samples": errors[:5]}
    return sw | {"wall_s": wall, "clients": clients}


def report(res: dict) -> str:
    m, v = res["machine"], res["machine"]["versions"]
    lines = [
        f"# {res['points']:,} x {res['dim']} embedding-like vectors + movie payloads, batches "
        f"of {res['batch']}; deploy = crewchief.ops.deploy.execute (copy, index, gates, switch)",
        f"# {m['date']} | {m['cpu']} | {m['cores']} cores | {m['ram_gb']} GB RAM | Python "
        f"{m['python']} | qdrant-edge-py {v['qdrant-edge-py']} | qdrant-client "
        f"{v['qdrant-client']} | load avg at start {m['load_at_start'][0]:.2f}, at end "
        f"{m['load_at_end'][0]:.2f}",
        "",
        "| target | run | copy/upsert s | index s | total s | pts/s | indexed / points | ratio "
        "| load at end |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in ("embedded", "served"):
        r = res[kind]
        raw, dep = r["raw"], r["deploy"]
        steps = dep["steps"]
        lines += [
            f"| {kind} | raw ingest (reference) | {raw['upsert_s']:.1f} | {raw['index_s']:.1f} "
            f"| {raw['seconds']:.1f} | {raw['points_per_s']:,.0f} | "
            f"{raw['indexed']:,} / {raw['points']:,} | 1.00 | {raw['load']:.1f} |",
            f"| {kind} | deploy v1 -> v2 | {steps['copy']:.1f} | {steps['index']:.1f} | "
            f"{dep['seconds']:.1f} | {dep['points_per_s']:,.0f} | "
            f"{dep['indexed']:,} / {dep['points']:,} | {r['ratio']:.2f} | {dep['load']:.1f} |",
        ]
    lines += [
        "",
        "deploy steps (s): "
        + "; ".join(f"{k}: {res[k]['deploy']['steps']}" for k in ("embedded", "served"))
        + ". Gates: "
        + "; ".join(f"{k}: {res[k]['deploy']['gates']}" for k in ("embedded", "served")),
        "",
        "| alias switches | switches | execute_switch p50 ms | p99 ms | plan_switch p50 ms "
        "| p99 ms | client queries | client p50 ms | client p99 ms | client errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, s in (("embedded, no load", res["switch_embedded"]),
                     (f"crewchief serve, {res['switch_served']['clients']['processes']} client "
                      "processes querying the alias", res["switch_served"])):  # fmt: skip
        c = s.get("clients")
        load = (f"{c['queries']} | {c['p50_ms']:.1f} | {c['p99_ms']:.1f} | {c['errors']}"
                if c else "- | - | - | -")  # fmt: skip
        lines.append(
            f"| {label} | {s['switches']} | {s['execute']['p50_ms']:.1f} | "
            f"{s['execute']['p99_ms']:.1f} | {s['plan']['p50_ms']:.1f} | "
            f"{s['plan']['p99_ms']:.1f} | {load} |"
        )
    ss = res["switch_served"]
    lines.append(
        f"\nServed: {ss['history_entries_added']} alias history entries added for "
        f"{ss['switches']} switches; error samples: {ss['clients']['error_samples'] or 'none'}."
    )
    return "\n".join(lines)


def main() -> None:
    args = benchlib.options(__doc__, OPTIONS)

    x = embedding_like(args.points + 200, args.dim, seed=args.seed)
    data, queries = x[: args.points], x[args.points :]
    res: dict = dict(
        points=args.points, dim=args.dim, batch=args.batch, machine=benchlib.machine_info("uvicorn")
    )
    tmp = Path(tempfile.mkdtemp(prefix="crewchief-bench-deploy-"))
    try:
        print("embedded target ...", flush=True)
        with EmbeddedTarget(tmp / "embedded") as target:
            res["embedded"] = bench_target(target, data, args.batch)
            res["switch_embedded"] = switches(target, args.switches)
        print("crewchief serve target ...", flush=True)
        server = start_server(tmp / "served")
        try:
            with ServeTarget(server.url) as target:
                res["served"] = bench_target(target, data, args.batch)
                print(f"  {args.switches} alias switches under load ...", flush=True)
                res["switch_served"] = switches_under_load(target, server.url, queries, args)
        finally:
            server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    benchlib.finish(res, report, args.json)


if __name__ == "__main__":
    main()
