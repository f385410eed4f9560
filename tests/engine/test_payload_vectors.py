"""Payload and vector operations and batches on the real engine, compared with local mode.

Every step runs on the engine and on `QdrantClient(":memory:")`; both must answer the
same way (or both refuse) and hold the same points afterwards.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from qdrant_client import QdrantClient, models

from crewchief import Engine
from crewchief.errors import CollectionNotFound, InvalidInput, NotFound, ValidationFailed

NAMED = {
    "a": models.VectorParams(size=2, distance=models.Distance.DOT),
    "b": models.VectorParams(size=3, distance=models.Distance.DOT),
}
UNNAMED = models.VectorParams(size=2, distance=models.Distance.DOT)
U = str(uuid.UUID(int=7))


def n_ge(n: int) -> models.Filter:
    return models.Filter(must=[models.FieldCondition(key="n", range=models.Range(gte=n))])


@pytest.fixture
def pair(engine: Engine) -> Iterator[tuple[Engine, QdrantClient]]:
    local = QdrantClient(":memory:")
    for c in (engine, local):
        c.create_collection("c", vectors_config=NAMED)
        c.upsert(
            "c",
            [
                models.PointStruct(
                    id=i,
                    vector={"a": [1.0, float(i)], "b": [0.0, 1.0, float(i)]},
                    payload={"n": i, "meta": {"x": i}, "tags": ["t"]},
                )
                for i in range(1, 7)
            ]
            + [models.PointStruct(id=U, vector={"a": [1.0, 1.0]}, payload={"n": 0})],
        )
    yield engine, local
    local.close()


def points(c: Any) -> list[tuple[Any, Any, Any]]:
    records, _ = c.scroll("c", limit=100, with_vectors=True)
    return sorted(((r.id, r.payload, r.vector) for r in records), key=str)


def same(pair: tuple[Engine, QdrantClient], step: Callable[[Any], Any]) -> Any:
    """Run `step` on both; both succeed or both fail, and the points are equal after."""
    engine, local = pair
    outcomes = []
    for c in (engine, local):
        try:
            outcomes.append(("ok", step(c)))
        except Exception as exc:
            outcomes.append(("error", exc))
    assert [o[0] for o in outcomes] == [o[0] for o in outcomes[:1]] * 2, outcomes
    assert points(engine) == points(local)
    return outcomes[0][1]


STEPS: dict[str, Callable[[Any], Any]] = {
    "set by ids": lambda c: c.set_payload("c", {"k": 1, "n": 10}, [1, 2]),
    "set by filter": lambda c: c.set_payload("c", {"k": 2}, n_ge(4)),
    "set by FilterSelector": lambda c: c.set_payload(
        "c", {"k": 3}, models.FilterSelector(filter=n_ge(5))
    ),
    "set by PointIdsList": lambda c: c.set_payload(
        "c", {"k": 4}, models.PointIdsList(points=[3, U])
    ),
    "set under a key": lambda c: c.set_payload("c", {"deep": True}, [3], key="meta.y"),
    "set under a new key": lambda c: c.set_payload("c", {"v": 1}, [4], key="fresh.path"),
    "set under a key by filter": lambda c: c.set_payload("c", {"z": 0}, n_ge(6), key="meta"),
    "overwrite by ids": lambda c: c.overwrite_payload("c", {"only": 1}, [5]),
    "overwrite by filter": lambda c: c.overwrite_payload("c", {"only": 2}, n_ge(6)),
    "delete keys by ids": lambda c: c.delete_payload("c", ["n", "meta.x"], [1]),
    "delete keys by filter": lambda c: c.delete_payload("c", ["tags"], n_ge(2)),
    "clear by ids": lambda c: c.clear_payload("c", [2]),
    "clear by filter": lambda c: c.clear_payload("c", n_ge(6)),
    "update one named vector": lambda c: c.update_vectors(
        "c", [models.PointVectors(id=1, vector={"a": [9.0, 9.0]})]
    ),
    "update two, uuid id": lambda c: c.update_vectors(
        "c", [models.PointVectors(id=U, vector={"a": [2.0, 2.0], "b": [1.0, 1.0, 1.0]})]
    ),
    "update with update_filter": lambda c: c.update_vectors(
        "c",
        [
            models.PointVectors(id=2, vector={"a": [7.0, 7.0]}),
            models.PointVectors(id=5, vector={"a": [8.0, 8.0]}),
        ],
        update_filter=n_ge(4),
    ),
    "delete a vector by ids": lambda c: c.delete_vectors("c", ["b"], [4]),
    "delete a vector by filter": lambda c: c.delete_vectors("c", ["b"], n_ge(5)),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_each_operation_matches_local_mode(pair: tuple[Engine, QdrantClient], step: str) -> None:
    before = points(pair[0])
    result = same(pair, STEPS[step])
    assert isinstance(result, models.UpdateResult)
    assert result.status == models.UpdateStatus.COMPLETED
    assert points(pair[0]) != before  # each step changes something


def test_all_operations_in_sequence(pair: tuple[Engine, QdrantClient]) -> None:
    for step in STEPS.values():
        same(pair, step)


REFUSED: dict[str, Callable[[Any], Any]] = {
    "set, a missing id": lambda c: c.set_payload("c", {"z": 3}, [3, 99, 4]),
    "overwrite, a missing id": lambda c: c.overwrite_payload("c", {"z": 3}, [99, 1]),
    "delete keys, a missing id": lambda c: c.delete_payload("c", ["n"], [2, 98]),
    "clear, a missing id": lambda c: c.clear_payload("c", [97, 3]),
    "update vectors, a missing id": lambda c: c.update_vectors(
        "c",
        [
            models.PointVectors(id=1, vector={"a": [5.0, 5.0]}),
            models.PointVectors(id=42, vector={"a": [6.0, 6.0]}),
        ],
    ),
    "delete vectors, a missing id": lambda c: c.delete_vectors("c", ["a"], [2, 41]),
}


@pytest.mark.parametrize("step", list(REFUSED))
def test_a_missing_point_is_404_after_the_others(
    pair: tuple[Engine, QdrantClient], step: str
) -> None:
    """As Qdrant (and local mode): the points held are written, then 404 for the first
    missing id."""
    before = points(pair[0])
    with pytest.raises(NotFound, match=r"^No point with id \d+ found$"):
        REFUSED[step](pair[0])
    with pytest.raises(KeyError):
        REFUSED[step](pair[1])
    assert points(pair[0]) == points(pair[1])
    assert points(pair[0]) != before  # the points it holds were written


BAD: dict[str, Callable[[Any], Any]] = {
    "empty id list": lambda c: c.set_payload("c", {"k": 1}, []),
    "empty id list, clear": lambda c: c.clear_payload("c", []),
    "empty id list, delete": lambda c: c.delete("c", []),
    "unknown vector name": lambda c: c.delete_vectors("c", ["a", "zz"], [1]),
    "no vector names": lambda c: c.delete_vectors("c", [], [1]),
    "no points to update": lambda c: c.update_vectors("c", []),
    "wrong dimension": lambda c: c.update_vectors(
        "c", [models.PointVectors(id=1, vector={"a": [1.0, 2.0, 3.0]})]
    ),
    "unknown name in update": lambda c: c.update_vectors(
        "c",
        [
            models.PointVectors(id=1, vector={"a": [5.0, 5.0]}),
            models.PointVectors(id=2, vector={"nope": [1.0, 2.0]}),
        ],
    ),
    "bad key path": lambda c: c.delete_payload("c", ["a..b"], [1]),
    "no vectors for a point": lambda c: c.update_vectors(
        "c",
        [models.PointVectors(id=1, vector={"a": [5.0, 5.0]}), models.PointVectors(id=2, vector={})],
    ),
}


@pytest.mark.parametrize("step", list(BAD))
def test_bad_input_is_refused_and_changes_nothing(
    pair: tuple[Engine, QdrantClient], step: str
) -> None:
    before = points(pair[0])
    with pytest.raises(InvalidInput):
        BAD[step](pair[0])
    assert points(pair[0]) == before
    if step == "no vectors for a point":  # Qdrant's 422, with its path and text
        with pytest.raises(ValidationFailed, match=r"\[points\[1\]\.vector: must specify"):
            BAD[step](pair[0])
    if step not in ("bad key path", "no vectors for a point"):  # local mode differs there
        with pytest.raises(ValueError):
            BAD[step](pair[1])


def test_empty_update_request_text(engine: Engine) -> None:
    engine.create_collection("c", vectors_config=UNNAMED)
    with pytest.raises(InvalidInput, match="^Bad request: Empty update request$"):
        engine.clear_payload("c", [])
    with pytest.raises(CollectionNotFound):  # the collection is looked up first
        engine.clear_payload("nope", [])


def test_unnamed_vector_update_and_delete(engine: Engine) -> None:
    local = QdrantClient(":memory:")
    for c in (engine, local):
        c.create_collection("c", vectors_config=UNNAMED)
        c.upsert("c", [models.PointStruct(id=i, vector=[1.0, float(i)]) for i in (1, 2)])
        c.update_vectors("c", [models.PointVectors(id=1, vector=[3.0, 4.0])])
        c.delete_vectors("c", [""], [2])
    got = engine.retrieve("c", [1, 2], with_vectors=True)
    assert got == local.retrieve("c", [1, 2], with_vectors=True)
    assert got[0].vector == [3.0, 4.0]
    local.close()


def test_batch_of_every_kind_matches_local_mode(pair: tuple[Engine, QdrantClient]) -> None:
    ops: list[Any] = [
        models.UpsertOperation(
            upsert=models.PointsList(
                points=[models.PointStruct(id=20, vector={"a": [1.0, 2.0]}, payload={"n": 20})]
            )
        ),
        models.UpsertOperation(
            upsert=models.PointsBatch(
                batch=models.Batch(ids=[1], vectors={"a": [[4.0, 4.0]]}, payloads=[{"n": 1}]),
                update_mode=models.UpdateMode.UPDATE_ONLY,
            )
        ),
        models.DeleteOperation(delete=models.PointIdsList(points=[6])),
        models.SetPayloadOperation(
            set_payload=models.SetPayload(payload={"s": 1}, points=[1, 2], key="meta")
        ),
        models.SetPayloadOperation(set_payload=models.SetPayload(payload={"f": 1}, filter=n_ge(3))),
        models.OverwritePayloadOperation(
            overwrite_payload=models.SetPayload(payload={"o": 1}, points=[3])
        ),
        models.DeletePayloadOperation(
            delete_payload=models.DeletePayload(keys=["tags"], filter=n_ge(4))
        ),
        models.ClearPayloadOperation(clear_payload=models.PointIdsList(points=[4])),
        models.UpdateVectorsOperation(
            update_vectors=models.UpdateVectors(
                points=[models.PointVectors(id=5, vector={"b": [3.0, 3.0, 3.0]})]
            )
        ),
        models.DeleteVectorsOperation(
            delete_vectors=models.DeleteVectors(vector=["b"], points=[2])
        ),
        models.DeleteOperation(delete=models.FilterSelector(filter=n_ge(20))),
    ]
    results = same(pair, lambda c: c.batch_update_points("c", ops))
    assert len(results) == len(ops)
    assert all(r.status == models.UpdateStatus.COMPLETED for r in results)
    ids = [r.operation_id for r in results]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_batch_with_bad_input_changes_nothing(pair: tuple[Engine, QdrantClient]) -> None:
    before = points(pair[0])
    ops = [
        models.SetPayloadOperation(set_payload=models.SetPayload(payload={"s": 1}, points=[1])),
        models.UpdateVectorsOperation(
            update_vectors=models.UpdateVectors(
                points=[models.PointVectors(id=1, vector={"a": [1.0]})]  # wrong size
            )
        ),
    ]
    with pytest.raises(InvalidInput, match="dimension"):
        pair[0].batch_update_points("c", ops)
    assert points(pair[0]) == before


def test_batch_stops_at_an_apply_time_failure(pair: tuple[Engine, QdrantClient]) -> None:
    """As in Qdrant: the operations before the failing one stay applied, none after."""
    ops = [
        models.SetPayloadOperation(set_payload=models.SetPayload(payload={"s": 1}, points=[1])),
        models.ClearPayloadOperation(clear_payload=models.PointIdsList(points=[])),
        models.SetPayloadOperation(set_payload=models.SetPayload(payload={"s": 2}, points=[2])),
    ]
    engine, local = pair
    with pytest.raises(InvalidInput, match="Empty update request"):
        engine.batch_update_points("c", ops)
    with pytest.raises(ValueError):
        local.batch_update_points("c", ops)
    assert points(engine) == points(local)
    assert engine.retrieve("c", [1])[0].payload["s"] == 1  # type: ignore[index]
    assert "s" not in (engine.retrieve("c", [2])[0].payload or {})


def test_writes_survive_a_restart(tmp_path: Path) -> None:
    with Engine(tmp_path / "d") as engine:
        engine.create_collection("c", vectors_config=NAMED)
        engine.upsert("c", [models.PointStruct(id=1, vector={"a": [1.0, 1.0]}, payload={"n": 1})])
        engine.set_payload("c", {"deep": 1}, [1], key="meta")
        engine.update_vectors(
            "c", [models.PointVectors(id=1, vector={"b": [1.0, 2.0, 3.0], "a": [0.5, 0.5]})]
        )
        engine.delete_vectors("c", ["a"], [1])
        engine.delete_payload("c", ["n"], [1])
        expected = engine.retrieve("c", [1], with_vectors=True)
    with Engine(tmp_path / "d") as engine:
        got = engine.retrieve("c", [1], with_vectors=True)
    assert got == expected
    assert got[0].payload == {"meta": {"deep": 1}}
    assert got[0].vector == {"b": [1.0, 2.0, 3.0]}


def test_conditional_update_by_payload_version(engine: Engine) -> None:
    """The optimistic-concurrency pattern update_filter exists for."""
    engine.create_collection("c", vectors_config=UNNAMED)
    engine.upsert("c", [models.PointStruct(id=1, vector=[1.0, 0.0], payload={"version": 1})])
    stale = models.Filter(
        must=[models.FieldCondition(key="version", match=models.MatchValue(value=0))]
    )
    engine.update_vectors("c", [models.PointVectors(id=1, vector=[0.0, 1.0])], update_filter=stale)
    assert engine.retrieve("c", [1], with_vectors=True)[0].vector == [1.0, 0.0]
    fresh = models.Filter(
        must=[models.FieldCondition(key="version", match=models.MatchValue(value=1))]
    )
    engine.update_vectors("c", [models.PointVectors(id=1, vector=[0.0, 1.0])], update_filter=fresh)
    assert engine.retrieve("c", [1], with_vectors=True)[0].vector == [0.0, 1.0]


def test_payload_values_are_written_as_qdrant_client_sends_them(engine: Engine) -> None:
    """Datetimes, dates and UUIDs in a payload are stored as the JSON qdrant-client sends a
    server (so a datetime range filter finds them); a value JSON cannot hold is refused."""
    when = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    local = QdrantClient(":memory:")
    for c in (engine, local):
        c.create_collection("t", vectors_config=models.VectorParams(size=2, distance="Dot"))
        c.upsert("t", [models.PointStruct(id=1, vector=[1.0, 0.0], payload={"at": when})])
        c.upsert(
            "t", models.Batch(ids=[2], vectors=[[0.0, 1.0]], payloads=[{"u": uuid.UUID(int=7)}])
        )
        c.set_payload("t", {"day": dt.date(2024, 5, 2)}, points=[2])
    stored = {r.id: r.payload for r in engine.retrieve("t", [1, 2])}
    assert stored == {
        1: {"at": "2024-05-01T12:30:00Z"},
        2: {"u": "00000000-0000-0000-0000-000000000007", "day": "2024-05-02"},
    }
    recent = models.Filter(
        must=[models.FieldCondition(key="at", range=models.DatetimeRange(gte=when))]
    )
    assert (
        engine.count("t", count_filter=recent).count
        == local.count("t", count_filter=recent).count
        == 1
    )
    with pytest.raises(InvalidInput, match="a payload value is not JSON"):
        engine.upsert("t", [models.PointStruct(id=3, vector=[1.0, 1.0], payload={"x": object()})])
    with pytest.raises(InvalidInput, match="a payload value is not JSON"):
        engine.set_payload("t", {"x": object()}, points=[1])
    assert engine.count("t").count == 2
    assert engine.retrieve("t", [1])[0].payload == {"at": "2024-05-01T12:30:00Z"}
    local.close()
