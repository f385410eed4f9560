"""The whole `query_points` request for the edge, and its answer for qdrant-client.

    root (prefetch.py)  ->  ids to read (resolve.py)  ->  edge.QueryRequest  ->  ScoredPoints

What is the server's and not the shard's is done here, as Qdrant's collection layer does:
an offset is ignored for a random sample without prefetches (its order is not stable),
the ids a query names are excluded from its answer, and the edge's refusals become
Qdrant's 400s.  Answers carry `order_value` for order_by queries, and vectors only as
`with_vectors` asks (the edge's MMR returns the vectors it compared).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from crewchief.engine.convert.filters import edge_filter
from crewchief.engine.convert.ids import client_point_id
from crewchief.engine.convert.payload import edge_with_payload
from crewchief.engine.convert.values import edge_values
from crewchief.engine.convert.vectors import client_vector, edge_with_vectors
from crewchief.engine.query.params import search_params
from crewchief.engine.query.prefetch import edge_prefetches, edge_scoring
from crewchief.engine.query.resolve import Resolved, exclude_referenced, stages
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
    if offset is not None and (isinstance(offset, bool) or not isinstance(offset, int)):
        raise InvalidInput(f"Bad offset {offset!r}: it must be an integer", hint="offset=0")
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


def has_formula(top: Stage) -> bool:
    return any(isinstance(s.query, models.FormulaQuery) for s in stages(top))


@contextmanager
def edge_refusals(formula: bool = False) -> Iterator[None]:
    """The edge's refusal of a query as Qdrant's 400; anything else as an engine failure.

    Edge 0.9.0 reports every failure to evaluate a formula (a payload value of the wrong
    type, a non-finite result) as a cancelled operation, its reason lost: with a formula in
    the request that is the formula's failure, which Qdrant answers with a 400."""
    try:
        yield
    except Exception as exc:
        text = str(exc)
        if formula and text.startswith(_CANCELLED):
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
    return [_scored(p, wanted) for p in found]


def _scored(p: edge.ScoredPoint, wanted: bool | list[str]) -> models.ScoredPoint:
    vector = None
    if wanted and p.vector is not None:
        vector = client_vector(p.vector)
        if isinstance(wanted, list) and isinstance(vector, dict):
            vector = {k: v for k, v in vector.items() if k in wanted}
    return models.ScoredPoint(
        id=client_point_id(p.id),
        version=p.version,
        score=p.score,
        payload=p.payload,
        vector=vector,
        order_value=p.order_value,
    )
