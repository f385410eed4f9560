"""Synthetic, embedding-like vectors for the demo, tests and benchmarks.

Real sentence embeddings live near a low-dimensional subspace; uniform random
vectors do not, and on them HNSW recall is meaningless (about 0.14 at 384-d).
`embedding_like` draws points from a random rank-`rank` subspace plus a little
isotropic noise, which behaves like real embeddings for indexing and recall.
"""

from __future__ import annotations

import numpy as np

GENRES = ["drama", "comedy", "action", "documentary", "sci-fi", "romance"]


def embedding_like(
    n: int, dim: int = 384, rank: int = 32, noise: float = 0.1, seed: int = 0
) -> np.ndarray:
    """`n` unit vectors of `dim` floats (float32) near a random rank-`rank` subspace."""
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(rank, dim))
    x = rng.normal(size=(n, rank)) @ basis + noise * np.sqrt(rank) * rng.normal(size=(n, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def movie_payload(i: int) -> dict[str, object]:
    """A small, deterministic payload for point `i` (the lesson's movies)."""
    return {"title": f"Movie #{i}", "genre": GENRES[i % len(GENRES)], "year": 1970 + i % 55}


def exact_top_k(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Ids of the `k` nearest rows of `data` by cosine similarity (unit vectors), per query."""
    scores = queries @ data.T
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(top, order, axis=1)
