"""Points and results between `qdrant_client.models` and the Edge engine, with vector checks.

Vectors of every kind are converted and checked in `vectors.py` (against the collection's
`VectorSizes`), so that a wrong vector is a typed `InvalidInput` with Qdrant's wording
before anything reaches the shard.  A point may carry any subset of the named vectors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from typing import Any, TypeVar

import qdrant_edge as edge
from qdrant_client import models

from crewchief.engine.convert.ids import client_point_id, edge_point_id
from crewchief.engine.convert.values import json_payload
from crewchief.engine.convert.vectors import (
    DENSE,
    VectorSizes,
    as_sizes,
    check_vector,
    client_vector,
    dense_rows,
    edge_vector,
    query_vector,
)
from crewchief.errors import InvalidInput

_MAX_ID = 2**64 - 1
M = TypeVar("M", bound=models.BaseModel)

__all__ = [
    "check_vector",
    "client_record",
    "client_scored",
    "client_vector",
    "constructed",
    "edge_points",
    "edge_vector",
    "query_vector",
]


def edge_points(
    sizes: Mapping[str, int], points: models.Batch | Iterable[models.PointStruct]
) -> list[edge.Point]:
    """Validate and convert an upsert body (a Batch or PointStructs) to Edge points.

    The bulk path checks every vector of a name at once (`dense_rows`: numpy arrays and
    lists of lists, no per-element Python); whatever it cannot vouch for goes through the
    per-point path, which raises the error of the first bad point, as always."""
    sizes = as_sizes(sizes)
    if isinstance(points, models.Batch):
        bulk = _bulk_batch(sizes, points)
        return bulk if bulk is not None else _per_point(sizes, list(_batch_points(points)))
    structs = [
        p if isinstance(p, models.PointStruct) else models.PointStruct.model_validate(p)
        for p in points
    ]
    ids = _bulk_ids([p.id for p in structs])
    vectors = _bulk_vectors(sizes, [p.vector for p in structs]) if ids is not None else None
    if ids is None or vectors is None:
        return _per_point(sizes, structs)
    return _edge_points(ids, vectors, [p.payload for p in structs])


def _per_point(sizes: VectorSizes, points: Iterable[models.PointStruct]) -> list[edge.Point]:
    # point by point, so that the first bad point's error is the one raised
    checked = [(edge_point_id(p.id), edge_vector(sizes, p.vector), p.payload) for p in points]
    if not checked:
        return []
    ids, vectors, payloads = map(list, zip(*checked, strict=True))
    return _edge_points(ids, vectors, payloads)


def _edge_points(ids: list[Any], vectors: list[Any], payloads: list[Any]) -> list[edge.Point]:
    """Edge points; payloads the edge cannot take as they are (a datetime, a UUID) are sent
    as the JSON qdrant-client would send a server, so in-process and served writes agree."""
    try:
        return list(map(edge.Point, ids, vectors, payloads))
    except TypeError:
        return list(map(edge.Point, ids, vectors, json_payload(payloads, "upsert")))


def _bulk_ids(ids: list[Any]) -> list[Any] | None:
    """The ids in the edge's form, or None if one is bad (the per-point path names it)."""
    if all(type(i) is int for i in ids) and (not ids or 0 <= min(ids) <= max(ids) <= _MAX_ID):
        return ids
    try:
        return [edge_point_id(i) for i in ids]
    except InvalidInput:
        return None


def _bulk_vectors(sizes: VectorSizes, vectors: list[Any]) -> list[Any] | None:
    """Per-point vectors (one dense vector each, or maps of dense named ones) checked a
    name at a time; None when any needs the per-point path."""
    if all(type(v) is list for v in vectors):
        return dense_rows(sizes[""], vectors) if sizes.kind("") == DENSE else None
    if not all(type(v) is dict for v in vectors):
        return None
    names: set[str] = set().union(*vectors)
    for name in names:
        if sizes.kind(name) != DENSE:
            return None
        if dense_rows(sizes[name], [v[name] for v in vectors if name in v]) is None:
            return None
    return vectors


def _bulk_batch(sizes: VectorSizes, batch: models.Batch) -> list[edge.Point] | None:
    """A Batch (whose vectors may be numpy arrays) converted a name at a time."""
    n = len(batch.ids)
    ids = _bulk_ids(list(batch.ids))
    payloads: list[Any] = list(batch.payloads) if batch.payloads else [None] * n
    if ids is None or len(payloads) != n or not all(type(p) is dict or p is None for p in payloads):
        return None
    vectors: Any = batch.vectors
    if isinstance(vectors, dict):
        if not vectors or any(len(vs) != n for vs in vectors.values()):
            return None
        by_name = {}
        for name, rows in vectors.items():
            if sizes.kind(str(name)) != DENSE:
                return None
            checked = dense_rows(sizes[str(name)], rows)
            if checked is None:
                return None
            by_name[str(name)] = checked
        per_point: list[Any] = [
            dict(zip(by_name, row, strict=True)) for row in zip(*by_name.values(), strict=True)
        ]
    else:
        if len(vectors) != n or sizes.kind("") != DENSE:
            return None
        checked = dense_rows(sizes[""], vectors)
        if checked is None:
            return None
        per_point = checked
    return _edge_points(ids, per_point, payloads)


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
        if payload is not None and not isinstance(payload, dict):
            raise InvalidInput(
                f"Wrong input: the payload of point {pid} is a {type(payload).__name__}",
                hint="A payload is a JSON object (a dict)",
            )
        yield models.PointStruct.model_construct(id=pid, vector=vec, payload=payload)


def client_record(r: edge.Record) -> models.Record:
    """An edge record as qdrant-client's Record."""
    return constructed(
        models.Record,
        {
            "id": client_point_id(r.id),
            "payload": r.payload,
            "vector": client_vector(r.vector),
            "shard_key": None,
            "order_value": None,
        },
        _RECORD_SET,
    )


def client_scored(p: edge.ScoredPoint, vectors: bool | list[str] = True) -> models.ScoredPoint:
    """An edge scored point as qdrant-client's ScoredPoint; `vectors` a list: only those
    names (the edge's MMR returns the vectors it compared), False: none."""
    vector = client_vector(p.vector) if vectors else None  # client_vector(None) is None
    if isinstance(vectors, list) and isinstance(vector, dict):
        vector = {k: v for k, v in vector.items() if k in vectors}
    return constructed(
        models.ScoredPoint,
        {
            "id": client_point_id(p.id),
            "version": p.version,
            "score": p.score,
            "payload": p.payload,
            "vector": vector,
            "shard_key": None,
            "order_value": p.order_value,
        },
        _SCORED_SET,
    )


_RECORD_SET = frozenset({"id", "payload", "vector"})
_SCORED_SET = frozenset({"id", "version", "score", "payload", "vector", "order_value"})
_new = object.__new__
_set = object.__setattr__


def constructed(cls: type[M], values: dict[str, Any], fields_set: Set[str]) -> M:
    """A model of values that are valid by construction (the engine's answers), built as
    `model_construct` builds one, without its Python walk over the fields: a ScoredPoint
    in 0.65 µs (`model_construct` 3.0 µs, validated 1.5 µs and more with its payload).
    `values` holds every field, `fields_set` the ones set explicitly;
    tests/engine/test_convert.py compares it with pydantic's own construction."""
    model = _new(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", set(fields_set))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model
