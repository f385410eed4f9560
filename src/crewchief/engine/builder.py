"""Child process that builds a shard's index: `python -m crewchief.engine.builder SHARD_DIR`.

`EdgeShard.optimize()` holds the Python GIL for its whole run (a minute at 100k
points), so the engine never calls it in its own process: it copies the flushed
shard and lets this process load, optimize, flush and close the copy.  The
parent keeps serving and swaps the built copy in when this exits 0.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time

FAIL_ENV = "CREWCHIEF_BUILDER_FAIL"  # fault injection for tests: make the build fail
DELAY_ENV = "CREWCHIEF_BUILDER_DELAY"  # for tests: hold the build this many seconds first


def _die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent dies (Linux prctl)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except OSError:
        pass


def main(argv: list[str]) -> int:
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before prctl took effect
        return 1
    if len(argv) != 1:
        print("usage: python -m crewchief.engine.builder SHARD_DIR", file=sys.stderr)
        return 2
    if os.environ.get(FAIL_ENV):
        print(f"index build failed: {os.environ[FAIL_ENV]}", file=sys.stderr)
        return 1
    time.sleep(float(os.environ.get(DELAY_ENV) or 0))
    import qdrant_edge

    started = time.monotonic()
    shard = qdrant_edge.EdgeShard.load(argv[0])
    changed = shard.optimize()
    shard.flush()
    shard.close()
    print(f"optimized={changed} seconds={time.monotonic() - started:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
