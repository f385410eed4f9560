"""Points and results between `qdrant_client.models` and the Edge engine, with vector checks.

Vectors are checked here, against the collection's config, so that a wrong size is a
typed `InvalidInput` with Qdrant's wording before anything reaches the shard.  Only
dense vectors so far: sparse vectors, multi-vectors and other datatypes convert (and
are checked) here too, or in a `vectors.py` beside this module once they outgrow it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import qdrant_edge as edge
from qdrant_client import models

from crewchief.engine.convert.ids import client_point_id, edge_point_id
from crewchief.errors import InvalidInput

_DIM_HINT = "Embed with the model the collection was created for (see `crewchief status`)"


def _as_floats(v: Any) -> list[float]:
    if isinstance(v, np.ndarray):
        return [float(x) for x in v.astype(np.float32).ravel()]
    if isinstance(v, Sequence) and not isinstance(v, str | bytes):
        try:
            return [float(x) for x in v]
        except (TypeError, ValueError):
            pass
    raise InvalidInput(
        f"Wrong input: expected a dense vector (list of floats), got {type(v).__name__}",
        hint="Sparse and multi-vectors are not supported by the embedded engine",
    )


def check_vector(sizes: dict[str, int], name: str, vector: Any) -> list[float]:
    """Return `vector` as floats if the collection has a vector `name` of that size."""
    if name not in sizes:
        shown = name or "(unnamed default)"
        known = ", ".join(repr(n) for n in sizes) or "none"
        raise InvalidInput(
            f"Wrong input: Not existing vector name error: {shown}",
            hint=f"This collection's vectors: {known}",
        )
    floats = _as_floats(vector)
    if len(floats) != sizes[name]:
        raise InvalidInput(
            f"Wrong input: Vector dimension error: expected dim: {sizes[name]}, got {len(floats)}",
            hint=_DIM_HINT,
        )
    return floats


def edge_vector(sizes: dict[str, int], vector: Any) -> list[float] | dict[str, Any]:
    if isinstance(vector, dict):
        return {str(name): check_vector(sizes, str(name), v) for name, v in vector.items()}
    return check_vector(sizes, "", vector)


def edge_points(
    sizes: dict[str, int], points: models.Batch | Iterable[models.PointStruct]
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
        per_point: list[Any] = [{k: vs[i] for k, vs in vectors.items()} for i in range(n)]
    else:
        per_point = list(vectors)
    if len(per_point) != n or len(payloads) != n:
        raise InvalidInput(
            f"Batch has {n} ids but {len(per_point)} vectors and {len(payloads)} payloads",
            hint="ids, vectors and payloads must have the same length",
        )
    for pid, vec, payload in zip(batch.ids, per_point, payloads, strict=True):
        yield models.PointStruct(id=pid, vector=vec, payload=payload)


def client_vector(v: Any) -> Any:
    if v is None or isinstance(v, list):
        return v
    return dict(v)


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


def query_vector(sizes: dict[str, int], query: Any, using: str | None) -> edge.Query:
    """A nearest-neighbour query from a vector, numpy array or NearestQuery."""
    if isinstance(query, models.NearestQuery):
        query = query.nearest
    if query is None or isinstance(query, int | str | models.BaseModel):
        raise InvalidInput(
            f"Query of type {type(query).__name__} is not supported by the embedded engine",
            hint="Query with a dense vector (list of floats or a numpy array)",
        )
    name = using or ""
    floats = check_vector(sizes, name, query)
    return edge.Query.Nearest(floats, using=using) if using else edge.Query.Nearest(floats)
