"""Groups, distance matrices and facets: query_points_groups, search_matrix_*, facet.

Groups and matrices are what Qdrant computes above the shard, from queries: groups fill
in rounds of `query_points` (engine/search/grouping.py, Qdrant's group-by driver), a
matrix samples points at random and runs one nearest-neighbour query per sample in one
batch.  Facets are the edge's own.  Arguments are refused in Qdrant's order: the
request's shape (limits) first, then a missing collection, then the contents.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import qdrant_edge as edge
from qdrant_client import models

from crewchief.engine import strict
from crewchief.engine.convert.filters import edge_filter
from crewchief.engine.convert.ids import client_point_id, edge_point_id
from crewchief.engine.convert.payload import check_payload_key
from crewchief.engine.convert.points import client_scored
from crewchief.engine.registry import Collections
from crewchief.engine.search import grouping
from crewchief.engine.search import requests as sr
from crewchief.errors import NotFound


class SearchAPI:
    _collections: Collections

    if TYPE_CHECKING:  # provided by QueryAPI and Engine, mixed into the same class

        def query_points(self, collection_name: str, **kwargs: Any) -> models.QueryResponse: ...

        def retrieve(
            self, collection_name: str, ids: Sequence[Any], **kwargs: Any
        ) -> list[models.Record]: ...

        def collection_exists(self, collection_name: str, **kwargs: Any) -> bool: ...

    # -- groups ----------------------------------------------------------------------------------

    def query_points_groups(
        self,
        collection_name: str,
        group_by: str,
        query: Any = None,
        using: str | None = None,
        prefetch: Any = None,
        query_filter: models.Filter | None = None,
        search_params: models.SearchParams | None = None,
        limit: int = 10,
        group_size: int = 3,
        with_payload: Any = True,
        with_vectors: bool | Sequence[str] = False,
        score_threshold: float | None = None,
        with_lookup: models.WithLookupInterface | None = None,
        lookup_from: models.LookupLocation | None = None,
        **kwargs: Any,
    ) -> models.GroupsResult:
        """Qdrant's groups: the best `limit` groups of points sharing a value of `group_by`
        (a payload path; arrays put a point in each of their values' groups), at most
        `group_size` hits each; `with_lookup` adds each group's point (id = the group key)
        from another collection."""
        sr.check_at_least("group_size", group_size, 1)
        sr.check_at_least("limit", limit, 1)
        col = self._collections.get(collection_name)
        group_by = check_payload_key(group_by, "group_by")
        grouped = {**kwargs, "group_by": group_by, "group_size": group_size}
        strict.query(col, query, using, prefetch, query_filter, search_params, limit, grouped)
        lookup = _with_lookup(with_lookup)
        order = sr.query_order(col.config, query, using)
        driver = grouping.GroupsDriver(query_filter, group_by, limit, group_size, order)
        scaled = grouping.scaled_prefetch(prefetch, group_size)
        extra = {"lookup_from": lookup_from} if lookup_from is not None else {}
        while (step := driver.next_round()) is not None:
            found = self.query_points(
                collection_name,
                query=query,
                using=using,
                prefetch=scaled,
                query_filter=step.query_filter,
                search_params=search_params,
                limit=step.limit,
                with_payload=step.with_payload,
                with_vectors=False,
                score_threshold=score_threshold,
                **extra,
            )
            driver.add(found.points)
        groups = driver.distill()
        self._hydrate(collection_name, groups, with_payload, with_vectors)
        if lookup is not None:
            self._lookup(groups, lookup)
        return models.GroupsResult(groups=groups)

    def _hydrate(
        self, name: str, groups: list[models.PointGroup], with_payload: Any, with_vectors: Any
    ) -> None:
        """The hits with the payload and vectors asked for (rounds fetch only the key)."""
        ids = list(dict.fromkeys(hit.id for g in groups for hit in g.hits))
        if not ids:
            return
        records = self.retrieve(name, ids, with_payload=with_payload, with_vectors=with_vectors)
        by_id = {r.id: r for r in records}
        for group in groups:
            for i, hit in enumerate(group.hits):
                record = by_id.get(hit.id)
                if record is not None:
                    group.hits[i] = hit.model_copy(
                        update={"payload": record.payload, "vector": record.vector}
                    )

    def _lookup(self, groups: list[models.PointGroup], lookup: models.WithLookup) -> None:
        """Each group's point from `lookup.collection`, which Qdrant looks for once the groups
        are found (so a query's own errors, and lookup_from's, come first)."""
        if not self.collection_exists(lookup.collection):
            raise NotFound(
                f"Collection {lookup.collection} not found",
                hint="with_lookup names another collection",
            )
        ids = [grouping.lookup_id(g.id) for g in groups]
        wanted = list(dict.fromkeys(i for i in ids if i is not None))
        if not wanted:
            return
        records = self.retrieve(
            lookup.collection,
            wanted,
            with_payload=True if lookup.with_payload is None else lookup.with_payload,
            with_vectors=False if lookup.with_vectors is None else lookup.with_vectors,
        )
        by_id = {str(r.id): r for r in records}
        for group, point_id in zip(groups, ids, strict=True):
            if point_id is not None:
                group.lookup = by_id.get(str(point_id))

    # -- distance matrix -------------------------------------------------------------------------

    def search_matrix_pairs(
        self,
        collection_name: str,
        query_filter: models.Filter | None = None,
        limit: int = 3,
        sample: int = 10,
        using: str | None = None,
        **kwargs: Any,
    ) -> models.SearchMatrixPairsResponse:
        """`sample` random points (of those matching `query_filter`), each with its `limit`
        nearest neighbours among the sample, as (a, b, score) pairs."""
        ids, nearest = self._matrix(collection_name, query_filter, limit, sample, using)
        pairs = [
            models.SearchMatrixPair(a=a, b=p.id, score=p.score)
            for a, row in zip(ids, nearest, strict=True)
            for p in row
        ]
        return models.SearchMatrixPairsResponse(pairs=pairs)

    def search_matrix_offsets(
        self,
        collection_name: str,
        query_filter: models.Filter | None = None,
        limit: int = 3,
        sample: int = 10,
        using: str | None = None,
        **kwargs: Any,
    ) -> models.SearchMatrixOffsetsResponse:
        """The same matrix as search_matrix_pairs, as a sparse matrix: rows, columns and
        scores by offset into `ids` (the sampled ids, sorted)."""
        ids, nearest = self._matrix(collection_name, query_filter, limit, sample, using)
        offset = {point_id: i for i, point_id in enumerate(ids)}
        rows = [r for r, row in enumerate(nearest) for _ in row]
        cols = [offset[p.id] for row in nearest for p in row]
        scores = [p.score for row in nearest for p in row]
        return models.SearchMatrixOffsetsResponse(
            offsets_row=rows, offsets_col=cols, scores=scores, ids=ids
        )

    def _matrix(
        self, name: str, query_filter: Any, limit: int, sample: int, using: str | None
    ) -> tuple[list[Any], list[list[models.ScoredPoint]]]:
        """Qdrant's search_points_matrix: sample, sort by id, one batch of nearest queries
        restricted to the sample (limit + 1, then the point itself is dropped)."""
        sr.check_at_least("sample", sample, 2)
        sr.check_at_least("limit", limit, 1)
        col = self._collections.get(name)
        strict.read(col, query_filter, limit=sample * limit)  # Qdrant's limit: sample x limit
        vector = using or ""
        missing = sr.missing_vector(col.config, vector)
        if missing is not None:
            raise missing
        sampling = edge.QueryRequest(
            limit=sample,
            query=edge.Sample.Random,
            filter=edge_filter(sr.matrix_sample_filter(query_filter, vector)),
            with_vector=[vector],
            with_payload=False,
        )
        sampled = col.read(lambda s: s.query(sampling))[:sample]
        if len(sampled) < 2:
            return [], []
        sampled.sort(key=lambda p: sr.point_id_key(client_point_id(p.id)))
        within = edge.Filter(must=[edge.HasIdCondition({edge_point_id(p.id) for p in sampled})])
        batch = edge.QueryBatchRequest(
            [
                edge.QueryRequest(
                    limit=limit + 1,
                    query=_nearest(p.vector, vector),
                    filter=within,
                    with_vector=False,
                    with_payload=False,
                )
                for p in sampled
            ]
        )
        rows = col.read(lambda s: s.query_batch(batch))
        ids = [client_point_id(p.id) for p in sampled]
        nearest: list[list[models.ScoredPoint]] = []
        for point_id, row in zip(ids, rows, strict=True):
            hits = [client_scored(p) for p in row]
            own = next((i for i, h in enumerate(hits) if h.id == point_id), None)
            if own is not None:
                hits.pop(own)
            elif len(hits) == limit + 1:
                hits.pop()
            nearest.append(hits)
        return ids, nearest

    # -- facets ----------------------------------------------------------------------------------

    def facet(
        self,
        collection_name: str,
        key: str,
        facet_filter: models.Filter | None = None,
        limit: int = 10,
        exact: bool = False,
        **kwargs: Any,
    ) -> models.FacetResponse:
        """Counts of the values of payload key `key` (which needs a keyword, integer, uuid or
        bool index, as in Qdrant), most frequent first; `exact=False` may estimate."""
        sr.check_at_least("limit", limit, 1)
        col = self._collections.get(collection_name)
        request = sr.facet_request(key, facet_filter, limit, exact)
        with sr.edge_refusals("facet"):
            found = col.read(lambda s: s.facet(request))
            if not exact and sr.ties_cut(found, request.limit, limit):
                # the edge cut a tie at the `limit`-th count in no particular order: Qdrant
                # keeps the lowest values of a tie, which only the exact count can tell
                exact_request = sr.facet_request(key, facet_filter, limit, exact=True)
                found = col.read(lambda s: s.facet(exact_request))
        hits = [models.FacetValueHit(value=sr.facet_value(h.value), count=h.count) for h in found]
        return models.FacetResponse(hits=sr.top_hits(hits, limit))


def _nearest(vectors: Any, name: str) -> edge.Query:
    vector: Any = vectors.get(name) if isinstance(vectors, dict) else vectors
    return edge.Query.Nearest(vector, using=name) if name else edge.Query.Nearest(vector)


def _with_lookup(with_lookup: Any) -> models.WithLookup | None:
    if with_lookup is None:
        return None
    if isinstance(with_lookup, str):
        return models.WithLookup(collection=with_lookup)
    if isinstance(with_lookup, models.WithLookup):
        return with_lookup
    return models.WithLookup.model_validate(with_lookup)
