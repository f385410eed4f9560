"""Qdrant's indexing threshold: when unindexed vectors are worth building an index for.

Qdrant counts `optimizers_config.indexing_threshold` in kilobytes of vector data,
4 bytes (float32) per dimension; 0 turns indexing off.  The engine uses this rule
to decide when to start a build (status grey), the health check to flag a
collection whose searches run by brute force over too many vectors.
"""

from __future__ import annotations


def unindexed_vectors(points: int, vectors_per_point: int, indexed: int) -> int:
    """Vectors stored but not yet in an index (never negative)."""
    return max(0, points * vectors_per_point - indexed)


def over_indexing_threshold(unindexed: int, dim: float, threshold_kb: int | None) -> bool:
    """`unindexed` vectors of mean dimension `dim` reach `threshold_kb` (KB, as Qdrant
    counts); a threshold of 0 or None is never reached."""
    if not threshold_kb:
        return False
    return unindexed * dim * 4 / 1024 >= threshold_kb
