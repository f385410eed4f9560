"""Scale run: 1,000,000 x 384 embedded, memory vs recall vs latency (issue 16, item 6).

    python bench/bench_scale.py [--points 1000000] [--dim 384] [--queries 300] [--json PATH]
        [--configs memory,raw_ingest,sq8,on_disk,raw_optimize]

The parent draws `points + queries` embedding-like unit vectors once
(`crewchief.datasets.embedding_like`), computes the exact top-10 by cosine with numpy (in
query chunks), saves both as .npy in a temporary folder and then runs each configuration in
its own child process (`--child NAME`), one after the other, so that each one's peak RSS is
its own.  A child reads the data with `np.load(mmap_mode="r")` and copies one batch at a
time out of the map, then drops the map's pages (so the .npy file's page cache is not
counted as the child's memory).  Every point gets a small payload (`movie_payload`).

  memory        Engine, vectors in RAM (the default)
  on_disk       Engine, `VectorParams(on_disk=True)`: vectors in mmapped files
  sq8           Engine, scalar int8 quantization (`always_ram=True`), originals on disk
  raw_ingest    raw qdrant-edge-py: the same points into an `EdgeShard` (batches of
                `edge.Point` from lists, its fastest form), flushed and kept for:
  raw_optimize  raw `EdgeShard.optimize()` of that shard in-process, then raw queries on it

An engine child: `Engine(auto_optimize=False)`, `upload_collection(ndarray, payload, ids)`
per batch, time to green = `optimize(wait=True)` (the build runs in the engine's builder
child; its peak RSS is RUSAGE_CHILDREN, see `peak`), then `--queries` single queries (k=10, payload)
with p50/p99, QPS, recall@10 and RSS sampled from /proc/self/status.  `memory` then also
sends raw Edge requests to its own built shard, alternating with the engine, both warm
(after its own RSS is recorded), so the query ratio holds even without `raw_optimize`.
"""

from __future__ import annotations

import json
import mmap
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import benchlib
import numpy as np
import qdrant_edge as edge
from qdrant_client import models

from crewchief import Engine
from crewchief.datasets import embedding_like, exact_top_k, movie_payload
from crewchief.engine.config import edge_config

OPTIONS = dict(points=1_000_000, dim=384, queries=300, batch=1000, seed=0, rounds=6)
OPTIONS |= dict(configs="memory,raw_ingest,sq8,on_disk,raw_optimize", child="", workdir="")
K = 10
TRUTH_CHUNK = 25  # queries per exact-search chunk: 25 x 1M float32 scores = 100 MB
ENGINE_CONFIGS = ("memory", "on_disk", "sq8")


def load() -> float:
    return round(os.getloadavg()[0], 2)


def mem_now() -> dict[str, float]:
    """VmRSS, RssAnon (heap), RssFile (mapped files) and VmHWM of this process, in MiB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            out[key] = int(rest.split()[0]) / 1024
    return out


def peak_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: KiB


def peak(run: dict) -> float:
    """A child's own peak RSS in MiB: the largest VmHWM (or VmRSS) it sampled.

    Not `ru_maxrss`: Python starts a child with vfork + exec, and Linux carries the old
    address space's high-water mark (the parent's, which drew the data) into the child's
    `ru_maxrss`; VmHWM belongs to the new address space.  For the same reason the builder's
    RUSAGE_CHILDREN figure is max(its own peak, the engine child's VmHWM when it started)."""
    seen = [run.get("vm_hwm_mib") or 0.0]
    for part in ("ingest", "build"):
        seen.append(run.get(part, {}).get("mem_after", {}).get("VmHWM", 0.0))
    seen.append(run.get("query", {}).get("rss_max_mib", {}).get("VmRSS", 0.0))
    return max(seen)


def collection_kwargs(name: str, dim: int) -> dict[str, Any]:
    cos = models.Distance.COSINE
    if name == "memory":
        return {"vectors_config": models.VectorParams(size=dim, distance=cos)}
    if name == "on_disk":
        return {"vectors_config": models.VectorParams(size=dim, distance=cos, on_disk=True)}
    scalar = models.ScalarQuantizationConfig(type=models.ScalarType.INT8, always_ram=True)
    return {
        "vectors_config": models.VectorParams(size=dim, distance=cos, on_disk=True),
        "quantization_config": models.ScalarQuantization(scalar=scalar),
    }


class Batches:
    """The data file's rows a batch at a time, copied out of a read-only map whose pages are
    dropped after each copy (MADV_DONTNEED), so they do not add to this process's RSS."""

    def __init__(self, path: Path, batch: int) -> None:
        self.arr = np.load(path, mmap_mode="r")
        self.batch = batch

    def __iter__(self):
        mm = self.arr._mmap  # numpy's memmap keeps the mmap.mmap it reads from
        row = self.arr.shape[1] * self.arr.itemsize
        for lo in range(0, len(self.arr), self.batch):
            chunk = np.array(self.arr[lo : lo + self.batch])
            begin = self.arr.offset + lo * row  # the map starts at file offset 0
            start = begin - begin % mmap.PAGESIZE
            mm.madvise(mmap.MADV_DONTNEED, start, begin + len(chunk) * row - start)
            yield lo, chunk, [movie_payload(i) for i in range(lo, lo + len(chunk))]


def raw_upsert(shard: edge.EdgeShard, lo: int, chunk: np.ndarray, pays: list) -> None:
    ids = range(lo, lo + len(chunk))
    shard.update(
        edge.UpdateOperation.upsert_points(list(map(edge.Point, ids, chunk.tolist(), pays)))
    )


def raw_query(shard: edge.EdgeShard, q: np.ndarray) -> list[int]:
    req = edge.QueryRequest(
        limit=K, query=edge.Query.Nearest(q.tolist()), with_payload=True, with_vector=False
    )
    return [int(p.id) for p in shard.query(req)]


def timed_queries(search, queries: np.ndarray, truth: np.ndarray) -> dict:
    """Single queries one after the other (10 warm-up first); RSS sampled every 10."""
    for q in queries[:10]:
        search(q)
    lat, found, samples = [], [], []
    start = time.perf_counter()
    for i, q in enumerate(queries):
        t0 = time.perf_counter()
        found.append(search(q))
        lat.append(time.perf_counter() - t0)
        if i % 10 == 0:
            samples.append(mem_now())
    qps = len(queries) / (time.perf_counter() - start)
    hits = [len(set(f) & set(t.tolist())) / K for f, t in zip(found, truth, strict=True)]
    rss = {k: max(s[k] for s in samples) for k in ("VmRSS", "RssAnon", "RssFile")}
    return {"queries": len(queries), "qps": qps, **benchlib.pct(lat),
            "recall_at_10": float(np.mean(hits)), "rss_max_mib": rss}  # fmt: skip


def engine_child(name: str, wd: Path, args) -> dict:
    queries, truth = np.load(wd / "queries.npy"), np.load(wd / "truth.npy")
    folder = wd / f"engine-{name}"
    engine = Engine(folder, auto_optimize=False)
    out: dict = {"config": name}
    try:
        engine.create_collection("idx", **collection_kwargs(name, args.dim))
        print(f"[{name}] ingest ...", flush=True)
        start, spent = load(), 0.0
        for lo, chunk, pays in Batches(wd / "data.npy", args.batch):
            ids = list(range(lo, lo + len(chunk)))
            t0 = time.perf_counter()
            engine.upload_collection("idx", chunk, payload=pays, ids=ids, batch_size=args.batch)
            spent += time.perf_counter() - t0
        out["ingest"] = {"seconds": spent, "points_per_s": args.points / spent}
        out["ingest"] |= {"load": [start, load()], "mem_after": mem_now()}
        print(f"[{name}] ingest {spent:.1f} s; build (optimize(wait=True)) ...", flush=True)
        start, t0 = load(), time.perf_counter()
        ok = engine.optimize("idx", wait=True)
        green = time.perf_counter() - t0
        info, rec = engine.get_collection("idx"), engine.collection("idx").last_build
        out["build"] = {
            "ok": ok, "time_to_green_s": green, "status": str(info.status.value),
            "points": info.points_count, "indexed": info.indexed_vectors_count,
            "segments": info.segments_count, "error": rec.error if rec else None,
            "builder_peak_rss_mib": peak_mib(resource.RUSAGE_CHILDREN),
            "load": [start, load()], "mem_after": mem_now(),
        }  # fmt: skip
        print(f"[{name}] green after {green:.1f} s ({info.status.value}); queries ...", flush=True)
        start = load()

        def search(q: np.ndarray, sp: Any = None) -> list[int]:
            res = engine.query_points("idx", q, limit=K, with_payload=True, search_params=sp)
            return [int(p.id) for p in res.points]

        out["query"] = timed_queries(search, queries, truth) | {"load": [start, load()]}
        if name == "sq8":  # the same queries without rescoring on the original vectors
            sp = models.SearchParams(quantization=models.QuantizationSearchParams(rescore=False))
            out["query_no_rescore"] = timed_queries(lambda q: search(q, sp), queries, truth)
        out["ru_maxrss_mib"] = peak_mib(resource.RUSAGE_SELF)
        out["vm_hwm_mib"] = mem_now()["VmHWM"]
        out["disk_mib"] = du_mib(folder)
        if name == "memory":
            out["raw_on_built"] = raw_on_built(engine, search, queries, args.rounds)
    finally:
        engine.close()
        shutil.rmtree(folder, ignore_errors=True)
    return out


def raw_on_built(engine: Engine, search, queries: np.ndarray, rounds: int) -> dict:
    """Raw Edge requests on the engine's own built shard (what `Collection.read` adds is the
    collection's lock), alternating with the engine's queries, both warm: only the
    wrapper differs."""
    print("[memory] raw Edge requests on the built shard, alternating ...", flush=True)
    col = engine.collection("idx")
    start = load()
    res = benchlib.alternate(
        {"raw": lambda q: col.read(lambda s: raw_query(s, q)), "engine": search},
        queries,
        rounds,
        warmup=len(queries),
    )
    return res | {"load": [start, load()]}


def raw_ingest_child(wd: Path, args) -> dict:
    """The same points into a raw EdgeShard with the `memory` collection's config."""
    probe = Engine(wd / "probe", auto_optimize=False)
    probe.create_collection("idx", **collection_kwargs("memory", args.dim))
    config = edge_config(probe.collection("idx").config)
    probe.close()
    shutil.rmtree(wd / "probe", ignore_errors=True)
    shard = edge.EdgeShard.create(str(wd / "raw"), config)
    print("[raw_ingest] ingest ...", flush=True)
    start, spent = load(), 0.0
    for lo, chunk, pays in Batches(wd / "data.npy", args.batch):
        t0 = time.perf_counter()
        raw_upsert(shard, lo, chunk, pays)
        spent += time.perf_counter() - t0
    out: dict = {"config": "raw_ingest"}
    out["ingest"] = {"seconds": spent, "points_per_s": args.points / spent}
    out["ingest"] |= {"load": [start, load()], "mem_after": mem_now()}
    t0 = time.perf_counter()
    shard.flush()
    shard.close()
    out["flush_s"] = time.perf_counter() - t0
    out["ru_maxrss_mib"] = peak_mib(resource.RUSAGE_SELF)
    out["vm_hwm_mib"] = mem_now()["VmHWM"]
    return out


def raw_optimize_child(wd: Path, args) -> dict:
    """Raw `optimize()` of the raw_ingest shard in this process, reopened, then queried."""
    queries, truth = np.load(wd / "queries.npy"), np.load(wd / "truth.npy")
    out: dict = {"config": "raw_optimize"}
    shard = edge.EdgeShard.load(str(wd / "raw"))
    print("[raw_optimize] optimize() ...", flush=True)
    start, t0 = load(), time.perf_counter()
    shard.optimize()
    shard.flush()
    out["optimize"] = {"seconds": time.perf_counter() - t0, "load": [start, load()]}
    shard.close()
    shard = edge.EdgeShard.load(str(wd / "raw"))
    info = shard.info()
    out["optimize"] |= {"segments": info.segments_count, "indexed": info.indexed_vectors_count}
    start = load()
    out["query"] = timed_queries(lambda q: raw_query(shard, q), queries, truth)
    out["query"]["load"] = [start, load()]
    out["ru_maxrss_mib"] = peak_mib(resource.RUSAGE_SELF)
    out["vm_hwm_mib"] = mem_now()["VmHWM"]
    out["disk_mib"] = du_mib(wd / "raw")
    shard.close()
    return out


def du_mib(path: Path) -> float:
    """Disk blocks in use under `path` (sparse files count what they hold)."""
    used = sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file())
    return used / 2**20


def child(args) -> None:
    wd, name = Path(args.workdir), args.child
    if name in ENGINE_CONFIGS:
        res = engine_child(name, wd, args)
    elif name == "raw_ingest":
        res = raw_ingest_child(wd, args)
    elif name == "raw_optimize":
        res = raw_optimize_child(wd, args)
    else:
        raise SystemExit(f"unknown configuration {name!r}")
    (wd / f"{name}.json").write_text(json.dumps(res, indent=2, default=str) + "\n")


def make_data(wd: Path, args) -> dict:
    print(f"data: {args.points:,} + {args.queries} x {args.dim} embedding-like ...", flush=True)
    t0 = time.perf_counter()
    x = embedding_like(args.points + args.queries, args.dim, seed=args.seed)
    np.save(wd / "data.npy", x[: args.points])
    queries = np.ascontiguousarray(x[args.points :])
    np.save(wd / "queries.npy", queries)
    del x
    data = np.load(wd / "data.npy", mmap_mode="r")
    truth = np.concatenate(
        [exact_top_k(data, queries[i : i + TRUTH_CHUNK], K)
         for i in range(0, len(queries), TRUTH_CHUNK)]
    )  # fmt: skip
    np.save(wd / "truth.npy", truth)
    return {"seconds": time.perf_counter() - t0}


def fmt_load(avg: Any) -> str:
    return " / ".join(f"{x:.2f}" for x in avg) if avg else "-"


def gib(mib: float) -> str:
    return f"{mib / 1024:.2f}"


def report(res: dict) -> str:
    m, r = res["machine"], res["runs"]
    v = m["versions"]
    lines = [
        f"# {res['points']:,} x {res['dim']} embedding-like, payloads, {res['queries']} "
        f"single queries k=10 with payload | {m['date']} | {m['cpu']} | {m['cores']} cores | "
        f"{m['ram_gb']} GB RAM | Python {m['python']} | qdrant-edge-py {v['qdrant-edge-py']}",
        f"# load (1/5/15 min) at start {fmt_load(m['load_at_start'])}, "
        f"at end {fmt_load(m.get('load_at_end'))}",
        "",
        "| configuration | ingest pts/s | time to green s | p50 ms | p99 ms | QPS | recall@10 "
        "| peak RSS GiB | RSS in queries GiB (anon + file) | builder peak GiB | disk GiB "
        "| load (1 min): ingest; build; queries |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    ld = lambda x: "→".join(str(a) for a in x["load"])  # noqa: E731
    labels = {"memory": "(a) engine, vectors in RAM", "on_disk": "(b) engine, on_disk vectors",
              "sq8": "(c) engine, int8 SQ always_ram, originals on disk"}  # fmt: skip
    for name in ("memory", "sq8", "on_disk"):
        if name not in r:
            continue
        e, q = r[name], r[name]["query"]
        rss = q["rss_max_mib"]
        lines.append(
            f"| {labels[name]} | {e['ingest']['points_per_s']:,.0f} | "
            f"{e['build']['time_to_green_s']:.0f} | {q['p50_ms']:.2f} | {q['p99_ms']:.2f} | "
            f"{q['qps']:,.0f} | {q['recall_at_10']:.3f} | {gib(peak(e))} | "
            f"{gib(rss['VmRSS'])} ({gib(rss['RssAnon'])} + {gib(rss['RssFile'])}) | "
            f"{gib(e['build']['builder_peak_rss_mib'])} | {gib(e['disk_mib'])} | "
            f"{ld(e['ingest'])}; {ld(e['build'])}; {ld(q)} |"
        )
        if "query_no_rescore" in e:
            nr = e["query_no_rescore"]
            lines.append(
                f"| (c) the same, queried with rescore=false | | | {nr['p50_ms']:.2f} | "
                f"{nr['p99_ms']:.2f} | {nr['qps']:,.0f} | {nr['recall_at_10']:.3f} | | | | | |"
            )
    if "raw_ingest" in r or "raw_optimize" in r:
        ri, ro = r.get("raw_ingest"), r.get("raw_optimize")
        q = ro["query"] if ro else None
        lines.append(
            f"| raw qdrant-edge-py, vectors in RAM | "
            f"{ri['ingest']['points_per_s'] if ri else 0:,.0f} | "
            + (f"{ro['optimize']['seconds']:.0f} | " if ro else "- | ")
            + (f"{q['p50_ms']:.2f} | {q['p99_ms']:.2f} | {q['qps']:,.0f} | "
               f"{q['recall_at_10']:.3f} | {gib(peak(ro))} | "
               f"{gib(q['rss_max_mib']['VmRSS'])} ({gib(q['rss_max_mib']['RssAnon'])} + "
               f"{gib(q['rss_max_mib']['RssFile'])}) | - | {gib(ro['disk_mib'])} | "
               if q else "- | - | - | - | - | - | - | - | ")
            + f"{ld(ri['ingest']) if ri else '-'}; {ld(ro['optimize']) if ro else '-'}; "
            f"{ld(q) if q else '-'} |"
        )  # fmt: skip
    lines += ["", "| ratio (crewchief / raw qdrant-edge-py, same run) | value | load (1 min) |"]
    lines.append("|---|---:|---|")
    for label, value, where in res.get("ratios", {}).values():
        lines.append(f"| {label} | {value:.2f} | {where} |")
    return "\n".join(lines)


def ratios(r: dict) -> dict:
    out: dict = {}
    a, ri, ro = r.get("memory"), r.get("raw_ingest"), r.get("raw_optimize")
    ld = lambda x: "→".join(str(v) for v in x["load"])  # noqa: E731
    if a and ri:
        out["ingest"] = ("(a) ingest pts/s vs raw ingest (separate children, one after the other)",
                         a["ingest"]["points_per_s"] / ri["ingest"]["points_per_s"],
                         f"{ld(a['ingest'])} vs {ld(ri['ingest'])}")  # fmt: skip
        hwm = a["ingest"]["mem_after"]["VmHWM"], ri["ingest"]["mem_after"]["VmHWM"]
        out["rss_ingest"] = (f"(a) peak RSS through ingest vs raw ingest's ({gib(hwm[0])} vs "
                             f"{gib(hwm[1])} GiB)", hwm[0] / hwm[1], "")  # fmt: skip
    if a and ro:
        out["green"] = ("(a) time to green vs raw optimize() (in-process)",
                        a["build"]["time_to_green_s"] / ro["optimize"]["seconds"],
                        f"{ld(a['build'])} vs {ld(ro['optimize'])}")  # fmt: skip
        out["rss"] = (f"(a) peak RSS vs raw optimize child's peak RSS ({gib(peak(a))} "
                      f"vs {gib(peak(ro))} GiB)",
                      peak(a) / peak(ro), "")  # fmt: skip
        out["p50_own"] = ("(a) query p50 vs raw p50 on raw's own index (separate phases)",
                          a["query"]["p50_ms"] / ro["query"]["p50_ms"],
                          f"{ld(a['query'])} vs {ld(ro['query'])}")  # fmt: skip
    if a and "raw_on_built" in a:
        b = a["raw_on_built"]
        out["qps_alt"] = ("(a) query QPS vs raw Edge requests on the built shard, "
                          "alternating", b["engine"]["qps"] / b["raw"]["qps"], ld(b))  # fmt: skip
        out["p50_alt"] = (f"(a) query p50 vs raw, alternating ({b['engine']['p50_ms']:.2f} vs "
                          f"{b['raw']['p50_ms']:.2f} ms)",
                          b["engine"]["p50_ms"] / b["raw"]["p50_ms"], ld(b))  # fmt: skip
    return out


def parent(args) -> None:
    res: dict = {"points": args.points, "dim": args.dim, "queries": args.queries}
    res["machine"], res["runs"], res["phases"] = benchlib.machine_info(), {}, []
    wd = Path(args.workdir or tempfile.mkdtemp(prefix="crewchief-bench-scale-"))
    wd.mkdir(parents=True, exist_ok=True)
    try:
        res["data"] = make_data(wd, args)
        for name in args.configs.split(","):
            t0, start = time.time(), load()
            print(f"== {name} (load {start}) {time.strftime('%H:%M:%S')}", flush=True)
            cmd = [sys.executable, __file__, "--child", name, "--workdir", str(wd)]
            for opt in ("points", "dim", "queries", "batch", "rounds"):
                cmd += [f"--{opt}", str(getattr(args, opt))]
            rc = subprocess.run(cmd).returncode
            phase = {"config": name, "rc": rc, "seconds": time.time() - t0}
            res["phases"].append(phase | {"load": [start, load()]})
            if rc == 0:
                res["runs"][name] = json.loads((wd / f"{name}.json").read_text())
            res["ratios"] = ratios(res["runs"])
            if args.json:  # partial results survive a cut-short run
                args.json.write_text(json.dumps(res, indent=2, default=str) + "\n")
            print(report(res), flush=True)
    finally:
        if not args.workdir:
            shutil.rmtree(wd, ignore_errors=True)
    benchlib.finish(res, report, args.json)


def main() -> None:
    args = benchlib.options(__doc__, OPTIONS)
    if args.child:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
