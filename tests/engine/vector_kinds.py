"""One collection with every kind of vector, its points and queries, for the engine's and the
server's tests: dense (float32, float16, uint8), a multi-vector and two sparse vectors (one
with the IDF modifier).  Values are exact in float16 and whole numbers for uint8, so local
mode (which stores float32) and the engine answer alike."""

from __future__ import annotations

from typing import Any

import numpy as np
from qdrant_client import models

N = 60
EXACT = models.SearchParams(exact=True)


def vectors_config() -> dict[str, models.VectorParams]:
    return {
        "dense": models.VectorParams(size=8, distance=models.Distance.COSINE),
        "half": models.VectorParams(
            size=8, distance=models.Distance.DOT, datatype=models.Datatype.FLOAT16
        ),
        "bytes": models.VectorParams(
            size=4, distance=models.Distance.EUCLID, datatype=models.Datatype.UINT8
        ),
        "multi": models.VectorParams(
            size=4,
            distance=models.Distance.DOT,
            multivector_config=models.MultiVectorConfig(
                comparator=models.MultiVectorComparator.MAX_SIM
            ),
        ),
    }


def sparse_config() -> dict[str, models.SparseVectorParams]:
    return {
        "text": models.SparseVectorParams(modifier=models.Modifier.IDF),
        "plain": models.SparseVectorParams(index=models.SparseIndexParams(on_disk=True)),
    }


def sparse(rng: np.random.Generator, dims: int = 40) -> models.SparseVector:
    k = int(rng.integers(1, 6))
    idx = sorted(int(i) for i in rng.choice(dims, size=k, replace=False))
    return models.SparseVector(indices=idx, values=[float(rng.integers(1, 16)) / 4 for _ in idx])


def point_vectors(rng: np.random.Generator, i: int) -> dict[str, Any]:
    """Every point has `dense`; the others come and go (vectors are optional per point)."""
    v: dict[str, Any] = {"dense": rng.normal(size=8).round(3).tolist()}
    if i % 2 == 0:
        v["half"] = (rng.integers(-64, 64, size=8) / 16).tolist()
    if i % 3 == 0:
        v["bytes"] = rng.integers(0, 256, size=4).astype(float).tolist()
    if i % 4 != 1:
        rows = int(rng.integers(1, 4))
        v["multi"] = (rng.integers(-8, 8, size=(rows, 4)) / 4).tolist()
    if i % 5 != 2:
        v["text"] = sparse(rng)
    if i % 2 == 1:
        v["plain"] = sparse(rng)
    return v


def points(seed: int = 7) -> list[models.PointStruct]:
    rng = np.random.default_rng(seed)
    return [
        models.PointStruct(id=i, vector=point_vectors(rng, i), payload={"i": i}) for i in range(N)
    ]


def queries(seed: int = 11) -> list[tuple[Any, str]]:
    """(query, using) pairs: one or two of each kind."""
    rng = np.random.default_rng(seed)
    return [
        (rng.normal(size=8).round(3).tolist(), "dense"),
        (np.asarray(rng.normal(size=8), dtype=np.float32), "dense"),
        ((rng.integers(-64, 64, size=8) / 16).tolist(), "half"),
        (rng.integers(0, 256, size=4).astype(float).tolist(), "bytes"),
        ((rng.integers(-8, 8, size=(2, 4)) / 4).tolist(), "multi"),
        (np.asarray(rng.integers(-8, 8, size=(3, 4)) / 4, dtype=np.float32), "multi"),
        (sparse(rng), "text"),
        (models.SparseVector(indices=[1, 2, 3, 5, 8, 13, 21, 34], values=[1.0] * 8), "text"),
        (sparse(rng), "plain"),
    ]


def same_vector(a: Any, b: Any) -> bool:
    """Two vectors of any kind alike (float32 precision; cosine vectors are normalised)."""
    if isinstance(a, models.SparseVector) or isinstance(b, models.SparseVector):
        return (
            isinstance(a, models.SparseVector)
            and isinstance(b, models.SparseVector)
            and a.indices == b.indices
            and np.allclose(a.values, b.values, rtol=1e-6, atol=1e-6)
        )
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return x.shape == y.shape and np.allclose(x, y, rtol=1e-5, atol=1e-6)


def same_vectors(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    a, b = a or {}, b or {}
    return set(a) == set(b) and all(same_vector(a[k], b[k]) for k in a)


def _groups(hits: list[models.ScoredPoint]) -> list[tuple[float, frozenset[Any]]]:
    """Hits as (score, ids with that score) in order: ties may come in any order."""
    out: list[tuple[float, set[Any]]] = []
    for p in hits:
        if out and abs(out[-1][0] - p.score) <= 1e-5 * max(1.0, abs(p.score)):
            out[-1][1].add(p.id)
        else:
            out.append((p.score, {p.id}))
    return [(score, frozenset(ids)) for score, ids in out]


def same_hits(a: list[models.ScoredPoint], b: list[models.ScoredPoint]) -> bool:
    """Same ids in the same order (ties in any order), scores alike to float32 precision."""
    ga, gb = _groups(a), _groups(b)
    return [ids for _, ids in ga] == [ids for _, ids in gb] and np.allclose(
        [s for s, _ in ga], [s for s, _ in gb], rtol=1e-5, atol=1e-5
    )
