"""What a collection keeps of its index builds (collection.py): the last build's record,
and the writes made while a build runs, replayed on the new generation before the swap (a
write the live shard refused discards the build)."""

from __future__ import annotations

from dataclasses import dataclass

import qdrant_edge as edge

from crewchief.errors import EngineFailure

# Replay of writes made during a build: outside the lock while more than
# FINAL_REPLAY_OPS are pending (at most CATCH_UP_ROUNDS times), then the rest under it.
FINAL_REPLAY_OPS = 4
CATCH_UP_ROUNDS = 50
OpLog = list[tuple[edge.UpdateOperation, bool]]  # (write, whether the live shard applied it)


@dataclass
class BuildRecord:
    """The last index build: when, how long, and how it ended."""

    started: float
    finished: float | None = None
    error: str | None = None
    changed: bool | None = None


def replay(shard: edge.EdgeShard, log: OpLog) -> None:
    """A build's writes, in order, on the new generation.  A write the live shard refused
    may have been applied in part, and Edge's part varies (seen: a batch with one bad
    point kept the points on both sides of it, or none, on an unindexed shard, and only the
    one before it on a built one): no replay repeats it, so the build is discarded and the
    live generation, which holds what the write left, stays."""
    for op, applied in log:
        if not applied:
            raise EngineFailure(
                "index build discarded: a write was refused while it ran, and what Edge "
                "applied of it cannot be repeated on the built copy",
                hint="The collection is served as before; the next write or optimize "
                "starts a new build",
            )
        shard.update(op)
