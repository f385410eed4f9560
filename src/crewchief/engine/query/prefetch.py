"""`prefetch`, nested to any depth: the request as one tree of stages, checked, for the edge.

QdrantClient's arguments become a tree of `Stage`s, checked as Qdrant checks them, then
built into Edge `Prefetch` stages.

The request itself is the tree's root (`root`), a `Stage` with the request's
query, using, filter, params, score_threshold, limit and lookup_from, so resolution
(resolve.py) and the checks walk one shape.  Limits are checked in `root`, the other
rules of Qdrant (collection/src/operations/universal_query/collection_query.rs
`validation`) as each stage is built, once the points the request names are read:

    prefetches without a query                 400 A query is needed to merge the prefetches...
    score_threshold without a query            400 A query is needed to use the score_threshold...
    score_threshold with order_by              400 Can't use score_threshold with an order_by query.
    fusion with `using`                        400 Fusion queries cannot be combined with ...
    limit < 1 (a stage's or the request's)     422 Validation error in JSON body: [limit: ...]
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import qdrant_edge as edge
from pydantic import ValidationError
from qdrant_client import models

from crewchief.engine.convert.filters import edge_filter
from crewchief.engine.convert.vectors import validation_error
from crewchief.engine.query.kinds import as_query, scoring
from crewchief.engine.query.params import search_params
from crewchief.engine.query.resolve import Resolved
from crewchief.engine.query.stage import Stage
from crewchief.errors import InvalidInput

DEFAULT_LIMIT = 10


def root(
    query: Any,
    using: str | None,
    prefetch: Any,
    query_filter: Any,
    params: models.SearchParams | None,
    score_threshold: float | None,
    limit: int,
    lookup_from: Any,
) -> Stage:
    """The request as the root stage of its tree, every stage normalised and checked."""
    check_limit(limit, "limit")
    top = SimpleNamespace(  # read as a models.Prefetch is (model_construct costs 7 µs)
        prefetch=prefetch,
        query=query,
        using=using,
        filter=query_filter,
        params=params,
        score_threshold=score_threshold,
        limit=limit,
        lookup_from=lookup_from,
    )
    return _normalise(top, "")


def _normalise(stage: models.Prefetch | SimpleNamespace, where: str) -> Stage:
    children = stage.prefetch
    if children is None:
        children = []
    elif not isinstance(children, list):
        children = [children]
    nested = [
        _normalise(_as_prefetch(p, f"{where}prefetch"), f"{where}prefetch.") for p in children
    ]
    lookup = stage.lookup_from
    if isinstance(lookup, dict):
        lookup = models.LookupLocation.model_validate(lookup)
    if lookup is not None and lookup.shard_key is not None:
        raise InvalidInput(
            "lookup_from.shard_key: the embedded engine has one shard per collection",
            hint="Leave shard_key out",
        )
    params = stage.params
    if isinstance(params, dict):
        params = models.SearchParams.model_validate(params)
    limit = DEFAULT_LIMIT if stage.limit is None else stage.limit
    check_limit(limit, f"{where}limit")
    out = Stage(
        prefetch=nested,
        query=as_query(stage.query),
        using=stage.using or "",
        filter=stage.filter,
        params=params,
        score_threshold=stage.score_threshold,
        limit=limit,
        lookup_from=lookup,
    )
    return out


def _as_prefetch(p: Any, where: str) -> models.Prefetch:
    if isinstance(p, models.Prefetch):
        return p
    try:
        return models.Prefetch.model_validate(p)
    except ValidationError as exc:
        raise InvalidInput(
            f"Wrong input: {where}: {exc.errors()[0].get('msg')}",
            hint="Pass models.Prefetch(query=..., using=..., limit=...)",
        ) from None


def check_limit(limit: Any, where: str) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise InvalidInput(f"Bad {where} {limit!r}: it must be a positive integer", hint="10")
    if limit < 1:
        raise validation_error(where, f"value {limit} invalid, must be 1 or larger", "10")


def _validate(stage: Stage) -> None:
    query = stage.query
    if stage.prefetch and query is None:
        raise InvalidInput(
            "Bad request: A query is needed to merge the prefetches. "
            "Can't have prefetches without defining a query.",
            hint="Add query=models.FusionQuery(fusion=models.Fusion.RRF) (or another query)",
        )
    if stage.score_threshold is not None:
        if isinstance(query, models.OrderByQuery):
            raise InvalidInput(
                "Bad request: Can't use score_threshold with an order_by query.",
                hint="Filter on the payload value instead",
            )
        if query is None:
            raise InvalidInput(
                "Bad request: A query is needed to use the score_threshold. "
                "Can't have score_threshold without defining a query.",
                hint="Leave score_threshold out, or add a query",
            )
    if isinstance(query, models.FusionQuery | models.RrfQuery) and stage.using:
        raise InvalidInput(
            "Bad request: Fusion queries cannot be combined with the 'using' field.",
            hint="Set `using` on the prefetches, not on the fusion",
        )


def edge_scoring(
    sizes: Mapping[str, int], stage: Stage, resolved: Resolved, collection: str
) -> Any:
    """A stage's scoring query for the edge, once its rules are checked (as Qdrant checks
    them: stage by stage as it converts them, after every named point was read)."""
    _validate(stage)
    if stage.query is None:
        return None
    vec = resolved.vector_of(sizes, stage, collection)
    return scoring(stage.query, stage.using, stage.limit, vec)


def edge_prefetches(
    sizes: Mapping[str, int], stage: Stage, resolved: Resolved, collection: str
) -> list[edge.Prefetch] | None:
    """A stage's prefetches for the edge (each with its own filter, threshold, params)."""
    if not stage.prefetch:
        return None
    return [
        edge.Prefetch(
            limit=p.limit,
            query=edge_scoring(sizes, p, resolved, collection),
            prefetches=edge_prefetches(sizes, p, resolved, collection),
            params=search_params(p.params),
            filter=edge_filter(p.filter),
            score_threshold=p.score_threshold,
        )
        for p in stage.prefetch
    ]
