"""Load and soak: `crewchief serve` under mixed traffic from several client processes.

    python bench/soak.py [--seconds 600] [--clients 4] [--points 10000] [--json PATH]

Starts the real `crewchief serve` on 127.0.0.1 (port 0, the OS picks), creates
`soak_v1` and `soak_v2` (the same ids, `payload.v` = 1 or 2), the alias `soak`
on v1 and a write collection `soak_w`, then runs client processes (qdrant-client
over REST) for the given time:

- readers (all but two clients): query / retrieve / scroll / count through the alias,
  checking every answer (ids present, `v` in {1, 2}, the count exact);
- one writer: upserts of 20 points and deletes of 5 in `soak_w` (ids in a rolling
  window, so the data stays bounded), and queries on it, at most WRITER_STEPS_PER_S
  steps a second: a fixed write volume, so a faster server does not see more data (and a
  bigger WAL) in the same run than a slower one;
- one admin: switches the alias v1 <-> v2 (one atomic delete+create batch) twice a
  second, creates and deletes a snapshot of `soak_v1` every 10 s and a full
  snapshot every 60 s, and counts in between.

It reports requests served, errors (target 0), p50/p99 latency per kind, and the
server's memory: VmRSS from /proc/PID/status every second; growth is the median of
the last 10% of samples against the median around the end of warm-up (the first
20% of the run, at most 120 s) -- target under 10%.  Exit status 1 when there
were errors or the growth reached 10%.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import queue
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient, models

from crewchief.fsutil import disk_usage

DIM = 64
WRITE_WINDOW = 5000
LISTENING = re.compile(r"listening on (http://\S+)")
MAX_GROWTH = 0.10
WRITER_STEPS_PER_S = 40  # the write load: an upsert + a delete, or a query, per step


@dataclass
class ClientResult:
    role: str
    latencies: dict[str, list[float]] = field(default_factory=dict)  # kind -> ms
    errors: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)  # the first few error messages

    def record(self, kind: str, started: float) -> None:
        self.latencies.setdefault(kind, []).append((time.perf_counter() - started) * 1000)

    def error(self, kind: str, exc: BaseException | str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.samples) < 5:
            self.samples.append(f"{kind}: {exc}")


# -- data -----------------------------------------------------------------------------------------


def vector(i: int, salt: int = 0) -> list[float]:
    rng = random.Random(i * 7919 + salt)
    return [rng.uniform(-1, 1) for _ in range(DIM)]


def point(i: int, version: int) -> models.PointStruct:
    genre = ("drama", "comedy", "horror", "sci-fi")[i % 4]
    return models.PointStruct(
        id=i, vector=vector(i), payload={"i": i, "v": version, "genre": genre}
    )


def client_for(url: str) -> QdrantClient:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return QdrantClient(url=url, prefer_grpc=False, timeout=120, check_compatibility=False)


def setup(url: str, points: int) -> None:
    client = client_for(url)
    for name, version in (("soak_v1", 1), ("soak_v2", 2)):
        client.create_collection(
            name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE)
        )
        client.upload_points(name, (point(i, version) for i in range(points)), batch_size=500)
        client.create_payload_index(name, "genre", models.PayloadSchemaType.KEYWORD)
    client.create_collection(
        "soak_w", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE)
    )
    client.upload_points("soak_w", (point(i, 0) for i in range(1000)), batch_size=500)
    client.update_collection_aliases(
        [
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name="soak_v1", alias_name="soak")
            )
        ]
    )
    client.close()


# -- client processes -----------------------------------------------------------------------------


def reader(client: QdrantClient, rng: random.Random, points: int, out: ClientResult) -> None:
    roll = rng.random()
    started = time.perf_counter()
    if roll < 0.6:
        kind = "query"
        genre = models.Filter(
            must=[models.FieldCondition(key="genre", match=models.MatchValue(value="drama"))]
        )
        hits = client.query_points(
            "soak",
            query=vector(rng.randrange(points), salt=1),
            limit=10,
            with_payload=True,
            query_filter=genre if rng.random() < 0.3 else None,
        ).points
        out.record(kind, started)
        if len(hits) != 10 or any((h.payload or {}).get("v") not in (1, 2) for h in hits):
            out.error(kind, f"unexpected answer: {hits[:2]}")
    elif roll < 0.75:
        kind = "retrieve"
        ids = [rng.randrange(points) for _ in range(5)]
        got = client.retrieve("soak", ids, with_payload=True)
        out.record(kind, started)
        if {r.id for r in got} != set(ids):
            out.error(kind, f"asked {ids}, got {[r.id for r in got]}")
    elif roll < 0.9:
        kind = "scroll"
        page, _next = client.scroll("soak", limit=20, offset=rng.randrange(points - 20))
        out.record(kind, started)
        if len(page) != 20:
            out.error(kind, f"a page of {len(page)} points")
    else:
        kind = "count"
        count = client.count("soak", exact=True).count
        out.record(kind, started)
        if count != points:
            out.error(kind, f"count {count} != {points}")


def writer(client: QdrantClient, rng: random.Random, step: int, out: ClientResult) -> None:
    base = (step * 20) % WRITE_WINDOW
    started = time.perf_counter()
    if step % 5 == 4:
        client.query_points("soak_w", query=vector(step, salt=2), limit=10)
        out.record("query_w", started)
        return
    client.upsert("soak_w", [point(base + k, step) for k in range(20)], wait=True)
    out.record("upsert", started)
    started = time.perf_counter()
    doomed = [(base + WRITE_WINDOW // 2 + k * 4) % WRITE_WINDOW for k in range(5)]
    client.delete("soak_w", models.PointIdsList(points=doomed), wait=True)
    out.record("delete", started)


def admin(client: QdrantClient, step: int, state: dict[str, Any], out: ClientResult) -> None:
    now = time.monotonic()
    if now >= state["next_snapshot"]:
        state["next_snapshot"] = now + 10
        started = time.perf_counter()
        snap = client.create_snapshot("soak_v1", wait=True)
        out.record("snapshot_create", started)
        assert snap is not None
        started = time.perf_counter()
        client.delete_snapshot("soak_v1", snap.name, wait=True)
        out.record("snapshot_delete", started)
    elif now >= state["next_full"]:
        state["next_full"] = now + 60
        started = time.perf_counter()
        full = client.create_full_snapshot(wait=True)
        out.record("full_snapshot", started)
        assert full is not None
        client.delete_full_snapshot(full.name, wait=True)
    elif now >= state["next_switch"]:
        state["next_switch"] = now + 0.5
        new = "soak_v2" if state["current"] == "soak_v1" else "soak_v1"
        started = time.perf_counter()
        client.update_collection_aliases(
            [
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name="soak")),
                models.CreateAliasOperation(
                    create_alias=models.CreateAlias(collection_name=new, alias_name="soak")
                ),
            ]
        )
        out.record("alias_switch", started)
        state["current"] = new
    else:
        started = time.perf_counter()
        client.count("soak", exact=True)
        out.record("count", started)
        time.sleep(0.05)


def run_client(
    role: str, url: str, seconds: float, points: int, seed: int, ready: Any, go: Any, results: Any
) -> None:
    client = client_for(url)
    client.count("soak")  # connected and warm
    rng = random.Random(seed)
    out = ClientResult(role=role)
    ready.put(role)
    go.wait()
    state = {
        "current": "soak_v1",
        "next_switch": 0.0,
        "next_snapshot": time.monotonic() + 5,
        "next_full": time.monotonic() + 30,
    }
    begun = time.monotonic()
    deadline = begun + seconds
    step = 0
    while time.monotonic() < deadline:
        if role == "writer" and (ahead := begun + step / WRITER_STEPS_PER_S - time.monotonic()) > 0:
            time.sleep(ahead)
        try:
            if role == "reader":
                reader(client, rng, points, out)
            elif role == "writer":
                writer(client, rng, step, out)
            else:
                admin(client, step, state, out)
        except Exception as exc:  # every failure is counted, and the load goes on
            out.error(f"{role}-exception", f"{type(exc).__name__}: {exc}")
        step += 1
    client.close()
    results.put(asdict(out))


def final_state(url: str) -> dict[str, Any]:
    """Points, indexed vectors and segments of every collection when the load stops."""
    client = client_for(url)
    out = {}
    for c in client.get_collections().collections:
        info = client.get_collection(c.name)
        out[c.name] = {
            "points": info.points_count,
            "indexed": info.indexed_vectors_count,
            "segments": info.segments_count,
            "status": info.status.value,
        }
    client.close()
    return out


# -- the server and its memory --------------------------------------------------------------------


class Server:
    def __init__(self, data: Path) -> None:
        exe = Path(sys.executable).with_name("crewchief")
        argv = [str(exe), "serve", "--data", str(data), "--host", "127.0.0.1", "--port", "0"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("CREWCHIEF_")}
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.stderr: list[str] = []
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(target=self._pump, args=(self.proc.stderr,), daemon=True).start()
        self.url = ""
        for line in self.proc.stdout:
            if match := LISTENING.search(line):
                self.url = match.group(1)
                break
        if not self.url:
            raise RuntimeError(f"crewchief serve did not start:\n{''.join(self.stderr)}")
        threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.stderr.append(line)

    def memory_kib(self) -> dict[str, int]:
        """VmRSS and its parts: RssAnon (heap) and RssFile (mmap'd files, the shards)."""
        found: dict[str, int] = {}
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                name = line.split(":", 1)[0]
                if name in ("VmRSS", "RssAnon", "RssFile"):
                    found[name] = int(line.split()[1])
        except OSError:
            return {}
        return found

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


Sample = tuple[float, dict[str, int]]  # (seconds since the start, kB by field)


def sample_memory(server: Server, data: Path, stop: threading.Event, samples: list[Sample]) -> None:
    started = time.monotonic()
    while not stop.wait(1.0):
        memory = server.memory_kib()
        if "VmRSS" in memory:
            if len(samples) % 10 == 0:  # the data directory's size, now and then
                memory["DataDir"] = disk_usage(data) // 1024
            samples.append((time.monotonic() - started, memory))


def _window(samples: list[Sample], name: str, low: float, high: float) -> float | None:
    values = [m[name] for t, m in samples if low <= t <= high and name in m]
    return statistics.median(values) if values else None


def memory_report(samples: list[Sample], warmup: float) -> dict[str, Any]:
    """Medians around the end of warm-up and over the last 10% of the run, per field."""
    if len(samples) < 4:
        return {"samples": len(samples)}
    end = samples[-1][0]
    report: dict[str, Any] = {
        "samples": len(samples),
        "warmup_s": round(warmup, 1),
        "start_mib": round(samples[0][1]["VmRSS"] / 1024, 1),
        "max_mib": round(max(m["VmRSS"] for _, m in samples) / 1024, 1),
    }
    for name, label in (
        ("VmRSS", ""),
        ("RssAnon", "anon_"),
        ("RssFile", "file_"),
        ("DataDir", "data_dir_"),
    ):
        warm = _window(samples, name, warmup - 15, warmup + 5)
        last = _window(samples, name, end * 0.9 - 5, end)
        if warm is None or last is None:
            continue
        report[f"{label}after_warmup_mib"] = round(warm / 1024, 1)
        report[f"{label}end_mib"] = round(last / 1024, 1)
        report[f"{label}growth_after_warmup"] = round((last - warm) / warm, 4) if warm else None
    step = max(10.0, end / 10)  # MiB medians over ~10 windows: a plateau or a slope
    report["timeline"] = [
        {"t": round(t)}
        | {
            name: round(v / 1024, 1)
            for name in ("VmRSS", "RssAnon", "RssFile", "DataDir")
            if (v := _window(samples, name, t - step, t)) is not None
        }
        for t in [step * i for i in range(1, int(end / step) + 1)]
    ]
    return report


# -- the report -----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(mem / 1024**2, 1),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def build_report(
    results: list[dict[str, Any]], memory: dict[str, Any], seconds: float, args: argparse.Namespace
) -> dict[str, Any]:
    kinds: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    samples: list[str] = []
    for r in results:
        for kind, values in r["latencies"].items():
            kinds.setdefault(kind, []).extend(values)
        for kind, n in r["errors"].items():
            errors[kind] = errors.get(kind, 0) + n
        samples += r["samples"]
    per_kind = {
        kind: {
            "requests": len(v),
            "errors": errors.get(kind, 0),
            "p50_ms": round(percentile(v, 0.50), 2),
            "p99_ms": round(percentile(v, 0.99), 2),
            "max_ms": round(max(v), 2),
        }
        for kind, v in sorted(kinds.items())
    }
    served = sum(len(v) for v in kinds.values())
    total_errors = sum(errors.values())
    growth = memory.get("growth_after_warmup")
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "seconds": round(seconds, 1),
        "clients": args.clients,
        "points": args.points,
        "requests": served,
        "requests_per_s": round(served / seconds, 1),
        "errors": total_errors,
        "error_samples": samples[:10],
        "kinds": per_kind,
        "memory": memory,
        "passed": total_errors == 0 and growth is not None and growth < MAX_GROWTH,
    }


def markdown(report: dict[str, Any]) -> str:
    m, mem = report["machine"], report["memory"]
    lines = [
        f"Soak {report['date']}: {report['seconds']} s, {report['clients']} client processes, "
        f"{m['cpu']} ({m['cores']} cores, {m['ram_gib']} GiB RAM)",
        "",
        f"Requests served: {report['requests']} ({report['requests_per_s']}/s), "
        f"errors: {report['errors']}",
        "",
        "| kind | requests | errors | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, k in report["kinds"].items():
        lines.append(
            f"| {kind} | {k['requests']} | {k['errors']} | {k['p50_ms']} | {k['p99_ms']} "
            f"| {k['max_ms']} |"
        )
    if "growth_after_warmup" in mem:
        lines += [
            "",
            f"Server RSS: {mem['start_mib']} MiB at start, {mem['after_warmup_mib']} MiB after "
            f"{mem['warmup_s']} s of warm-up, {mem['end_mib']} MiB at the end (max "
            f"{mem['max_mib']} MiB): growth after warm-up {mem['growth_after_warmup']:.1%}",
        ]
        for label, name in (("anon_", "heap (RssAnon)"), ("file_", "mapped files (RssFile)")):
            if f"{label}end_mib" in mem:
                lines.append(
                    f"- {name}: {mem[label + 'after_warmup_mib']} -> {mem[label + 'end_mib']} MiB "
                    f"({mem[label + 'growth_after_warmup']:.1%})"
                )
        if "data_dir_end_mib" in mem:
            lines.append(
                f"- data directory on disk: {mem['data_dir_after_warmup_mib']} -> "
                f"{mem['data_dir_end_mib']} MiB"
            )
        timeline = mem.get("timeline", [])
        lines += ["", "| s | " + " | ".join(str(w["t"]) for w in timeline) + " |"]
        lines.append("|---|" + "---:|" * len(timeline))
        for name, title in (("VmRSS", "RSS MiB"), ("RssAnon", "heap"), ("RssFile", "mapped"),
                            ("DataDir", "data dir")):  # fmt: skip
            cells = " | ".join(str(w.get(name, "")) for w in timeline)
            lines.append(f"| {title} | {cells} |")
    lines.append(f"\nResult: {'PASS' if report['passed'] else 'FAIL'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 600)))
    parser.add_argument("--clients", type=int, default=4, help="at least 3")
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    roles = ["admin", "writer"] + ["reader"] * max(1, args.clients - 2)
    with tempfile.TemporaryDirectory(prefix="crewchief-soak-") as tmp:
        server = Server(Path(tmp) / "data")
        print(f"soak: serving at {server.url} (pid {server.proc.pid})", file=sys.stderr)
        try:
            setup(server.url, args.points)
            samples: list[Sample] = []
            stop = threading.Event()
            sampler = threading.Thread(
                target=sample_memory, args=(server, Path(tmp) / "data", stop, samples)
            )
            ctx = mp.get_context("spawn")
            ready_q: Any = ctx.Queue()
            results_q: Any = ctx.Queue()
            go = ctx.Event()
            procs = [
                ctx.Process(
                    target=run_client,
                    args=(role, server.url, args.seconds, args.points, args.seed + n)
                    + (ready_q, go, results_q),
                )
                for n, role in enumerate(roles)
            ]
            for p in procs:
                p.start()
            for _ in procs:  # every client started and connected: start the clock together
                ready_q.get(timeout=300)
            started = time.monotonic()
            sampler.start()
            go.set()
            results = []
            for _ in procs:
                try:
                    results.append(results_q.get(timeout=args.seconds + 300))
                except queue.Empty:
                    break
            for p in procs:
                p.join(timeout=60)
            elapsed = time.monotonic() - started
            stop.set()
            sampler.join()
            final = final_state(server.url)
        finally:
            code = server.stop()
        warmup = min(max(0.2 * args.seconds, 10.0), 120.0)
        report = build_report(results, memory_report(samples, warmup), elapsed, args)
        report["server_exit_code"] = code
        report["collections_at_end"] = final
        report["server_log_errors"] = [
            line.strip() for line in server.stderr if "Traceback" in line or "ERROR" in line
        ][:10]
        if len(results) != len(procs) or code != 0:
            report["passed"] = False
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    print()
    print(markdown(report))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
