"""Reads: retrieve, scroll, count and nearest-neighbour query_points.

Arguments are refused in Qdrant's order: the request's shape first (limit, options the
engine does not support), then a missing collection, then the contents (vectors, filter).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qdrant_client import models
from qdrant_client.http import models as rest

from crewchief.engine import requests, strict
from crewchief.engine.convert.ids import client_point_id
from crewchief.engine.convert.points import client_record, client_scored
from crewchief.engine.registry import Collections


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
        strict.read(col, kwargs=kwargs, cost=len(ids))
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
        strict.read(col, scroll_filter, limit, kwargs=kwargs)
        request = requests.scroll_request(scroll_filter, limit, offset, with_payload, with_vectors)
        records, next_offset = col.read(lambda s: s.scroll(request))
        nxt = client_point_id(next_offset) if next_offset is not None else None
        return [client_record(r) for r in records], nxt

    def count(
        self,
        collection_name: str,
        count_filter: models.Filter | None = None,
        exact: bool = True,
        **kwargs: Any,
    ) -> models.CountResult:
        col = self._collections.get(collection_name)
        strict.read(col, count_filter, exact=exact, kwargs=kwargs)
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
        strict.query(col, query, using, prefetch, query_filter, search_params, limit, kwargs)
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
