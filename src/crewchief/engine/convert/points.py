"""Points and results between `qdrant_client.models` and the Edge engine, with vector checks.

Vectors of every kind are converted and checked in `vectors.py` (against the collection's
`VectorSizes`), so that a wrong vector is a typed `InvalidInput` with Qdrant's wording
before anything reaches the shard.  A point may carry any subset of the named vectors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from crewchief.engine.convert.ids import client_point_id, edge_point_id
from crewchief.engine.convert.vectors import (
    check_vector,
    client_vector,
    edge_vector,
    query_vector,
)
from crewchief.errors import InvalidInput

__all__ = [
    "check_vector",
    "client_record",
    "client_scored",
    "client_vector",
    "edge_points",
    "edge_vector",
    "query_vector",
]


def edge_points(
    sizes: Mapping[str, int], points: models.Batch | Iterable[models.PointStruct]
) -> list[edge.Point]:
    """Validate and convert an upsert body (a Batch or PointStructs) to Edge points."""
    if isinstance(points, models.Batch):
        points = list(_batch_points(points))
    out = []
    for p in points:
        if not isinstance(p, models.PointStruct):
            p = models.PointStruct.model_validate(p)
        out.append(
            edge.Point(
                id=edge_point_id(p.id),
                vector=edge_vector(sizes, p.vector),
                payload=p.payload,
            )
        )
    return out


def _batch_points(batch: models.Batch) -> Iterable[models.PointStruct]:
    n = len(batch.ids)
    vectors = batch.vectors
    payloads: list[Any] = list(batch.payloads) if batch.payloads else [None] * n
    if isinstance(vectors, dict):
        short = {k: len(vs) for k, vs in vectors.items() if len(vs) != n}
        if short:
            raise InvalidInput(
                f"Wrong input: Batch has {n} ids but vectors {short} (name: count)",
                hint="Every named vector list needs one vector per id",
            )
        per_point: list[Any] = [{k: vs[i] for k, vs in vectors.items()} for i in range(n)]
    else:
        per_point = list(vectors)
    if len(per_point) != n or len(payloads) != n:
        raise InvalidInput(
            f"Batch has {n} ids but {len(per_point)} vectors and {len(payloads)} payloads",
            hint="ids, vectors and payloads must have the same length",
        )
    for pid, vec, payload in zip(batch.ids, per_point, payloads, strict=True):
        yield models.PointStruct.model_construct(id=pid, vector=vec, payload=payload)


def client_record(r: edge.Record) -> models.Record:
    return models.Record(
        id=client_point_id(r.id), payload=r.payload, vector=client_vector(r.vector)
    )


def client_scored(p: edge.ScoredPoint) -> models.ScoredPoint:
    return models.ScoredPoint(
        id=client_point_id(p.id),
        version=p.version,
        score=p.score,
        payload=p.payload,
        vector=client_vector(p.vector),
    )
