"""A Query API body (Qdrant's `QueryRequest` JSON) as `query_points` keywords, and its exact twin.

    parse_query(data)    JSON object -> models.QueryRequest, or a typed InvalidInput
    query_kwargs(req)    -> the keywords of `QdrantAPI.query_points`
    exact_twin(req)      the same request with `params.exact = true` at every stage

Used by the deploy gates (a `--queries` line may be any Query API body) and the
dashboard's search tester.  Qdrant's `with_vectors` spelling is accepted as an alias
of `with_vector`, as its REST API does.  `shard_key` is refused: the pit crew
compares whole collections.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from qdrant_client import models

from crewchief.errors import InvalidInput

FIELDS = frozenset(models.QueryRequest.model_fields) | {"with_vectors"}


def _validation_text(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{where}: {err.get('msg')}")
    return "; ".join(parts)


def parse_query(data: Any, where: str = "The query") -> models.QueryRequest:
    """A JSON object as a QueryRequest; anything else is an InvalidInput naming `where`."""
    if not isinstance(data, dict):
        raise InvalidInput(
            f"{where} is not a JSON object", hint='A Query API body, e.g. {"query": [0.1, 0.2]}'
        )
    if "with_vectors" in data and "with_vector" not in data:
        data = {**data, "with_vector": data["with_vectors"]}
        del data["with_vectors"]
    try:
        request = models.QueryRequest.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            f"{where} is not a valid Query API body: {_validation_text(exc)}",
            hint="The fields of Qdrant's QueryRequest: query, using, prefetch, filter, params, "
            "score_threshold, limit, offset, with_payload, with_vector, lookup_from",
        ) from None
    if request.shard_key is not None:
        raise InvalidInput(f"{where}: shard_key is not supported here", hint="Leave it out")
    return request


def query_kwargs(request: models.QueryRequest, limit: int | None = None) -> dict[str, Any]:
    """`request` as `query_points` keywords (Qdrant's REST defaults; `limit` overrides)."""
    if limit is None:
        limit = 10 if request.limit is None else request.limit
    return {
        "query": request.query,
        "using": request.using,
        "prefetch": request.prefetch,
        "query_filter": request.filter,
        "search_params": request.params,
        "limit": limit,
        "offset": request.offset,
        "with_payload": False if request.with_payload is None else request.with_payload,
        "with_vectors": False if request.with_vector is None else request.with_vector,
        "score_threshold": request.score_threshold,
        "lookup_from": request.lookup_from,
    }


def _exact(params: models.SearchParams | None) -> models.SearchParams:
    if params is None:
        return models.SearchParams(exact=True)
    return params.model_copy(update={"exact": True})


def _exact_prefetch(prefetch: Any) -> Any:
    if prefetch is None:
        return None
    if isinstance(prefetch, list):
        return [_exact_prefetch(p) for p in prefetch]
    return prefetch.model_copy(
        update={"params": _exact(prefetch.params), "prefetch": _exact_prefetch(prefetch.prefetch)}
    )


def exact_twin(request: models.QueryRequest) -> models.QueryRequest:
    """The same request with exact search (`params.exact = true`) at every prefetch stage."""
    return request.model_copy(
        update={"params": _exact(request.params), "prefetch": _exact_prefetch(request.prefetch)}
    )
