"""Pure builders of payload, vector and batch updates: QdrantClient arguments -> `Update`s.

Every argument is checked and converted here, before a shard is touched, so bad input
changes nothing.  An `Update` is one edge operation; when it names points that must
exist (set_payload, update_vectors, ... by ids), the engine looks them up when it
applies it, writes the points it finds and then answers Qdrant's 404 for the first one
it did not (`ids` and `make`), as Qdrant and local mode do.

    selection          a points selector (ids, PointIdsList, Filter, FilterSelector)
    payload            set / overwrite / delete / clear payload
    vectors            update_vectors (with update_filter), delete_vectors
    batch              batch_update_points: every UpdateOperation kind, one list per op
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from crewchief.engine import requests
from crewchief.engine.convert.filters import edge_filter
from crewchief.engine.convert.ids import edge_point_id
from crewchief.engine.convert.payload import check_payload_key
from crewchief.engine.convert.points import edge_vector
from crewchief.engine.convert.values import edge_values, json_payload
from crewchief.engine.convert.vectors import validation_error
from crewchief.errors import InvalidInput

# Qdrant's texts (lib/api rest schema validation, collection point_ops, shard payload_ops)
EMPTY_UPDATE = "Bad request: Empty update request"
NO_POINTS_TO_UPDATE = "must specify points to update"
NO_VECTOR_NAMES = "must specify vector names to delete"
NO_SELECTOR = "Either list of point ids or filter must be provided"
_SELECTOR_HINT = "Pass a list of ids, PointIdsList, Filter or FilterSelector"


@dataclass(frozen=True)
class Update:
    """One edge operation.  `ids` (None: none to check) are points that must exist: the
    engine applies `make(found)` to those it holds, then reports the first missing one."""

    make: Callable[[list[Any]], edge.UpdateOperation]
    ids: list[Any] | None = None
    upserted: int = 0
    must_exist: bool = True  # False for delete: a missing id is not an error there

    @classmethod
    def fixed(cls, op: edge.UpdateOperation, upserted: int = 0) -> Update:
        return cls(make=lambda _found: op, upserted=upserted)


# -- selection -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """Points by id (`ids`) or by filter (`flt`): exactly one of them is set."""

    ids: list[Any] | None
    flt: edge.Filter | None


def selection(points: Any) -> Selection:
    """A points selector in any form QdrantClient takes."""
    if isinstance(points, models.PointIdsList):
        points = points.points
    if isinstance(points, models.FilterSelector):
        points = points.filter
    if isinstance(points, list | tuple):
        return Selection([edge_point_id(i) for i in points], None)
    if isinstance(points, models.Filter | dict):
        flt = edge_filter(points)
        assert flt is not None
        return Selection(None, flt)
    raise InvalidInput(f"Unsupported points selector {type(points).__name__}", hint=_SELECTOR_HINT)


def _by(
    sel: Selection,
    by_ids: Callable[[list[Any]], edge.UpdateOperation],
    by_filter: Callable[[edge.Filter], edge.UpdateOperation],
    where: str,
) -> Update:
    """The Update for `sel`: built once now, so that the edge checks its values up front."""
    with edge_values(where), _type_errors(where):
        if sel.ids is not None:
            by_ids(sel.ids)
            return Update(make=by_ids, ids=sel.ids)
        assert sel.flt is not None
        return Update.fixed(by_filter(sel.flt))


@contextmanager
def _type_errors(where: str) -> Iterator[None]:
    """A value the edge cannot take (a payload that is not JSON) as bad input."""
    try:
        yield
    except TypeError as exc:
        raise InvalidInput(
            f"{where}: {exc}", hint="Payloads are JSON objects: {'key': value, ...}"
        ) from exc


# -- payload -------------------------------------------------------------------------------------


def _payload(payload: Any, where: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidInput(
            f"{where}: the payload must be a JSON object, got {type(payload).__name__}",
            hint="e.g. payload={'city': 'Berlin'}",
        )
    body: dict[str, Any] = json_payload(payload, where)
    return body


def set_payload(payload: Any, points: Any, key: str | None) -> Update:
    """`key`: a path to set the payload under (`meta.tags`), as in Qdrant."""
    body = _payload(payload, "set_payload")
    if key is not None:
        check_payload_key(key, "set_payload")
    sel = selection(points)
    return _by(
        sel,
        lambda ids: edge.UpdateOperation.set_payload(ids, body, key=key),
        lambda flt: edge.UpdateOperation.set_payload_by_filter(flt, body, key=key),
        "set_payload",
    )


def overwrite_payload(payload: Any, points: Any) -> Update:
    body = _payload(payload, "overwrite_payload")
    return _by(
        selection(points),
        lambda ids: edge.UpdateOperation.overwrite_payload(ids, body),
        lambda flt: edge.UpdateOperation.overwrite_payload_by_filter(flt, body),
        "overwrite_payload",
    )


def delete_payload(keys: Sequence[str], points: Any) -> Update:
    if isinstance(keys, str) or not all(isinstance(k, str) for k in keys):
        raise InvalidInput("delete_payload: keys must be a list of strings", hint="keys=['city']")
    names = [check_payload_key(k, "delete_payload") for k in keys]
    return _by(
        selection(points),
        lambda ids: edge.UpdateOperation.delete_payload(ids, names),
        lambda flt: edge.UpdateOperation.delete_payload_by_filter(flt, names),
        "delete_payload",
    )


def clear_payload(points: Any) -> Update:
    return _by(
        selection(points),
        edge.UpdateOperation.clear_payload,
        edge.UpdateOperation.clear_payload_by_filter,
        "clear_payload",
    )


# -- vectors -------------------------------------------------------------------------------------


def check_update_vectors(points: Sequence[Any]) -> None:
    """What Qdrant refuses while it parses update_vectors (before the collection)."""
    if len(points) == 0:
        raise InvalidInput(f"Validation error: points: {NO_POINTS_TO_UPDATE}", hint="points=[...]")
    for i, p in enumerate(points):
        vector = p.get("vector") if isinstance(p, dict) else getattr(p, "vector", None)
        if isinstance(vector, dict) and not vector:
            raise validation_error(
                f"points[{i}].vector",
                "must specify vectors to update for point",
                "Give the point's new vectors by name, e.g. vector={'image': [...]}",
            )


def check_delete_vectors(vectors: Sequence[str]) -> None:
    """What Qdrant refuses while it parses delete_vectors (before the collection)."""
    if isinstance(vectors, str) or len(vectors) == 0:
        raise InvalidInput(f"Validation error: vector: {NO_VECTOR_NAMES}", hint="vectors=['']")


def update_vectors(
    sizes: dict[str, int], points: Sequence[Any], update_filter: models.Filter | None
) -> Update:
    """New vectors for existing points (the ones not given stay); with `update_filter`,
    only the points matching it are changed, as in Qdrant."""
    check_update_vectors(points)
    converted: list[tuple[Any, edge.PointVectors]] = []
    for p in points:
        if not isinstance(p, models.PointVectors):
            p = models.PointVectors.model_validate(p)
        pid = edge_point_id(p.id)
        with edge_values("update_vectors"):
            converted.append((pid, edge.PointVectors(pid, edge_vector(sizes, p.vector))))
    condition = edge_filter(update_filter)

    def make(found: list[Any]) -> edge.UpdateOperation:
        keep = set(found)
        chosen = [pv for pid, pv in converted if pid in keep]
        return edge.UpdateOperation.update_vectors(chosen, condition=condition)

    return Update(make=make, ids=[pid for pid, _pv in converted])


def delete_vectors(names: set[str], vectors: Sequence[str], points: Any) -> list[Update]:
    """Drop the named vectors (`""`: the unnamed one) of the selected points.  The
    selection is checked before the names, as in Qdrant."""
    check_delete_vectors(vectors)
    sel = selection(points)
    wanted = [str(v) for v in vectors]
    for v in wanted:
        if v not in names:
            known = ", ".join(repr(n) for n in sorted(names)) or "none"
            raise InvalidInput(
                f"Wrong input: Not existing vector name error: {v}",
                hint=f"This collection's vectors: {known}",
            )
    return [
        _by(
            sel,
            lambda ids: edge.UpdateOperation.delete_vectors(ids, wanted),
            lambda flt: edge.UpdateOperation.delete_vectors_by_filter(flt, wanted),
            "delete_vectors",
        )
    ]


# -- batch ---------------------------------------------------------------------------------------


def _pick(points: Any, flt: Any, where: str) -> Any:
    """The selector of a SetPayload/DeletePayload body: ids win over the filter (as in Qdrant)."""
    if points is not None:
        return points
    if flt is not None:
        return flt
    raise InvalidInput(f"{where}: {NO_SELECTOR}", hint="Give `points` or `filter`")


def _delete_points(selector: Any) -> Update:
    sel = selection(selector)
    if sel.ids is not None:
        return Update(make=edge.UpdateOperation.delete_points, ids=sel.ids, must_exist=False)
    return Update.fixed(requests.delete_op(selector))


def operation_updates(sizes: dict[str, int], names: set[str], op: Any) -> list[Update]:
    """One UpdateOperation of batch_update_points (a model or its JSON form) as Updates."""
    if isinstance(op, dict):
        op = _operation_model(op)
    if isinstance(op, models.UpsertOperation):
        body = op.upsert
        points = body.points if isinstance(body, models.PointsList) else body.batch
        edge_op, n = requests.upsert_op(sizes, points, body.update_filter, body.update_mode)
        return [Update.fixed(edge_op, upserted=n)]
    if isinstance(op, models.DeleteOperation):
        return [_delete_points(op.delete)]
    if isinstance(op, models.SetPayloadOperation):
        sp = op.set_payload
        return [set_payload(sp.payload, _pick(sp.points, sp.filter, "set_payload"), sp.key)]
    if isinstance(op, models.OverwritePayloadOperation):
        sp = op.overwrite_payload  # Qdrant ignores `key` here
        return [overwrite_payload(sp.payload, _pick(sp.points, sp.filter, "overwrite_payload"))]
    if isinstance(op, models.DeletePayloadOperation):
        dp = op.delete_payload
        return [delete_payload(dp.keys, _pick(dp.points, dp.filter, "delete_payload"))]
    if isinstance(op, models.ClearPayloadOperation):
        return [clear_payload(op.clear_payload)]
    if isinstance(op, models.UpdateVectorsOperation):
        uv = op.update_vectors
        return [update_vectors(sizes, uv.points, uv.update_filter)]
    if isinstance(op, models.DeleteVectorsOperation):
        return delete_vectors_both(names, op.delete_vectors)
    raise InvalidInput(
        f"Unsupported update operation {type(op).__name__}",
        hint="Use models.UpsertOperation, SetPayloadOperation, UpdateVectorsOperation, ...",
    )


def delete_vectors_both(names: set[str], body: models.DeleteVectors) -> list[Update]:
    """A DeleteVectors body: by filter, then by ids, when it has both (as Qdrant does)."""
    check_delete_vectors(body.vector)
    if body.points is None and body.filter is None:
        raise InvalidInput(f"delete_vectors: {NO_SELECTOR}", hint="Give `points` or `filter`")
    out: list[Update] = []
    if body.filter is not None:
        out += delete_vectors(names, body.vector, body.filter)
    if body.points is not None:
        out += delete_vectors(names, body.vector, list(body.points))
    return out


_OPERATION_MODELS: tuple[type[Any], ...] = (
    models.UpsertOperation,
    models.DeleteOperation,
    models.SetPayloadOperation,
    models.OverwritePayloadOperation,
    models.DeletePayloadOperation,
    models.ClearPayloadOperation,
    models.UpdateVectorsOperation,
    models.DeleteVectorsOperation,
)


def _operation_model(op: dict[str, Any]) -> Any:
    for cls in _OPERATION_MODELS:
        key = next(iter(cls.model_fields))
        if key in op:
            try:
                return cls.model_validate(op)
            except ValueError as exc:
                raise InvalidInput(f"Bad {key} operation: {exc}", hint="See Qdrant's API") from exc
    raise InvalidInput(f"Not an update operation: {op!r}", hint="e.g. {'upsert': {...}}")


def batch_updates(
    sizes: dict[str, int], names: set[str], operations: Sequence[Any]
) -> list[list[Update]]:
    """Every operation of a batch, all checked before any is applied."""
    return [operation_updates(sizes, names, op) for op in operations]
