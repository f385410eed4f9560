"""The long fault run: `python -m tests.faults.run [--trials N] [--ops a,b] [--seed S]`.

Runs N kill -9 trials per operation (default $CREWCHIEF_FAULT_TRIALS, else 50),
each operation chained on its own data directory, and prints a summary to
stdout: a JSON document, then the same figures as a markdown table.  Progress
goes to stderr.  Exit status 1 when any trial failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.faults.harness import TRIALS_ENV, TrialResult, run_trial
from tests.faults.scenarios import SCENARIOS

LONG_TRIALS = 50


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kb / 1024**2, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def summarize(op: str, results: list[TrialResult]) -> dict[str, Any]:
    notes: dict[str, int] = {}
    for r in results:
        for k, v in r.notes.items():
            notes[k] = notes.get(k, 0) + v
    failed = [r for r in results if not r.ok]
    return {
        "op": op,
        "trials": len(results),
        "failures": len(failed),
        "lost_writes": sum(r.lost for r in results),
        "acked_steps": sum(r.acked for r in results),
        "seconds": round(sum(r.seconds for r in results), 1),
        "notes": notes,
        "problems": [f"trial {r.trial}: {p}" for r in failed for p in r.problems][:10],
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Fault run {report['date']} on {report['machine']['cpu']} "
        f"({report['machine']['cores']} cores, {report['machine']['ram_gib']} GiB RAM), "
        f"seed {report['seed']}",
        "",
        "| operation | trials | failures | lost writes | acked steps | notes |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for s in report["operations"]:
        notes = ", ".join(f"{k}={v}" for k, v in sorted(s["notes"].items())) or "-"
        lines.append(
            f"| {s['op']} | {s['trials']} | {s['failures']} | {s['lost_writes']} "
            f"| {s['acked_steps']} | {notes} |"
        )
    t = report["totals"]
    lines.append(
        f"| **all** | {t['trials']} | {t['failures']} | {t['lost_writes']} | {t['acked_steps']} | |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.run")
    parser.add_argument("--trials", type=int, default=int(os.environ.get(TRIALS_ENV, LONG_TRIALS)))
    parser.add_argument("--ops", default=",".join(SCENARIOS), help="comma-separated")
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 30))
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    summaries = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="crewchief-faults-") as tmp:
        for op in args.ops.split(","):
            scenario = SCENARIOS[op](Path(tmp) / op)
            scenario.prepare()
            results = []
            for trial in range(args.trials):
                result = run_trial(scenario, trial, rng)
                results.append(result)
                mark = "ok" if result.ok else "FAILED: " + "; ".join(result.problems)[:300]
                print(
                    f"{op} trial {trial}: kill after {result.delay:.2f} s, "
                    f"{result.acked} acks, {mark}",
                    file=sys.stderr,
                    flush=True,
                )
            summaries.append(summarize(op, results))
    totals = {
        k: sum(s[k] for s in summaries)
        for k in ("trials", "failures", "lost_writes", "acked_steps")
    }
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "seed": args.seed,
        "trials_per_op": args.trials,
        "minutes": round((time.monotonic() - started) / 60, 1),
        "operations": summaries,
        "totals": totals,
    }
    print(json.dumps(report, indent=1))
    print()
    print(markdown(report))
    return 1 if totals["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
