"""The whole `query_points` request for the edge, and its answer for qdrant-client.

    root (prefetch.py)  ->  ids to read (resolve.py)  ->  edge.QueryRequest  ->  ScoredPoints
    a search by one given vector (`plain_vector`)  ->  `plain_request`  ->  ScoredPoints

What is the server's and not the shard's is done here, as Qdrant's collection layer does:
an offset is ignored for a random sample without prefetches (its order is not stable),
the ids a query names are excluded from its answer, and the edge's refusals become
Qdrant's 400s.  Answers carry `order_value` for order_by queries, and vectors only as
`with_vectors` asks (the edge's MMR returns the vectors it compared).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import qdrant_edge as edge
from qdrant_client import models

from crewchief.engine.convert.filters import edge_filter
from crewchief.engine.convert.payload import edge_with_payload
from crewchief.engine.convert.points import client_scored
from crewchief.engine.convert.values import edge_values
from crewchief.engine.convert.vectors import edge_with_vectors
from crewchief.engine.query.params import search_params
from crewchief.engine.query.prefetch import edge_prefetches, edge_scoring
from crewchief.engine.query.resolve import (
    Resolved,
    checked_query_vector,
    exclude_referenced,
    stages,
)
from crewchief.engine.query.stage import Stage
from crewchief.errors import EngineFailure, InvalidInput

_CANCELLED = "Operation cancelled"
# the edge's refusals of a request (Qdrant's 400s), by how their text begins
_BAD_REQUEST = ("No range index", "Bad request")
_WRONG_INPUT = (
    "Validation failed",
    "Not existing vector name",
    "Vector dimension error",
    "Wrong input",
    "Conversion between",
    "Invalid",
    "Expected",
)


def query_request(
    sizes: Mapping[str, int],
    top: Stage,
    resolved: Resolved,
    collection: str,
    offset: int | None,
    with_payload: Any,
    with_vectors: bool | Sequence[str] | None,
) -> edge.QueryRequest:
    _check_offset(offset)
    if isinstance(top.query, models.SampleQuery) and not top.prefetch:
        offset = None  # Qdrant: a random sample has no stable order to skip into
    with edge_values("query"):
        return edge.QueryRequest(
            limit=top.limit,
            offset=offset,
            query=edge_scoring(sizes, top, resolved, collection),
            prefetches=edge_prefetches(sizes, top, resolved, collection),
            with_vector=edge_with_vectors(with_vectors),
            with_payload=edge_with_payload(with_payload),
            filter=edge_filter(exclude_referenced(top, collection)),
            score_threshold=top.score_threshold,
            params=search_params(top.params),
        )


def plain_vector(query: Any, prefetch: Any, lookup_from: Any) -> Any:
    """The query's vector if the request is one nearest search by a vector it gives (no
    prefetch, point id, lookup or MMR), else None: the common case, for `plain_request`."""
    if prefetch is not None or lookup_from is not None:
        return None
    if isinstance(query, models.NearestQuery):
        if query.mmr is not None:
            return None
        query = query.nearest
    if isinstance(query, np.ndarray):
        return query.tolist()
    if type(query) is list or isinstance(query, models.SparseVector):
        return query
    return None


def plain_request(
    sizes: Mapping[str, int],
    vector: Any,
    using: str | None,
    query_filter: Any,
    params: Any,
    score_threshold: float | None,
    limit: int,
    offset: int | None,
    with_payload: Any,
    with_vectors: bool | Sequence[str] | None,
) -> edge.QueryRequest:
    """`query_request` for a `plain_vector`, with the same checks in the same order but no
    stage tree to build and walk: ~50 µs less a query, a tenth of a search at 100k points
    (bench/RESULTS.md).  tests/engine/test_query_checks.py holds both paths to one answer."""
    _check_offset(offset)
    with edge_values("query"):
        return edge.QueryRequest(
            limit=limit,
            offset=offset,
            query=edge.Query.Nearest(
                checked_query_vector(sizes, using or "", vector), using or None
            ),
            prefetches=None,
            with_vector=edge_with_vectors(with_vectors),
            with_payload=edge_with_payload(with_payload),
            filter=edge_filter(query_filter),
            score_threshold=score_threshold,
            params=search_params(params),
        )


def _check_offset(offset: Any) -> None:
    if offset is not None and (isinstance(offset, bool) or not isinstance(offset, int)):
        raise InvalidInput(f"Bad offset {offset!r}: it must be an integer", hint="offset=0")


def has_formula(top: Stage) -> bool:
    return any(isinstance(s.query, models.FormulaQuery) for s in stages(top))


def edge_refusals(formula: bool = False) -> _EdgeRefusals:
    """The edge's refusal of a query as Qdrant's 400; anything else as an engine failure.

    Edge 0.9.0 reports every failure to evaluate a formula (a payload value of the wrong
    type, a non-finite result) as a cancelled operation, its reason lost: with a formula in
    the request that is the formula's failure, which Qdrant answers with a 400."""
    return _EdgeRefusals(formula)


class _EdgeRefusals:
    """edge_refusals' context (a class: a generator-based one costs 1 µs a query)."""

    def __init__(self, formula: bool) -> None:
        self.formula = formula

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if not isinstance(exc, Exception):
            return
        text = str(exc)
        if self.formula and text.startswith(_CANCELLED):
            raise InvalidInput(
                "Wrong input: the formula could not be evaluated for a point: a payload value "
                "of the wrong type in the payload and/or in the formula defaults, or a "
                "non-finite result",
                hint="Give `defaults` for payload keys some points lack or hold as non-numbers, "
                "and `by_zero_default` for divisions",
            ) from exc
        if text.startswith(_BAD_REQUEST):
            prefix = "" if text.startswith("Bad request") else "Bad request: "
            raise InvalidInput(prefix + text, hint=_hint(text)) from exc
        if text.startswith(_WRONG_INPUT):
            prefix = "" if text.startswith("Wrong input") else "Wrong input: "
            raise InvalidInput(prefix + text, hint=_hint(text)) from exc
        raise EngineFailure(f"Query failed: {text}") from exc


def _hint(text: str) -> str:
    if "range index" in text:
        return "Create a payload index with a range (integer, float or datetime) on the key"
    return "Check the query against Qdrant's Query API"


def client_points(
    found: list[edge.ScoredPoint], with_vectors: bool | Sequence[str] | None
) -> list[models.ScoredPoint]:
    wanted = edge_with_vectors(with_vectors)
    return [client_scored(p, wanted) for p in found]
