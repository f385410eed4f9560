"""Copy points between two collections, possibly on two targets, resumably.

Used by deploy (same target, optional re-embedding) and migrate (across
targets).  Points already in the destination are skipped, so running the same
copy again after an interruption continues where it stopped; upserts are
idempotent, so a batch written twice is harmless.  Every vector kind (named and
unnamed dense, multi-vectors, sparse) is copied as the source returns it; a
re-embedding replaces one dense vector (`using`) and keeps the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qdrant_client import models

from crewchief.core.client import QdrantAPI
from crewchief.errors import InvalidInput

EmbedFn = Callable[[list[dict[str, Any]]], list[list[float]]]
Progress = Callable[[str, int, int], None]  # (step, done, total)


@dataclass
class CopyStats:
    copied: int = 0
    skipped: int = 0


def copy_points(
    src: QdrantAPI,
    src_name: str,
    dst: QdrantAPI,
    dst_name: str,
    embed: EmbedFn | None = None,
    batch_size: int = 256,
    progress: Progress = lambda step, done, total: None,
    step: str = "copy",
    using: str | None = None,
) -> CopyStats:
    """Scroll `src_name` on client `src` in id order and upsert what `dst_name` lacks.

    With `embed`, the dense vector `using` (None or "": the unnamed one) of each point is
    replaced by the embedding of its payload; its other vectors are copied unchanged."""
    total = src.count(src_name, exact=True).count
    stats = CopyStats()
    offset = None
    done = 0
    while True:
        page, offset = src.scroll(
            src_name, limit=batch_size, offset=offset, with_payload=True, with_vectors=True
        )
        if not page:
            break
        there = {r.id for r in dst.retrieve(dst_name, [p.id for p in page], with_payload=False)}
        todo = [p for p in page if p.id not in there]
        if todo:
            vectors = _vectors(todo, embed, using or "")
            dst.upsert(
                dst_name,
                [
                    models.PointStruct(id=p.id, vector=v, payload=p.payload)
                    for p, v in zip(todo, vectors, strict=True)
                ],
            )
        stats.copied += len(todo)
        stats.skipped += len(page) - len(todo)
        done += len(page)
        progress(step, done, total)
        if offset is None:
            break
    return stats


def _vectors(points: list[models.Record], embed: EmbedFn | None, using: str) -> list[Any]:
    if embed is None:
        return [p.vector for p in points]
    vectors = embed([p.payload or {} for p in points])
    if len(vectors) != len(points):
        raise InvalidInput(
            f"--embed returned {len(vectors)} vectors for {len(points)} payloads",
            hint="The function must return one vector per payload, in order",
        )
    out: list[Any] = []
    for p, v in zip(points, vectors, strict=True):
        if isinstance(p.vector, dict):  # named (or unnamed beside sparse): replace one
            out.append({**p.vector, using: v})
        else:
            out.append({using: v} if using else v)
    return out
