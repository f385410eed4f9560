"""A collection's vectors, read the one way every layer needs them.

Qdrant's `CollectionParams.vectors` is either one `VectorParams` (the unnamed vector) or a
map of named ones; callers should not each tell the two apart.  Sparse vectors (a separate
map in Qdrant's config) get their reader here too.
"""

from __future__ import annotations

from qdrant_client import models

UNNAMED = ""  # the name of a collection's single unnamed dense vector


def dense_vectors(config: models.CollectionConfig) -> dict[str, models.VectorParams]:
    """Dense vector name ("" for the single unnamed vector) -> its params, in config order."""
    vectors = config.params.vectors
    if isinstance(vectors, models.VectorParams):
        return {UNNAMED: vectors}
    return dict(vectors or {})


def unnamed_vector(config: models.CollectionConfig) -> models.VectorParams | None:
    """The params of the collection's one unnamed vector; None if its vectors are named."""
    vectors = config.params.vectors
    return vectors if isinstance(vectors, models.VectorParams) else None


def sparse_vectors(config: models.CollectionConfig) -> dict[str, models.SparseVectorParams]:
    """Sparse vector name -> its params, in config order (empty if the collection has none)."""
    return dict(config.params.sparse_vectors or {})


def multivectors(config: models.CollectionConfig) -> set[str]:
    """The names of the dense vectors that hold multi-vectors (`multivector_config` set)."""
    return {n for n, p in dense_vectors(config).items() if p.multivector_config is not None}
