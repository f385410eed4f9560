"""Point ids used as vectors, and `lookup_from`: what Qdrant's collection layer resolves.

The edge takes vectors only.  A query may name points instead (nearest by id, recommend,
discover, context and relevance feedback examples), in this collection or, with
`lookup_from`, in another one and another vector name.  As Qdrant does
(collection/src/common/fetch_vectors.rs), every stage's ids are gathered first
(`wanted`), read in one retrieve per collection (the engine does that), then replaced by
their vectors (`Resolved.vector_of`), and the ids looked up in the searched collection
are excluded from the answer (`exclude_referenced`).

    a missing point                               404 No point with id ID found
    a point without that vector                   404 Vector with name "..." for point not found
    lookup_from a missing collection (any stage)  404 Collection NAME not found
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import qdrant_edge as edge
from qdrant_client import models

from crewchief.engine.convert.ids import edge_point_id
from crewchief.engine.convert.vectors import check_query_vector
from crewchief.engine.query.kinds import VectorOf, inputs, is_point_id, is_vector_query
from crewchief.engine.query.stage import Stage
from crewchief.errors import InvalidInput, NotFound

Key = str | None  # the collection ids are read from; None: the searched one


def _key(stage: Stage, collection: str) -> tuple[Key, str]:
    """Where a stage's ids are read: (collection, vector name), Qdrant's rule: lookup_from's
    vector, else the stage's `using`."""
    using = stage.using
    lookup = stage.lookup_from
    if lookup is None:
        return None, using
    name = using if lookup.vector is None else lookup.vector
    return (None if lookup.collection == collection else lookup.collection), name


def stages(root: Stage) -> Iterator[Stage]:
    yield root
    for p in root.prefetch:
        yield from stages(p)


def lookup_collections(root: Stage) -> list[str]:
    """The collections the stages' `lookup_from` name, which must exist (Qdrant checks them
    before it reads anything, whether or not a stage names a point)."""
    names = (s.lookup_from.collection for s in stages(root) if s.lookup_from is not None)
    return list(dict.fromkeys(names))


def _ids(stage: Stage) -> list[Any]:
    if not is_vector_query(stage.query):
        return []
    return [edge_point_id(_id(v)) for v in inputs(stage.query) if is_point_id(v)]


def _id(v: Any) -> int | str:
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, str):
        try:
            return str(uuid.UUID(v))
        except ValueError:
            raise InvalidInput(
                f"Wrong input: {v!r} is neither a vector nor a point id (integer or UUID)",
                hint="Query with a vector, an integer id or a UUID",
            ) from None
    assert isinstance(v, int)
    return v


def wanted(root: Stage, collection: str) -> dict[Key, tuple[list[Any], list[str]]]:
    """{collection: (edge ids, vector names)} to read, one retrieve each."""
    out: dict[Key, tuple[set[Any], set[str]]] = {}
    for stage in stages(root):
        ids = _ids(stage)
        if ids:
            key, name = _key(stage, collection)
            have = out.setdefault(key, (set(), set()))
            have[0].update(ids)
            have[1].add(name)
    return {k: (list(ids), sorted(names)) for k, (ids, names) in out.items()}


def exclude_referenced(root: Stage, collection: str) -> models.Filter | None:
    """The root filter, plus must_not has_id for the ids read from the searched collection
    (at any depth): Qdrant never answers a query with its own examples."""
    ids: list[Any] = []
    for stage in stages(root):
        if _key(stage, collection)[0] is None:
            ids.extend(_id(v) for v in inputs(stage.query) if is_point_id(v))
    if not ids:
        return root.filter
    unique = list(dict.fromkeys(ids))
    must_not: list[Any] = [models.HasIdCondition(has_id=unique)]
    if root.filter is None:
        return models.Filter(must_not=must_not)
    return models.Filter(must=[root.filter], must_not=must_not)


class Resolved:
    """The vectors of the points a request names, as the reads returned them."""

    def __init__(self) -> None:
        self._vectors: dict[tuple[Key, Any], Any] = {}

    def add(self, key: Key, records: list[edge.Record]) -> None:
        for r in records:
            self._vectors[(key, edge_point_id(_id_of(r.id)))] = r.vector

    def check_found(self, root: Stage, collection: str) -> None:
        """Every point the stages name was read (Qdrant checks this before it converts any
        stage): the first missing one, in the order the request names them, is a 404."""
        for stage in stages(root):
            key = _key(stage, collection)[0]
            for v in inputs(stage.query) if is_vector_query(stage.query) else ():
                if is_point_id(v) and (key, edge_point_id(_id(v))) not in self._vectors:
                    raise NotFound(
                        f"No point with id {_id(v)} found",
                        hint="Query by the id of a stored point, or by a vector",
                    )

    def vector_of(self, sizes: Mapping[str, int], stage: Stage, collection: str) -> VectorOf:
        """A stage's VectorOf: each input, as a vector checked against its `using`."""
        key, name = _key(stage, collection)
        using = stage.using

        def vec(v: Any) -> Any:
            if is_point_id(v):
                found = self._stored(key, edge_point_id(_id(v)), name)
                if found is None:
                    raise NotFound(
                        f'Vector with name "{name}" for point not found',
                        hint="The point has no vector of this name",
                    )
                v = found
            elif isinstance(v, np.ndarray):
                v = v.tolist()
            return checked_query_vector(sizes, using, v)

        return vec

    def _stored(self, key: Key, pid: Any, name: str) -> Any:
        if (key, pid) not in self._vectors:
            return None
        v = self._vectors[(key, pid)]
        if isinstance(v, dict):
            return v.get(name)
        return v if name == "" else None


def checked_query_vector(sizes: Mapping[str, int], using: str, v: Any) -> Any:
    """A query's vector checked for `using` (its kind, size, NaN and infinity)."""
    return _finite(check_query_vector(sizes, using, v))


def _finite(v: Any) -> Any:
    """NaN is refused by the vector checks; infinity too, for a query (JSON cannot carry it,
    so only an in-process caller can send it, and a score of inf answers nothing)."""
    values = v.values if isinstance(v, edge.SparseVector) else v
    try:  # the common case in one C loop: a sum of finite floats is finite (or overflows)
        if math.isfinite(sum(values)):
            return v
    except TypeError:  # the rows of a multi-vector
        pass
    if not np.isfinite(np.asarray(values, dtype=np.float64)).all():
        raise InvalidInput(
            "Wrong input: Vector contains infinite values",
            hint="Query with finite numbers",
        )
    return v


def _id_of(pid: Any) -> int | str:
    return str(pid) if isinstance(pid, uuid.UUID) else pid
