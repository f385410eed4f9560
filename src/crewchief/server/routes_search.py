"""Groups, distance matrices and facets: Qdrant's query/groups, search/matrix and facet routes.

Defaults follow Qdrant's REST API: groups return no payload and no vectors unless asked
(`group_size` 3, `limit` 10), a matrix samples 10 points with 3 neighbours each on the
unnamed vector, a facet counts the 10 most frequent values approximately.  Each route
calls one typed `Engine` method (see dispatch.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from qdrant_client.http import models
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crewchief.server.dispatch import call, drop_none, engine_of
from crewchief.server.envelope import ok, parse_body, query_int, to_jsonable


def _collection(request: Request) -> str:
    return str(request.path_params["collection_name"])


def _read_options(request: Request) -> dict[str, int]:
    """`timeout`; `consistency` is accepted and ignored (one replica satisfies all)."""
    return drop_none(timeout=query_int(request, "timeout"))


async def query_groups(request: Request) -> Response:
    options = _read_options(request)
    body: models.QueryGroupsRequest = await parse_body(request, models.QueryGroupsRequest)
    result = await call(
        engine_of(request).query_points_groups,
        _collection(request),
        group_by=body.group_by,
        query=body.query,
        using=body.using,
        prefetch=body.prefetch,
        query_filter=body.filter,
        search_params=body.params,
        limit=10 if body.limit is None else body.limit,
        group_size=3 if body.group_size is None else body.group_size,
        with_payload=False if body.with_payload is None else body.with_payload,
        with_vectors=False if body.with_vector is None else body.with_vector,
        score_threshold=body.score_threshold,
        with_lookup=body.with_lookup,
        lookup_from=body.lookup_from,
        **drop_none(shard_key_selector=body.shard_key),
        **options,
    )
    return ok(request, result)


async def _matrix_body(request: Request) -> models.SearchMatrixRequest:
    body = await parse_body(request, models.SearchMatrixRequest, required=False)
    return body or models.SearchMatrixRequest()


def _float32_scores(result: Any) -> Any:
    """A matrix with its scores as Qdrant writes them: float32, in float32's shortest form."""
    data = to_jsonable(result)
    for pair in data.get("pairs", ()):
        pair["score"] = np.float32(pair["score"])
    if "scores" in data:
        data["scores"] = np.asarray(data["scores"], dtype=np.float32)
    return data


async def matrix_pairs(request: Request) -> Response:
    return await _matrix(request, engine_of(request).search_matrix_pairs)


async def matrix_offsets(request: Request) -> Response:
    return await _matrix(request, engine_of(request).search_matrix_offsets)


async def _matrix(request: Request, search: Callable[..., Any]) -> Response:
    """Either form of the distance matrix, with Qdrant's REST defaults (limit 3, sample 10)."""
    options = _read_options(request)
    body = await _matrix_body(request)
    result = await call(
        search,
        _collection(request),
        query_filter=body.filter,
        limit=3 if body.limit is None else body.limit,
        sample=10 if body.sample is None else body.sample,
        using=body.using,
        **drop_none(shard_key_selector=body.shard_key),
        **options,
    )
    return ok(request, _float32_scores(result))


async def facet(request: Request) -> Response:
    options = _read_options(request)
    body: models.FacetRequest = await parse_body(request, models.FacetRequest)
    result = await call(
        engine_of(request).facet,
        _collection(request),
        key=body.key,
        facet_filter=body.filter,
        limit=10 if body.limit is None else body.limit,
        exact=bool(body.exact),
        **drop_none(shard_key_selector=body.shard_key),
        **options,
    )
    return ok(request, result)


_P = "/collections/{collection_name}"
routes = [
    Route(_P + "/points/query/groups", query_groups, methods=["POST"]),
    Route(_P + "/points/search/matrix/pairs", matrix_pairs, methods=["POST"]),
    Route(_P + "/points/search/matrix/offsets", matrix_offsets, methods=["POST"]),
    Route(_P + "/facet", facet, methods=["POST"]),
]
