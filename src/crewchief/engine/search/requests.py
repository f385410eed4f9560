"""Facet, order_by and distance-matrix requests for the edge, and what the edge refuses.

    order = query_order(config, query, using)        # how a query's scores rank
    edge.ScrollRequest(order_by=edge_order_by(order_by), ...)
    with edge_refusals("facet"): shard.facet(facet_request(key, flt, limit, exact))

Pure: no shard is touched here.  The messages are Qdrant 1.19's.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from crewchief.core.vectors import UNNAMED, dense_vectors, sparse_vectors
from crewchief.engine.convert.filters import edge_filter
from crewchief.engine.convert.payload import check_payload_key
from crewchief.engine.search.grouping import Order
from crewchief.errors import InvalidInput, ValidationFailed

# Edge raises these as plain exceptions; Qdrant answers them as bad input (400)
_BAD_INPUT = (
    "No appropriate index for faceting",
    "No range index for `order_by` key",
)

OFFSET_WITH_ORDER_BY = (
    "Cannot use an `offset` when using `order_by`. The alternative for paging is to use "
    "`order_by.start_from` and a filter to exclude the IDs that you've already seen for "
    "the `order_by.start_from` value"
)

_INDEX_HINT = "Create a payload index on the key first (create_payload_index)"


@contextmanager
def edge_refusals(where: str) -> Iterator[None]:
    """The edge's refusals that Qdrant answers as bad input (a payload index is missing)."""
    try:
        yield
    except Exception as exc:
        if str(exc).startswith(_BAD_INPUT):
            raise InvalidInput(str(exc), hint=_INDEX_HINT) from exc
        raise


def range_error(where: str, value: Any, minimum: int) -> ValidationFailed:
    return ValidationFailed(
        f"Validation error in JSON body: [{where}: value {value} invalid, "
        f"must be {minimum} or larger]",
        hint=f"{where} must be at least {minimum}",
    )


def check_at_least(where: str, value: Any, minimum: int) -> None:
    """Qdrant's `#[validate(range(min = ...))]` on an integer field."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{where} must be an integer, got {value!r}", hint=f"{where}=10")
    if value < minimum:
        raise range_error(where, value, minimum)


# -- ordering ------------------------------------------------------------------------------------

_SMALL_BETTER = {models.Distance.EUCLID, models.Distance.MANHATTAN}


def distance_of(config: models.CollectionConfig, using: str | None) -> models.Distance | None:
    """The distance of vector `using` (sparse vectors score by dot product)."""
    name = using or UNNAMED
    dense = dense_vectors(config)
    if name in dense:
        return dense[name].distance
    if name in sparse_vectors(config):
        return models.Distance.DOT
    return None


def query_order(config: models.CollectionConfig, query: Any, using: str | None) -> Order:
    """How `query`'s scores rank, as Qdrant's `query_result_order`: raw distances by the
    vector's distance, every computed score (fusion, formula, recommend by best score or
    sum of scores, discover, context, feedback) larger-better, order_by by its direction,
    no query by id; a random sample and MMR keep the query's own order."""
    if query is None:
        return Order.SMALL_BETTER
    if isinstance(query, models.OrderByQuery):
        return _order_by_direction(query.order_by)
    if isinstance(query, models.SampleQuery):
        return Order.NONE
    if isinstance(query, models.NearestQuery) and query.mmr is not None:
        return Order.NONE
    distance_scored = not isinstance(query, models.BaseModel) or isinstance(
        query, models.NearestQuery | models.SparseVector
    )
    if isinstance(query, models.RecommendQuery):
        strategy = query.recommend.strategy
        distance_scored = strategy in (None, models.RecommendStrategy.AVERAGE_VECTOR)
    if distance_scored:
        return (
            Order.SMALL_BETTER
            if distance_of(config, using) in _SMALL_BETTER
            else (Order.LARGE_BETTER)
        )
    return Order.LARGE_BETTER


def _order_by_direction(order_by: Any) -> Order:
    if isinstance(order_by, models.OrderBy) and order_by.direction == models.Direction.DESC:
        return Order.LARGE_BETTER
    return Order.SMALL_BETTER


# -- order_by ------------------------------------------------------------------------------------


def client_order_by(order_by: Any) -> models.OrderBy:
    """`order_by` as QdrantClient takes it (a key, an OrderBy or its dict form)."""
    if isinstance(order_by, str):
        return models.OrderBy(key=order_by)
    if isinstance(order_by, models.OrderBy):
        return order_by
    try:
        return models.OrderBy.model_validate(order_by)
    except ValueError as exc:
        raise InvalidInput(
            f"Bad order_by {order_by!r}", hint="order_by='key' or models.OrderBy(key=...)"
        ) from exc


def _start_from(value: Any) -> int | float | str | None:
    if value is None or isinstance(value, int | float | str):
        return value
    if isinstance(value, dt.datetime):
        if value.utcoffset() is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise InvalidInput(
        f"Bad order_by.start_from {value!r}",
        hint="A number, or a datetime (RFC 3339 text) for a datetime index",
    )


def edge_order_by(order_by: Any) -> edge.OrderBy:
    ob = client_order_by(order_by)
    key = check_payload_key(ob.key, "order_by")
    direction = edge.Direction.Desc if ob.direction == models.Direction.DESC else None
    if ob.direction == models.Direction.ASC:
        direction = edge.Direction.Asc
    return edge.OrderBy(key=key, direction=direction, start_from=_start_from(ob.start_from))


# -- facets --------------------------------------------------------------------------------------


FACET_OVERSAMPLE_FACTOR = 4  # Qdrant's: an approximate facet asks its shards for more
FACET_MIN_OVERSAMPLE = 128


def facet_request(key: str, facet_filter: Any, limit: int, exact: bool) -> edge.FacetRequest:
    """The edge's facet request; an approximate one oversampled as Qdrant's collection does
    (max(limit * 4, 128) values), `top_hits` then keeps `limit`."""
    check_at_least("limit", limit, 1)
    asked = limit if exact else max(limit * FACET_OVERSAMPLE_FACTOR, FACET_MIN_OVERSAMPLE)
    return edge.FacetRequest(
        key=check_payload_key(key, "facet"),
        limit=asked,
        exact=bool(exact),
        filter=edge_filter(facet_filter),
    )


def facet_value(value: Any) -> Any:
    """A facet hit's value as Qdrant answers it (UUIDs as hyphenated text)."""
    return str(value) if isinstance(value, uuid.UUID) else value


def ties_cut(found: Iterable[Any], asked: int, limit: int) -> bool:
    """The edge answered `asked` values (so it may have left some out) and the `limit`-th
    most frequent shares its count with the least frequent it kept: values of that count
    may have been left out, and which ones is not by value as Qdrant's."""
    counts = sorted((h.count for h in found), reverse=True)
    if len(counts) < asked or len(counts) < limit:
        return False
    return counts[limit - 1] == counts[-1]


def top_hits(hits: list[models.FacetValueHit], limit: int) -> list[models.FacetValueHit]:
    """Qdrant's FacetResponse::top_hits: most frequent first, ties by value ascending (one
    facet's values share one type: one payload index answers it)."""
    return sorted(hits, key=lambda h: (-h.count, h.value))[:limit]


# -- distance matrix -----------------------------------------------------------------------------


def missing_vector(config: models.CollectionConfig, name: str) -> InvalidInput | None:
    """Qdrant's `check_vector_exists`: None if the collection has vector `name`."""
    dense, sparse = dense_vectors(config), sparse_vectors(config)
    if name in dense or name in sparse:
        return None
    available = [*dense, *sparse]
    hint = "Pass using= one of the collection's vector names"
    if not available:
        return InvalidInput("Vectors are not configured in this collection", hint=hint)
    if available == [UNNAMED]:
        return InvalidInput(
            f"Vector with name {name} is not configured in this collection", hint=hint
        )
    names = ", ".join(available)
    if name == UNNAMED:
        return InvalidInput(
            f"Collection requires specified vector name in the request, available names: {names}",
            hint=hint,
        )
    return InvalidInput(
        f"Vector with name `{name}` is not configured in this collection, available names: {names}",
        hint=hint,
    )


def matrix_sample_filter(query_filter: Any, using: str) -> models.Filter:
    """The points a matrix samples: the user's filter AND having vector `using`."""
    has_vector = models.HasVectorCondition(has_vector=using)
    base = [] if query_filter is None else [query_filter]
    return models.Filter(must=[*base, has_vector])


def point_id_key(point_id: Any) -> tuple[int, int]:
    """Qdrant's order of point ids: integers first, by value, then UUIDs, by value."""
    if isinstance(point_id, int):
        return (0, point_id)
    return (1, uuid.UUID(str(point_id)).int)
