"""The bulk point path (Batch, numpy, many PointStructs) against the per-point path it
replaces: the same points stored, and the same typed error for the same bad input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from qdrant_client import models

from crewchief import Engine
from crewchief.engine.convert.points import _per_point, edge_points
from crewchief.engine.convert.vectors import VectorSizes
from crewchief.errors import CrewchiefError

DIM = 4
SIZES = VectorSizes({"": DIM})
NAMED = VectorSizes({"a": DIM, "b": 2})


def vectors(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def as_tuples(points: list[Any]) -> list[tuple[Any, Any, Any]]:
    return [(p.id, p.vector, p.payload) for p in points]


def per_point(sizes: VectorSizes, batch: models.Batch) -> list[Any]:
    vs = batch.vectors
    n = len(batch.ids)
    rows = [{k: v[i] for k, v in vs.items()} for i in range(n)] if isinstance(vs, dict) else vs
    pays = batch.payloads or [None] * n
    structs = [
        models.PointStruct.model_construct(id=i, vector=v, payload=p)
        for i, v, p in zip(batch.ids, rows, pays, strict=True)
    ]
    return _per_point(sizes, structs)


def test_batch_lists_numpy_and_structs_convert_alike() -> None:
    x = vectors(50)
    ids = list(range(50))
    pays = [{"i": i} for i in ids]
    lists = models.Batch(ids=ids, vectors=x.tolist(), payloads=pays)
    expected = as_tuples(per_point(SIZES, lists))
    assert as_tuples(edge_points(SIZES, lists)) == expected
    numpy_batch = models.Batch.model_construct(ids=ids, vectors=x, payloads=pays)
    assert as_tuples(edge_points(SIZES, numpy_batch)) == expected
    structs = [models.PointStruct(id=i, vector=x[i].tolist(), payload=pays[i]) for i in ids]
    assert as_tuples(edge_points(SIZES, structs)) == expected


def test_named_batch_converts_like_per_point() -> None:
    a, b = vectors(10), vectors(10, 2, seed=1)
    batch = models.Batch(ids=list(range(10)), vectors={"a": a.tolist(), "b": b.tolist()})
    expected = as_tuples(per_point(NAMED, batch))
    assert as_tuples(edge_points(NAMED, batch)) == expected
    numpy_batch = models.Batch.model_construct(ids=list(range(10)), vectors={"a": a, "b": b})
    assert as_tuples(edge_points(NAMED, numpy_batch)) == expected


def _bad_rows() -> list[tuple[str, Any]]:
    good = vectors(3).tolist()
    return [
        ("nan", [good[0], [math.nan] * DIM, good[2]]),
        ("short", [good[0], good[1][:2], good[2]]),
        ("empty", [good[0], [], good[2]]),
        ("text", [good[0], ["x"] * DIM, good[2]]),
        ("multi", [good[0], [good[1], good[1]], good[2]]),
        ("sparse", [good[0], {"indices": [1], "values": [0.5]}, good[2]]),
    ]


@pytest.mark.parametrize(("case", "rows"), _bad_rows(), ids=[c for c, _ in _bad_rows()])
def test_bad_vectors_raise_the_per_point_error(case: str, rows: list[Any]) -> None:
    batch = models.Batch.model_construct(ids=[1, 2, 3], vectors=rows, payloads=None)
    with pytest.raises(CrewchiefError) as per:
        per_point(SIZES, batch)
    with pytest.raises(CrewchiefError) as bulk:
        edge_points(SIZES, batch)
    assert (type(bulk.value), str(bulk.value)) == (type(per.value), str(per.value))
    structs = [
        models.PointStruct.model_construct(id=i, vector=r)
        for i, r in zip([1, 2, 3], rows, strict=True)
    ]
    with pytest.raises(CrewchiefError) as many:
        edge_points(SIZES, structs)
    assert (type(many.value), str(many.value)) == (type(per.value), str(per.value))


@pytest.mark.parametrize(
    "arr",
    [
        np.full((3, DIM), np.nan, dtype=np.float32),
        np.zeros((3, DIM + 1), dtype=np.float32),
        np.zeros((3, DIM, 2), dtype=np.float32),
    ],
    ids=["nan", "dim", "3d"],
)
def test_bad_numpy_raises_the_per_point_error(arr: np.ndarray) -> None:
    batch = models.Batch.model_construct(ids=[1, 2, 3], vectors=arr, payloads=None)
    with pytest.raises(CrewchiefError) as per:
        per_point(SIZES, batch)
    with pytest.raises(CrewchiefError) as bulk:
        edge_points(SIZES, batch)
    assert (type(bulk.value), str(bulk.value)) == (type(per.value), str(per.value))


def test_bad_ids_and_counts_are_refused() -> None:
    x = vectors(2).tolist()
    for ids in ([1, -1], [1, "not-a-uuid"]):
        with pytest.raises(CrewchiefError, match="Invalid point id"):
            edge_points(SIZES, models.Batch.model_construct(ids=ids, vectors=x, payloads=None))
    with pytest.raises(CrewchiefError, match="Batch has 3 ids"):
        edge_points(SIZES, models.Batch.model_construct(ids=[1, 2, 3], vectors=x, payloads=None))


def test_upload_collection_takes_numpy_as_local_mode(engine: Engine) -> None:
    params = models.VectorParams(size=DIM, distance=models.Distance.DOT)
    engine.create_collection("np", vectors_config=params)
    x = vectors(150)
    engine.upload_collection("np", x, payload=({"i": i} for i in range(150)), ids=range(150))
    engine.create_collection("lists", vectors_config=params)
    engine.upsert("lists", [models.PointStruct(id=i, vector=x[i].tolist()) for i in range(150)])
    assert engine.count("np").count == 150
    got = engine.retrieve("np", [0, 149], with_vectors=True)
    assert [r.payload for r in got] == [{"i": 0}, {"i": 149}]
    ref = engine.retrieve("lists", [0, 149], with_vectors=True)
    assert [r.vector for r in got] == [r.vector for r in ref]
    q = x[7]
    found = engine.query_points("np", q, limit=3).points
    assert [p.id for p in found] == [p.id for p in engine.query_points("lists", q, limit=3).points]
    # no ids: random UUIDs; a short id iterable ends the upload (zip's rule)
    engine.upload_collection("np", x[:5], ids=None)
    engine.upload_collection("np", x[:5], ids=[1000, 1001])
    assert engine.count("np").count == 150 + 5 + 2
    with pytest.raises(CrewchiefError, match="NaN"):
        engine.upload_collection("np", np.full((2, DIM), np.nan), ids=[5000, 5001])
    assert engine.count("np").count == 157


def test_results_are_plain_models(engine: Engine) -> None:
    engine.create_collection("r", vectors_config=models.VectorParams(size=DIM, distance="Dot"))
    engine.upsert(
        "r", models.Batch(ids=[1, 2], vectors=vectors(2).tolist(), payloads=[{"a": 1}] * 2)
    )
    rec = engine.retrieve("r", [1], with_vectors=True)[0]
    assert rec == models.Record(id=1, payload={"a": 1}, vector=rec.vector)
    hit = engine.query_points("r", vectors(1)[0].tolist(), limit=1).points[0]
    assert models.ScoredPoint.model_validate(hit.model_dump()) == hit
