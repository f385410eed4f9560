"""Reads: retrieve, scroll, count, and query_points / query_batch_points of every query kind.

Arguments are refused in Qdrant's order: the request's shape first (limit, options the
engine does not support), then a missing collection, then the contents (vectors, filter).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import qdrant_edge as edge
from qdrant_client import models
from qdrant_client.http import models as rest

from crewchief.engine import requests, strict
from crewchief.engine.collection import Collection
from crewchief.engine.convert.ids import client_point_id
from crewchief.engine.convert.points import client_record
from crewchief.engine.convert.vectors import as_sizes, check_vector_name
from crewchief.engine.query import mmr as sparse_mmr
from crewchief.engine.query import prefetch as prefetch_tree
from crewchief.engine.query import request as query_request
from crewchief.engine.query.params import check_indexed_only
from crewchief.engine.query.resolve import Resolved, lookup_collections, stages, wanted
from crewchief.engine.query.stage import Stage
from crewchief.engine.registry import Collections
from crewchief.engine.search.requests import OFFSET_WITH_ORDER_BY, edge_order_by, edge_refusals
from crewchief.errors import CollectionNotFound, InvalidInput, NotFound


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
        _check_vector_names(col, with_vectors)
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
        strict.read(col, scroll_filter, limit, kwargs=kwargs)
        _check_vector_names(col, with_vectors)
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
        strict.read(col, count_filter, exact=exact, kwargs=kwargs)
        request = requests.count_request(count_filter, exact)
        return models.CountResult(count=col.read(lambda s: s.count(request)))

    # the rest of the Query API (groups, facets, matrices) goes beside this one
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
        lookup_from: models.LookupLocation | None = None,
        **kwargs: Any,
    ) -> rest.QueryResponse:
        """Every query kind of Qdrant's Query API (see engine/query/)."""
        _no_shard_key(kwargs.get("shard_key_selector"))
        vector = query_request.plain_vector(query, prefetch, lookup_from)
        if vector is not None:  # the common case, without the stage tree
            prefetch_tree.check_limit(limit, "limit")
            col = self._collections.get(collection_name)
            strict.query(col, query, using, prefetch, query_filter, search_params, limit, kwargs)
            check_indexed_only(col, [search_params])
            request = query_request.plain_request(
                col.sizes, vector, using, query_filter, search_params, score_threshold, limit,
                offset, with_payload, with_vectors,
            )  # fmt: skip
            with query_request.edge_refusals():
                found = col.read(lambda s: s.query(request))
            return rest.QueryResponse(points=query_request.client_points(found, with_vectors))
        top = prefetch_tree.root(
            query, using, prefetch, query_filter, search_params, score_threshold, limit, lookup_from
        )
        col = self._collections.get(collection_name)
        strict.query(col, query, using, prefetch, query_filter, search_params, limit, kwargs)
        self._check_lookup_from(top)
        request, finish = self._plan(col, collection_name, top, offset, with_payload, with_vectors)
        with query_request.edge_refusals(query_request.has_formula(top)):
            found = finish(col.read(lambda s: s.query(request)))
        return rest.QueryResponse(points=query_request.client_points(found, with_vectors))

    def query_batch_points(
        self,
        collection_name: str,
        requests: Sequence[models.QueryRequest],
        **kwargs: Any,
    ) -> list[rest.QueryResponse]:
        """Several QueryRequests (any kinds), answered in one planned batch of the edge."""
        _no_shard_key(kwargs.get("shard_key_selector"))
        reqs = [_defaults(r) for r in requests]
        for r in reqs:
            _no_shard_key(r.shard_key)
        plans = [
            prefetch_tree.root(
                r.query,
                r.using,
                r.prefetch,
                r.filter,
                r.params,
                r.score_threshold,
                10 if r.limit is None else r.limit,
                r.lookup_from,
            )
            for r in reqs
        ]
        col = self._collections.get(collection_name)
        strict.batch_size(col, len(reqs))
        for r in reqs:
            strict.query(col, r.query, r.using, r.prefetch, r.filter, r.params, r.limit or 10, {})
        for top in plans:
            self._check_lookup_from(top)
        planned = [
            self._plan(col, collection_name, top, r.offset, r.with_payload, r.with_vector)
            for top, r in zip(plans, reqs, strict=True)
        ]
        if not planned:
            return []
        batch = edge.QueryBatchRequest([request for request, _ in planned])
        formula = any(query_request.has_formula(top) for top in plans)
        with query_request.edge_refusals(formula):
            found = col.read(lambda s: s.query_batch(batch))
        return [
            rest.QueryResponse(points=query_request.client_points(finish(points), r.with_vector))
            for points, (_, finish), r in zip(found, planned, reqs, strict=True)
        ]

    def _plan(
        self,
        col: Collection,
        collection_name: str,
        top: Stage,
        offset: int | None,
        with_payload: Any,
        with_vectors: Any,
    ) -> tuple[edge.QueryRequest, Callable[[list[edge.ScoredPoint]], list[edge.ScoredPoint]]]:
        """The edge request, with the points the query names read first (one retrieve per
        collection, `lookup_from` ones from theirs), and what turns the edge's answer into
        the request's (an MMR over a sparse vector is selected here: query/mmr.py)."""
        check_indexed_only(col, [stage.params for stage in stages(top)])
        resolved = Resolved()
        for key, (ids, names) in wanted(top, collection_name).items():
            source = col if key is None else self._lookup_collection(key)
            sizes = as_sizes(source.sizes)
            known = [name for name in names if sizes.kind(name) is not None]
            with query_request.edge_refusals():
                records = source.read(_retrieve(ids, known))
            if records and len(known) < len(names):
                # Qdrant's retrieve refuses an unknown name once it reads a point's vectors
                # (so a request naming only missing points is their 404 instead)
                for name in names:
                    check_vector_name(sizes, name)
            resolved.add(key, records)
        resolved.check_found(top, collection_name)
        mmr = sparse_mmr.plan(top, col.sizes)
        if mmr is None:
            request = query_request.query_request(
                col.sizes, top, resolved, collection_name, offset, with_payload, with_vectors
            )
            return request, lambda found: found
        vector = resolved.vector_of(col.sizes, top, collection_name)(top.query.nearest)
        request = query_request.query_request(
            col.sizes,
            mmr.candidates,
            resolved,
            collection_name,
            None,
            with_payload,
            mmr.with_vectors(with_vectors),
        )
        return request, lambda found: mmr.select(vector, found, offset)

    def _check_lookup_from(self, top: Stage) -> None:
        for name in lookup_collections(top):
            self._lookup_collection(name)

    def _lookup_collection(self, name: str) -> Collection:
        try:
            return self._collections.get(name)
        except CollectionNotFound:
            raise NotFound(
                f"Collection {name} not found",
                hint="lookup_from names a collection that does not exist",
            ) from None


def _check_vector_names(col: Collection, with_vectors: Any) -> None:
    """Qdrant's 400 for a `with_vectors` name the collection lacks (the edge's is untyped)."""
    if isinstance(with_vectors, list | tuple):
        for name in with_vectors:
            check_vector_name(col.sizes, name)


def _no_shard_key(key: Any) -> None:
    """Qdrant's answer to a shard key on a collection without custom sharding."""
    if key is None:
        return
    first = key[0] if isinstance(key, list) and key else key
    raise InvalidInput(
        f"Bad request: Shard key {first} not found",
        hint="The embedded engine has one shard per collection: leave the shard key out",
    )


def _retrieve(ids: list[Any], names: list[str]) -> Callable[[edge.EdgeShard], list[edge.Record]]:
    def run(shard: edge.EdgeShard) -> list[edge.Record]:
        return shard.retrieve(ids, with_payload=False, with_vector=names)

    return run


def _defaults(r: Any) -> models.QueryRequest:
    """A batch entry as a QueryRequest with Qdrant's REST defaults (no payload, no vectors)."""
    if not isinstance(r, models.QueryRequest):
        r = models.QueryRequest.model_validate(r)
    update = {}
    if r.with_payload is None:
        update["with_payload"] = False
    if r.with_vector is None:
        update["with_vector"] = False
    return r.model_copy(update=update) if update else r


def _ordered(r: edge.Record) -> models.Record:
    """A record of an ordered scroll, with the value it was ordered by."""
    return client_record(r).model_copy(update={"order_value": r.order_value})
