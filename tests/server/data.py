"""Deterministic test data, the same for the server and for QdrantClient(":memory:")."""

from __future__ import annotations

import random

from qdrant_client import QdrantClient, models

GENRES = ("drama", "comedy", "horror", "sci-fi")


def vectors(n: int, dim: int, seed: int = 0) -> list[list[float]]:
    rng = random.Random(seed)
    return [[round(rng.uniform(-1, 1), 6) for _ in range(dim)] for _ in range(n)]


def payload(i: int) -> dict[str, object]:
    return {"i": i, "genre": GENRES[i % len(GENRES)], "year": 1990 + i % 30, "tags": [i % 2]}


def points(n: int, dim: int, seed: int = 0, start: int = 0) -> list[models.PointStruct]:
    return [
        models.PointStruct(id=start + i, vector=v, payload=payload(start + i))
        for i, v in enumerate(vectors(n, dim, seed))
    ]


def make_collection(
    client: QdrantClient,
    name: str,
    n: int = 50,
    dim: int = 8,
    seed: int = 0,
    distance: models.Distance = models.Distance.COSINE,
) -> list[models.PointStruct]:
    client.create_collection(name, vectors_config=models.VectorParams(size=dim, distance=distance))
    pts = points(n, dim, seed)
    if pts:
        client.upsert(name, pts, wait=True)
    return pts
