"""Reads: retrieve, scroll (by id or order_by), count and nearest-neighbour query_points.

Arguments are refused in Qdrant's order: the request's shape first (limit, options the
engine does not support), then a missing collection, then the contents (vectors, filter).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import qdrant_edge as edge
from qdrant_client import models
from qdrant_client.http import models as rest

from crewchief.engine import requests
from crewchief.engine.convert.ids import client_point_id
from crewchief.engine.convert.points import client_record, client_scored
from crewchief.engine.registry import Collections
from crewchief.engine.search.requests import OFFSET_WITH_ORDER_BY, edge_order_by, edge_refusals
from crewchief.errors import InvalidInput


class QueryAPI:
    _collections: Collections

    def retrieve(
        self,
        collection_name: str,
        ids: Sequence[models.ExtendedPointId],
        with_payload: Any = True,
        with_vectors: bool | Sequence[str] = False,
        **kwargs: Any,
    ) -> list[models.Record]:
        col = self._collections.get(collection_name)
        request = requests.retrieve_request(ids, with_payload, with_vectors)
        return [client_record(r) for r in col.read(request.run)]

    def scroll(
        self,
        collection_name: str,
        scroll_filter: models.Filter | None = None,
        limit: int = 10,
        order_by: Any = None,
        offset: models.ExtendedPointId | None = None,
        with_payload: Any = True,
        with_vectors: bool | Sequence[str] = False,
        **kwargs: Any,
    ) -> tuple[list[models.Record], int | str | None]:
        requests.check_scroll(limit, order_by)
        col = self._collections.get(collection_name)
        if order_by is not None and offset is not None:
            raise InvalidInput(OFFSET_WITH_ORDER_BY, hint="Page with order_by.start_from")
        request = requests.scroll_request(scroll_filter, limit, offset, with_payload, with_vectors)
        if order_by is not None:  # Qdrant's order: by the key's indexed values, no next page
            request = edge.ScrollRequest(
                limit=limit,
                filter=request.filter,
                with_payload=request.with_payload,
                with_vector=request.with_vector,
                order_by=edge_order_by(order_by),
            )
        with edge_refusals("scroll"):
            records, next_offset = col.read(lambda s: s.scroll(request))
        nxt = client_point_id(next_offset) if next_offset is not None else None
        if order_by is None:
            return [client_record(r) for r in records], nxt
        return [_ordered(r) for r in records], None

    def count(
        self,
        collection_name: str,
        count_filter: models.Filter | None = None,
        exact: bool = True,
        **kwargs: Any,
    ) -> models.CountResult:
        """`exact=False` is the edge's estimate from its payload indexes (Qdrant's
        cardinality estimation), exact where the filter is fully indexed or absent."""
        col = self._collections.get(collection_name)
        request = requests.count_request(count_filter, exact)
        return models.CountResult(count=col.read(lambda s: s.count(request)))

    # the rest of the Query API (recommend, discover, groups, facets...) goes beside this one
    def query_points(
        self,
        collection_name: str,
        query: Any = None,
        using: str | None = None,
        prefetch: Any = None,
        query_filter: models.Filter | None = None,
        search_params: models.SearchParams | None = None,
        limit: int = 10,
        offset: int | None = None,
        with_payload: Any = True,
        with_vectors: bool | Sequence[str] = False,
        score_threshold: float | None = None,
        **kwargs: Any,
    ) -> rest.QueryResponse:
        requests.check_query(limit, prefetch, kwargs.get("lookup_from"))
        col = self._collections.get(collection_name)
        request = requests.query_request(
            col.sizes,
            query,
            using,
            query_filter,
            search_params,
            limit,
            offset,
            with_payload,
            with_vectors,
            score_threshold,
        )
        found = col.read(lambda s: s.query(request))
        return rest.QueryResponse(points=[client_scored(p) for p in found])


def _ordered(r: edge.Record) -> models.Record:
    """A record of an ordered scroll, with the value it was ordered by."""
    return client_record(r).model_copy(update={"order_value": r.order_value})
