"""Vectors of every kind between `qdrant_client.models` and the edge, checked against the config.

A collection's vectors are dense (a list of floats), multi-vectors (a list of such lists,
compared by MaxSim) or sparse (`models.SparseVector`); `VectorSizes` says which name is
which.  Every vector is checked here, with Qdrant's status and wording, before anything
reaches the shard: the edge panics on some bad vectors (a sparse vector whose indices and
values differ in length, a ragged multi-vector) and silently stores others (NaN).

The dense path stays vectorised: one numpy conversion per vector, no per-element Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import qdrant_edge as edge
from qdrant_client import models

from crewchief.errors import InvalidInput, ValidationFailed

DENSE, MULTI, SPARSE = "dense", "multi", "sparse"
_DIM_HINT = "Embed with the model the collection was created for (see `crewchief status`)"
_KIND_HINT = {
    DENSE: "This name holds dense vectors: a list of floats",
    MULTI: "This name holds multi-vectors: a list of lists of floats",
    SPARSE: "This name holds sparse vectors: models.SparseVector(indices=[...], values=[...])",
}


class VectorSizes(dict[str, int]):
    """Dense vector name ("" for the unnamed one) -> dimension, as `vector_sizes` has always
    answered, plus which of them hold multi-vectors and which sparse names there are."""

    def __init__(
        self,
        sizes: Mapping[str, int] | None = None,
        multi: Iterable[str] = (),
        sparse: Iterable[str] = (),
    ) -> None:
        super().__init__(sizes or {})
        self.multi = frozenset(multi)
        self.sparse = frozenset(sparse)

    def kind(self, name: str) -> str | None:
        """DENSE, MULTI or SPARSE; None if the collection has no vector of that name."""
        if name in self.sparse:
            return SPARSE
        if name in self:
            return MULTI if name in self.multi else DENSE
        return None

    def names(self) -> list[str]:
        return [*self, *sorted(self.sparse)]

    @property
    def per_point(self) -> int:
        """The vectors a point can have, as the shard's `indexed_vectors_count` counts them:
        its sparse ones are indexed as they are written."""
        return len(self) + len(self.sparse)


def as_sizes(sizes: Mapping[str, int]) -> VectorSizes:
    """A plain {name: size} map (dense vectors only) as VectorSizes."""
    return sizes if isinstance(sizes, VectorSizes) else VectorSizes(sizes)


def validation_error(where: str, message: str, hint: str) -> ValidationFailed:
    """Qdrant's 422 for a body its validator refuses."""
    return ValidationFailed(f"Validation error in JSON body: [{where}: {message}]", hint=hint)


def _conversion(kind: str, got: str, name: str) -> InvalidInput:
    """Qdrant's answer to a vector of the wrong kind for its name (segment/common/mod.rs)."""
    pair = "multi" if MULTI in (kind, got) and SPARSE not in (kind, got) else "sparse"
    return InvalidInput(
        f"Wrong input: Conversion between {pair} and regular vectors failed",
        hint=f"Vector `{name or 'default'}`: {_KIND_HINT[kind]}",
    )


def _not_existing(sizes: VectorSizes, name: str) -> InvalidInput:
    known = ", ".join(repr(n) for n in sizes.names()) or "none"
    return InvalidInput(
        f"Wrong input: Not existing vector name error: {name}",
        hint=f"This collection's vectors: {known} ('' is the unnamed vector)",
    )


def _kind_of(v: Any) -> str:
    """What the value looks like: SPARSE, MULTI (rows) or DENSE."""
    if type(v) is list and v and type(v[0]) is float:  # a list of floats, without the ABCs
        return DENSE
    if isinstance(v, models.SparseVector | edge.SparseVector):
        return SPARSE
    if isinstance(v, Mapping) and set(v) == {"indices", "values"}:
        return SPARSE
    if isinstance(v, np.ndarray):
        return MULTI if v.ndim == 2 else DENSE
    if isinstance(v, Sequence) and not isinstance(v, str | bytes) and v:
        first = v[0]
        if isinstance(first, Sequence | np.ndarray) and not isinstance(first, str | bytes):
            return MULTI
    return DENSE


def _floats(v: Any, name: str) -> np.ndarray:
    """One dense vector as a 1-d float32 array: NaN, text and nesting refused."""
    try:
        arr = np.asarray(v, dtype=np.float32)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.ndim != 1:
        raise InvalidInput(
            f"Wrong input: expected a dense vector (list of floats) for vector "
            f"`{name or 'default'}`, got {type(v).__name__}",
            hint=_KIND_HINT[DENSE],
        )
    if np.isnan(arr).any():
        raise InvalidInput(
            "Wrong input: Vector contains NaN values", hint="Replace NaN before upserting"
        )
    return arr


def _dense(sizes: VectorSizes, name: str, v: Any) -> list[float]:
    if type(v) is list:
        # the common case, in C loops: sum() refuses what is not a number and propagates NaN
        try:
            total = sum(v)
        except TypeError:
            total = None
        if total is not None and total == total:
            out: list[float] = v
        else:
            out = _floats(v, name).tolist()
    else:
        out = _floats(v, name).tolist()
    if not out:
        raise validation_error("vector", "dense vector must not be empty", _DIM_HINT)
    if len(out) != sizes[name]:
        raise InvalidInput(
            f"Wrong input: Vector dimension error: expected dim: {sizes[name]}, got {len(out)}",
            hint=_DIM_HINT,
        )
    return out


def _multi(sizes: VectorSizes, name: str, v: Any) -> list[list[float]]:
    hint = "A multi-vector is a non-empty list of vectors of one dimension"
    rows = list(v) if not isinstance(v, np.ndarray) else v
    if len(rows) == 0:
        raise validation_error("data", "multi vector must not be empty", hint)
    lengths = [len(r) for r in rows]
    if 0 in lengths:
        raise validation_error("data", "all vectors must be non-empty", hint)
    bad = next((n for n in lengths if n != lengths[0]), None)
    if bad is not None:
        raise validation_error(
            "data",
            f"all vectors must have the same dimension, found vector with dimension {bad}",
            hint,
        )
    arr = np.asarray(rows, dtype=np.float32) if not isinstance(rows, np.ndarray) else rows
    arr = arr.astype(np.float32, copy=False)
    if np.isnan(arr).any():
        raise InvalidInput(
            "Wrong input: Vector contains NaN values", hint="Replace NaN before upserting"
        )
    if arr.shape[1] != sizes[name]:
        raise InvalidInput(
            f"Wrong input: Vector dimension error: expected dim: {sizes[name]}, got {arr.shape[1]}",
            hint=_DIM_HINT,
        )
    out: list[list[float]] = arr.tolist()
    return out


def _sparse(v: Any) -> edge.SparseVector:
    if isinstance(v, edge.SparseVector):
        v = models.SparseVector(indices=list(v.indices), values=list(v.values))
    elif not isinstance(v, models.SparseVector):
        v = models.SparseVector.model_validate(v)
    hint = "A sparse vector's indices are unique, one value each"
    if len(v.indices) != len(v.values):
        raise validation_error("values", "must be the same length as indices", hint)
    if len(set(v.indices)) != len(v.indices):
        raise validation_error("indices", "must be unique", hint)
    if any(i < 0 or i > 0xFFFFFFFF for i in v.indices):
        raise InvalidInput(
            "Wrong input: sparse vector indices must be unsigned 32-bit integers",
            hint="Indices are 0 .. 4294967295",
        )
    if any(x != x for x in v.values):
        raise InvalidInput(
            "Wrong input: Vector contains NaN values", hint="Replace NaN before upserting"
        )
    return edge.SparseVector(list(v.indices), [float(x) for x in v.values])


def dense_rows(size: int, rows: Any) -> list[Any] | None:
    """Many dense vectors of one name at once, in the edge's form (lists of floats), or
    None when any of them needs a closer look (`check_vector` then finds its error).

    Vectorised: a 2-d numpy array is checked by shape and `np.isnan`; a list of lists by
    its rows' lengths and one C-level `sum` over every row (which refuses what is not a
    number and propagates NaN), so no Python code runs per element."""
    if isinstance(rows, np.ndarray):
        if rows.ndim != 2 or rows.shape[1] != size or rows.dtype.kind not in "fiu":
            return None
        arr = rows.astype(np.float32, copy=False)
        if np.isnan(arr).any():
            return None
        out: list[Any] = arr.tolist()
        return out
    if not isinstance(rows, list) or not all(type(r) is list for r in rows):
        return None
    if rows and set(map(len, rows)) != {size}:
        return None
    try:
        total = sum(map(sum, rows))
    except TypeError:
        return None
    return rows if total == total else None


def check_vector(sizes: Mapping[str, int], name: str, vector: Any) -> Any:
    """`vector` in the edge's form if the collection has a vector `name` of its kind and size:
    a list of floats, a list of lists (a dense vector for a multi-vector name is one row, as
    in Qdrant) or an `edge.SparseVector`."""
    sizes = as_sizes(sizes)
    if isinstance(vector, list | np.ndarray) and len(vector) == 0:
        # Qdrant reads `[]` as an empty dense vector, and its validator refuses that first
        raise validation_error("vector", "dense vector must not be empty", _DIM_HINT)
    kind = sizes.kind(name)
    if kind is None:
        raise _not_existing(sizes, name)
    got = _kind_of(vector)
    if kind == SPARSE:
        if got != SPARSE:
            raise _conversion(kind, got, name)
        return _sparse(vector)
    if got == SPARSE:
        raise _conversion(kind, got, name)
    if kind == MULTI:
        return _multi(sizes, name, [vector] if got == DENSE else vector)
    if got == MULTI:
        raise _conversion(kind, got, name)
    return _dense(sizes, name, vector)


def check_query_vector(sizes: Mapping[str, int], name: str, vector: Any) -> Any:
    """`check_vector` for a query's input: Qdrant validates no query vector's length
    (`VectorInput`), so `[]` meets the collection's checks: a 400, not the write's 422."""
    if isinstance(vector, list | np.ndarray) and len(vector) == 0:
        sizes = as_sizes(sizes)
        kind = sizes.kind(name)
        if kind is None:
            raise _not_existing(sizes, name)
        if kind == SPARSE:
            raise _conversion(kind, DENSE, name)
        raise InvalidInput(
            f"Wrong input: Vector dimension error: expected dim: {sizes[name]}, got 0",
            hint=_DIM_HINT,
        )
    return check_vector(sizes, name, vector)


def check_vector_name(sizes: Mapping[str, int], name: str) -> None:
    """Qdrant's 400 for a vector name the collection does not have."""
    sizes = as_sizes(sizes)
    if sizes.kind(name) is None:
        raise _not_existing(sizes, name)


def edge_vector(sizes: Mapping[str, int], vector: Any) -> Any:
    """A point's vectors (one unnamed vector, or a map of named ones, any of them absent)."""
    if isinstance(vector, Mapping) and _kind_of(vector) != SPARSE:
        return {str(name): check_vector(sizes, str(name), v) for name, v in vector.items()}
    return check_vector(sizes, "", vector)


def client_vector(v: Any) -> Any:
    """An edge record's vectors in qdrant-client's types (SparseVector, lists of lists)."""
    if v is None or isinstance(v, list):
        return v
    if isinstance(v, edge.SparseVector):
        return client_sparse(v)
    return {
        name: client_sparse(x) if isinstance(x, edge.SparseVector) else x for name, x in v.items()
    }


def client_sparse(v: edge.SparseVector) -> models.SparseVector:
    # the edge's values are valid by construction: no re-validation
    return models.SparseVector.model_construct(
        indices=list(v.indices), values=[float(x) for x in v.values]
    )


def query_vector(sizes: Mapping[str, int], query: Any, using: str | None) -> edge.Query:
    """A nearest-neighbour query of any kind: a dense vector or numpy array, a multi-vector
    (list of lists) or a `models.SparseVector`, for the vector named `using`."""
    if isinstance(query, models.NearestQuery):
        if query.mmr is not None:
            raise InvalidInput(
                "Nearest query with mmr is not supported by the embedded engine yet",
                hint="Query without mmr",
            )
        query = query.nearest
    sparse_query = isinstance(query, models.SparseVector)
    if (
        query is None
        or isinstance(query, int | str)
        or (isinstance(query, models.BaseModel) and not sparse_query)
    ):
        raise InvalidInput(
            f"Query of type {type(query).__name__} is not supported by the embedded engine yet",
            hint="Query with a vector: dense, multi (list of lists) or models.SparseVector",
        )
    vector = check_vector(sizes, using or "", query)
    return edge.Query.Nearest(vector, using=using) if using else edge.Query.Nearest(vector)


def edge_with_vectors(v: bool | Sequence[str] | None) -> bool | list[str]:
    """A `with_vectors` selector for the edge: all, none, or these names."""
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    return [str(x) for x in v]
