"""Qdrant's indexing threshold: when unindexed vectors are worth building an index for.

Qdrant counts `optimizers_config.indexing_threshold` in kilobytes of vector data,
4 bytes (float32) per dimension; 0 turns indexing off.  The engine uses this rule
to decide when to start a build (status grey), the health check to flag a
collection whose searches run by brute force over too many vectors.  Qdrant's vacuum
rule (when dead point versions are worth a rebuild) is here too.
"""

from __future__ import annotations

from collections.abc import Mapping


def unindexed_vectors(points: int, vectors_per_point: int, indexed: int) -> int:
    """Vectors stored but not yet in an index (never negative)."""
    return max(0, points * vectors_per_point - indexed)


def over_indexing_threshold(unindexed: int, dim: float, threshold_kb: int | None) -> bool:
    """`unindexed` vectors of mean dimension `dim` reach `threshold_kb` (KB, as Qdrant
    counts); a threshold of 0 or None is never reached."""
    if not threshold_kb:
        return False
    return unindexed * dim * 4 / 1024 >= threshold_kb


def index_due(
    points: int,
    indexed: int,
    sizes: Mapping[str, int],
    per_point: int,
    threshold_kb: int | None,
    floor: int,
) -> bool:
    """A build is worth it: the unindexed dense vectors (of `sizes`: name -> dimension) reach
    the threshold and are more than `floor` (those the last build could not index).
    `per_point` counts every vector a point can have, sparse ones too: the shard counts
    those as indexed as they are written."""
    if not threshold_kb or not sizes:  # no dense vector (sparse only): nothing to index
        return False
    unindexed = unindexed_vectors(points, per_point, indexed)
    dim = sum(sizes.values()) / len(sizes)
    return unindexed > floor and over_indexing_threshold(unindexed, dim, threshold_kb)


def vacuum_due(
    stored: int, points: int, deleted_threshold: float | None, min_vectors: int | None
) -> bool:
    """More dead point versions (`stored` - live `points`) than Qdrant's vacuum optimizer
    allows: over `deleted_threshold` (default 0.2) of them and at least `min_vectors`."""
    dead = max(0, stored - points)
    fraction = deleted_threshold if deleted_threshold is not None else 0.2
    return dead >= max(1, min_vectors or 0) and dead > fraction * stored
