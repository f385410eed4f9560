"""Child process that builds a shard's index: `python -m crewchief.engine.builder SHARD_DIR`.

`EdgeShard.optimize()` holds the Python GIL for its whole run (a minute at 100k
points), so the engine never calls it in its own process: it copies the flushed
shard and lets this process load, optimize, flush and close the copy.  The
parent keeps serving and swaps the built copy in when this exits 0.

With `--copy-from SRC` (a shard rebuild for a config change Edge cannot make in place)
SHARD_DIR is a new, empty shard with the new config: every point of the flushed copy SRC
(vectors and payload) and its payload indexes are copied into it first.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from typing import Any

FAIL_ENV = "CREWCHIEF_BUILDER_FAIL"  # fault injection for tests: make the build fail
DELAY_ENV = "CREWCHIEF_BUILDER_DELAY"  # for tests: hold the build this many seconds first
COPY_BATCH = 512  # points per write when copying a shard


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
    if len(argv) not in (1, 3) or (len(argv) == 3 and argv[1] != "--copy-from"):
        print("usage: builder.py SHARD_DIR [--copy-from SRC]", file=sys.stderr)
        return 2
    if os.environ.get(FAIL_ENV):
        print(f"index build failed: {os.environ[FAIL_ENV]}", file=sys.stderr)
        return 1
    time.sleep(float(os.environ.get(DELAY_ENV) or 0))
    import qdrant_edge

    started = time.monotonic()
    shard = qdrant_edge.EdgeShard.load(argv[0])
    if len(argv) == 3:
        copy_points(qdrant_edge, argv[2], shard)
    changed = shard.optimize()
    shard.flush()
    shard.close()
    print(f"optimized={changed} seconds={time.monotonic() - started:.2f}")
    return 0


def copy_points(qdrant_edge: Any, source_dir: str, dest: Any) -> None:
    """Every point and payload index of the shard at `source_dir`, written into `dest`."""
    edge = qdrant_edge
    source = edge.EdgeShard.load(source_dir)
    try:
        for field, info in source.info().payload_schema.items():
            schema = info.params if info.params is not None else info.data_type
            dest.update(edge.UpdateOperation.create_field_index(field, schema))
        offset = None
        while True:
            request = edge.ScrollRequest(
                offset=offset, limit=COPY_BATCH, with_payload=True, with_vector=True
            )
            records, offset = source.scroll(request)
            points = [edge.Point(r.id, r.vector, r.payload or {}) for r in records]
            if points:
                dest.update(edge.UpdateOperation.upsert_points(points))
            if offset is None:
                break
    finally:
        source.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
