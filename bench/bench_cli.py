"""How fast the `crewchief` command starts: each command's `--help`, and `version` (issue 16).

    python bench/bench_cli.py [--runs 10] [--json PATH]

Each command line runs as `python -m crewchief.cli.main ARGS` in a fresh process (the
console script does the same imports).  With hyperfine installed it times them
(`--warmup 2 --runs N`, mean and min); without, a loop of `subprocess.run`.  The
references, timed the same way: the bare interpreter (`python -c pass`) and
`python -c "import qdrant_client"` (what a command that talks to Qdrant pays on top).
Also recorded: the modules `--help` imports that take longest (`-X importtime`), and
whether any heavy stack (qdrant_client, pyarrow, boto3, numpy, the server) is imported.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib  # this folder, on sys.path when run as a script

OPTIONS = dict(runs=10)
PY = sys.executable
COMMANDS = [
    ["--help"],
    ["version"],
    *[
        [c, "--help"]
        for c in (
            "status",
            "metrics",
            "alias",
            "deploy",
            "gc",
            "snapshot",
            "optimize",
            "backup",
            "migrate",
            "dashboard",
            "demo",
            "serve",
        )
    ],
    ["backup", "create", "--help"],
]
REFERENCES = {"python -c pass": [PY, "-c", "pass"]}
REFERENCES["python -c 'import qdrant_client'"] = [PY, "-c", "import qdrant_client"]
HEAVY = ("qdrant_client", "qdrant_edge", "pyarrow", "boto3", "numpy", "starlette", "uvicorn")


def cli(args: list[str]) -> list[str]:
    return [PY, "-m", "crewchief.cli.main", *args]


def hyperfine(argvs: list[list[str]], runs: int) -> list[dict]:
    out = Path(tempfile.mkdtemp()) / "h.json"
    cmd = ["hyperfine", "--warmup", "2", "--runs", str(runs), "-N", "--export-json", str(out)]
    subprocess.run([*cmd, *[subprocess.list2cmdline(a) for a in argvs]], check=True,
                   capture_output=True)  # fmt: skip
    found = json.loads(out.read_text())["results"]
    return [{"mean_s": r["mean"], "min_s": r["min"], "stddev_s": r["stddev"]} for r in found]


def loop(argvs: list[list[str]], runs: int) -> list[dict]:
    res = []
    for argv in argvs:
        times = []
        for _ in range(runs + 2):
            t0 = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        times = times[2:]
        res.append({"mean_s": statistics.mean(times), "min_s": min(times),
                    "stddev_s": statistics.pstdev(times)})  # fmt: skip
    return res


def import_profile() -> dict:
    run = subprocess.run([PY, "-X", "importtime", *cli(["--help"])[1:]], capture_output=True,
                         text=True, check=True)  # fmt: skip
    rows = []
    for line in run.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            if cumulative.strip().isdigit():
                rows.append((int(cumulative), name.rstrip()))
    top = sorted(rows, reverse=True)[:8]
    names = {name.strip().split(".")[0] for _, name in rows}
    return {"top": [(us, name) for us, name in top], "heavy": sorted(names & set(HEAVY))}


def run(args) -> dict:
    argvs = [cli(c) for c in COMMANDS] + list(REFERENCES.values())
    tool = "hyperfine" if shutil.which("hyperfine") else "subprocess loop"
    timer = hyperfine if tool == "hyperfine" else loop
    timings = timer(argvs, args.runs)
    labels = ["crewchief " + " ".join(c) for c in COMMANDS] + list(REFERENCES)
    return {"tool": tool, "runs": args.runs, "timings": dict(zip(labels, timings, strict=True)),
            "imports": import_profile()}  # fmt: skip


def report(res: dict) -> str:
    m = res["machine"]
    lines = [
        f"# {m['date']} | {m['cpu']} | {m['cores']} cores | Python {m['python']} | timed with "
        f"{res['tool']} ({res['runs']} runs) | load avg at start {m['load_at_start'][0]:.2f}, "
        f"at end {m['load_at_end'][0]:.2f}",
        "",
        "| command | mean ms | min ms | ± ms |",
        "|---|---:|---:|---:|",
    ]
    for label, t in res["timings"].items():
        lines.append(
            f"| `{label}` | {t['mean_s'] * 1000:.0f} | {t['min_s'] * 1000:.0f} "
            f"| {t['stddev_s'] * 1000:.0f} |"
        )
    imports = res["imports"]
    lines += ["", f"Heavy stacks `crewchief --help` imports: {imports['heavy'] or 'none'}.",
              "Slowest imports of `crewchief --help` (cumulative):"]  # fmt: skip
    lines += [f"- {name.strip()}: {us / 1000:.1f} ms" for us, name in imports["top"]]
    return "\n".join(lines)


def main() -> None:
    args = benchlib.options(__doc__, OPTIONS)
    res: dict = dict(machine=benchlib.machine_info())
    res |= run(args)
    benchlib.finish(res, report, args.json)


if __name__ == "__main__":
    main()
