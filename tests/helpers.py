"""Helpers shared by the tests (import: `from tests.helpers import fill`)."""

from __future__ import annotations

import numpy as np
from qdrant_client import models

from crewchief import Engine
from crewchief.datasets import embedding_like, movie_payload


def fill(
    engine: Engine,
    name: str,
    n: int = 200,
    dim: int = 16,
    seed: int = 0,
    distance: models.Distance = models.Distance.COSINE,
    **create_kwargs: object,
) -> np.ndarray:
    """Create `name` and upsert `n` embedding-like points with movie payloads; return vectors."""
    vectors = embedding_like(n, dim, rank=8, seed=seed)
    engine.create_collection(
        name, vectors_config=models.VectorParams(size=dim, distance=distance), **create_kwargs
    )
    engine.upsert(
        name,
        [
            models.PointStruct(id=i, vector=vectors[i].tolist(), payload=movie_payload(i))
            for i in range(n)
        ],
    )
    return vectors
