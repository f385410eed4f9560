"""Helpers shared by the tests (import: `from tests.helpers import fill`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
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


def f32(x: float) -> float:
    """The stored float32 value: a server writes it in its shortest form (0.05) and the
    client reads the nearest double, the engine (and gRPC) hand over the float32's exact
    double (0.05000000074505806); both are the same float32."""
    return float(np.float32(x))


def f32s(vector: Any) -> Any:
    """`f32` through a vector of any kind (list, multi-vector, {name: vector})."""
    if isinstance(vector, dict):
        return {name: f32s(v) for name, v in vector.items()}
    if isinstance(vector, list):
        return [f32s(x) for x in vector]
    return f32(vector) if isinstance(vector, float) else vector


def groups_of(result: models.GroupsResult) -> list[Any]:
    """A groups answer, comparable with another's: ids, hits (scores to float32 noise), lookups."""
    return [
        (
            g.id,
            [(h.id, pytest.approx(h.score, rel=1e-5, abs=1e-6), h.payload) for h in g.hits],
            g.lookup and (g.lookup.id, g.lookup.payload),
        )
        for g in result.groups
    ]
