"""What the benchmark scripts share: machine info, options, percentiles, the end of a run.

The scripts run as `python bench/NAME.py`, so this folder is on `sys.path`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as md
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

PACKAGES = ("numpy", "qdrant-edge-py", "qdrant-client", "crewchief")


def machine_info(*packages: str) -> dict[str, Any]:
    """Date, CPU, cores, RAM, Python, package versions (PACKAGES + `packages`), load."""
    cpu = Path("/proc/cpuinfo").read_text().split("model name", 1)[-1].split("\n")[0]
    mem = Path("/proc/meminfo").read_text().split("MemTotal:", 1)[1].split()[0]
    when = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    info = dict(date=when, cpu=cpu.strip(" :\t"), cores=os.cpu_count(), ram_gb=int(mem) >> 20)
    info["python"] = platform.python_version()
    versions = {p: md.version(p) for p in (*PACKAGES, *packages)}
    return info | dict(versions=versions, load_at_start=os.getloadavg())


def options(doc: str | None, defaults: dict[str, Any]) -> argparse.Namespace:
    """`--NAME VALUE` for each default (typed like it), and `--json PATH`."""
    raw = argparse.RawDescriptionHelpFormatter
    ap = argparse.ArgumentParser(description=doc, formatter_class=raw)
    for opt, default in defaults.items():
        ap.add_argument(f"--{opt}", type=type(default), default=default)
    ap.add_argument("--json", type=Path, default=None, help="write the raw numbers here")
    return ap.parse_args()


def pct(seconds: list[float]) -> dict[str, float]:
    """Latency percentiles in ms."""
    ms = np.array(seconds or [0.0]) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def finish(res: dict[str, Any], report: Callable[[dict[str, Any]], str], path: Path | None) -> None:
    """Record the load at the end, print the report, write the raw numbers to `path`."""
    res["machine"]["load_at_end"] = os.getloadavg()
    print("\n" + report(res))
    if path:
        path.write_text(json.dumps(res, indent=2, default=str) + "\n")
        print(f"\nraw numbers: {path}")


def alternate(fns: dict[str, Any], queries: np.ndarray, rounds: int, warmup: int = 0) -> dict:
    """Each function over the same queries in `rounds` alternating slices (the same load for
    each), after `warmup` untimed queries each; QPS and percentiles per function.

    The order of the functions turns round by round: the one that runs a slice second
    finds what the first touched (the same queries walk the same graph nodes) in the CPU
    caches and the page cache, which on a freshly built shard is worth up to 1.5x."""
    lat: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        for q in queries[:warmup]:
            fn(q)
    order = list(fns.items())
    for i, part in enumerate(np.array_split(queries, rounds)):
        for key, fn in order[i % len(order) :] + order[: i % len(order)]:
            for q in part:
                t0 = time.perf_counter()
                fn(q)
                lat[key].append(time.perf_counter() - t0)
    return {k: {"qps": len(v) / sum(v), **pct(v)} for k, v in lat.items()}
