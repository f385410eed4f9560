"""Strict mode: a collection's guard rails, enforced as Qdrant 1.19 enforces them.

One hook per kind of operation (`read`, `query`, `write`, `create_index`), called at the top
of the engine's methods (engine/api/*.py) with the collection and the request's fields.
Nothing is checked unless the collection's `strict_mode_config.enabled` is true. The checks
run in Qdrant's order (the request's own limits, its filters, `exact`, search params, then
`timeout`, then the rate limit) and refuse with Qdrant's errors: `StrictModeViolation`
(400 `Bad request: <what>. Help: <how>`) or `RateLimited` (429, with Retry-After). A
refused request changes nothing. Filters are read by `strict_filter`, rate limits spent
in `ratelimit`.
"""

from __future__ import annotations

import math
from typing import Any

from qdrant_client import models

from crewchief.engine import ratelimit, strict_filter
from crewchief.engine.convert.index_schema import client_payload_schema
from crewchief.errors import StrictModeViolation

_SPARSE_COST_UNIT = 64  # sparse dimensions per unit of a query's rate cost (Qdrant's)
_DTYPE_BYTES = {"float16": 2, "uint8": 1}
_NO_VECTOR_QUERY = (
    models.FusionQuery,
    models.RrfQuery,
    models.OrderByQuery,
    models.FormulaQuery,
    models.SampleQuery,
)


def active(col: Any) -> models.StrictModeConfigOutput | None:
    """The collection's strict mode config when it is enabled, else None."""
    strict = getattr(col.config, "strict_mode_config", None)
    return strict if strict is not None and strict.enabled else None


def refuse(error: str, solution: str | None = None) -> StrictModeViolation:
    text = error if solution is None else f"{error}. Help: {solution}"
    return StrictModeViolation(f"Bad request: {text}", hint=solution)


def check_limit(value: Any, limit: Any, name: str) -> None:
    if value is not None and limit is not None and value > limit:
        raise refuse(
            f'Limit exceeded {value} > {limit} for "{name}"',
            f'Reduce the "{name}" parameter to or below {limit}.',
        )


def _schema(col: Any) -> dict[str, Any]:
    raw = col.counts()[3]
    return {k: client_payload_schema(v) for k, v in raw.items()}


def check_filter(
    col: Any, strict: Any, flt: Any, allow_unindexed: bool | None, schema: dict[str, Any]
) -> None:
    f = strict_filter.as_filter(flt)
    if f is None:
        return
    if allow_unindexed is False:
        found = strict_filter.one_unindexed_key(f, schema)
        if found is not None:
            raise refuse(
                f'Index required but not found for "{found[0]}" of one of the following '
                f"types: [{found[1]}]",
                "Create an index for this key or use a different filter.",
            )
    total = strict_filter.total_conditions(f)
    if strict.filter_max_conditions is not None and total > strict.filter_max_conditions:
        raise refuse(
            f"Filter condition limit reached ({total} > {strict.filter_max_conditions})",
            "Reduce the amount of conditions of your filter.",
        )
    size = strict_filter.max_condition_size(f)
    if strict.condition_max_size is not None and size > strict.condition_max_size:
        raise refuse(
            f"Condition size limit reached ({size} > {strict.condition_max_size})",
            "Reduce the size of your condition.",
        )


def check_exact(strict: Any, exact: bool | None) -> None:
    if strict.search_allow_exact is False and exact:
        raise refuse("Exact search disabled!", "Set exact=false.")


def check_params(col: Any, strict: Any, params: Any, schema: dict[str, Any]) -> None:
    """Search params: oversampling, hnsw_ef, the IDF corpus filter, then `exact`."""
    if params is None:
        return
    if isinstance(params, dict):
        params = models.SearchParams.model_validate(params)
    quantization = params.quantization
    oversampling = quantization.oversampling if quantization is not None else None
    check_limit(oversampling, strict.search_max_oversampling, "oversampling")
    check_limit(params.hnsw_ef, strict.search_max_hnsw_ef, "hnsw_ef")
    corpus = getattr(params.idf, "corpus", None) if params.idf is not None else None
    check_filter(col, strict, corpus, strict.unindexed_filtering_retrieve, schema)
    check_exact(strict, params.exact)


def filter_cost(flt: Any) -> int:
    f = strict_filter.as_filter(flt)
    return strict_filter.total_conditions(f) if f is not None else 0


def read(
    col: Any,
    flt: Any = None,
    limit: int | None = None,
    exact: bool | None = None,
    kwargs: dict[str, Any] | None = None,
    cost: int | None = None,
) -> None:
    """retrieve, scroll, count, facet and the like: `limit`, the filter, `exact`, then
    `timeout` (in `kwargs`), then the read rate limit (`cost`: 1 + the filter's conditions
    unless given, e.g. the number of ids a retrieve names)."""
    strict = active(col)
    if strict is None:
        return
    check_limit(limit, strict.max_query_limit, "limit")
    if flt is not None:
        check_filter(col, strict, flt, strict.unindexed_filtering_retrieve, _schema(col))
    check_exact(strict, exact)
    check_limit((kwargs or {}).get("timeout"), strict.max_timeout, "timeout")
    ratelimit.take_read(col, strict, [1 + filter_cost(flt) if cost is None else cost])


def batch_size(col: Any, size: int) -> None:
    """A batch of searches: `search_max_batchsize`."""
    strict = active(col)
    if strict is not None:
        check_limit(size, strict.search_max_batchsize, "search batch size")


def _node_checks(col: Any, strict: Any, node: Any, schema: dict[str, Any], root: bool) -> None:
    """One query or prefetch, as Qdrant verifies it: its prefetches first, then full scans
    and formula keys, then its limit, filter and search params."""
    for sub in _listed(node.prefetch):
        _node_checks(col, strict, sub, schema, root=False)
    if node.query is not None:
        if not (root and _listed(node.prefetch)):
            check_fullscan(col, strict, node.query, node.using, node.filter, schema)
        check_formula(strict, node.query, schema)
    group_size = getattr(node, "group_size", None)
    limit = node.limit * group_size if group_size is not None else node.limit
    check_limit(limit, strict.max_query_limit, "limit")
    if node.filter is not None:
        check_filter(col, strict, node.filter, strict.unindexed_filtering_retrieve, schema)
    check_params(col, strict, node.params, schema)


class _Node:
    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


def query(
    col: Any,
    query: Any,
    using: str | None,
    prefetch: Any,
    query_filter: Any,
    search_params: Any,
    limit: int,
    kwargs: dict[str, Any],
) -> None:
    """query_points and its kin (groups: `group_by` / `group_size` in kwargs)."""
    strict = active(col)
    if strict is None:
        return
    schema = _schema(col)
    group_by = kwargs.get("group_by")
    if group_by is not None:
        check_group_by(strict, group_by, schema)
    root = _Node(
        query=query,
        using=using,
        prefetch=prefetch,
        filter=query_filter,
        params=search_params,
        limit=limit,
        group_size=kwargs.get("group_size", 1 if group_by is not None else None),
    )
    _node_checks(col, strict, root, schema, root=True)
    check_limit(kwargs.get("timeout"), strict.max_timeout, "timeout")
    ratelimit.take_read(col, strict, [query_cost(root, 0)])


def query_cost(node: Any, inherited: int) -> int:
    """Qdrant's read cost of a planned query: each leaf search costs its vectors'
    comparisons plus its filter's conditions; a leaf without a vector query, 1 plus them."""
    conditions = inherited + filter_cost(node.filter)
    subs = _listed(node.prefetch)
    if subs:
        return sum(query_cost(sub, conditions) for sub in subs)
    if node.query is None or isinstance(node.query, _NO_VECTOR_QUERY):
        return 1 + conditions
    return _vector_cost(node.query) + conditions


def _vector_cost(q: Any) -> int:
    if isinstance(q, models.NearestQuery):
        return _vector_cost(q.nearest)
    if isinstance(q, models.RecommendQuery):
        r = q.recommend
        return sum(_vector_cost(v) for v in [*(r.positive or []), *(r.negative or [])])
    if isinstance(q, models.DiscoverQuery):
        pairs = _listed(q.discover.context)
        return _vector_cost(q.discover.target) + sum(_pair_cost(p) for p in pairs)
    if isinstance(q, models.ContextQuery):
        return sum(_pair_cost(p) for p in _listed(q.context))
    if isinstance(q, models.SparseVector):
        return math.ceil(len(q.indices) / _SPARSE_COST_UNIT)
    if isinstance(q, list) and q and isinstance(q[0], list):
        return len(q)
    return 1


def _pair_cost(pair: Any) -> int:
    return _vector_cost(pair.positive) + _vector_cost(pair.negative)


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def check_fullscan(
    col: Any, strict: Any, q: Any, using: str | None, flt: Any, schema: dict[str, Any]
) -> None:
    """With `search_allow_exact: false`, a vector query on a dense vector without a global
    HNSW graph (m = 0) needs a tenant filter and payload_m > 0."""
    if strict.search_allow_exact is not False or isinstance(q, _NO_VECTOR_QUERY):
        return
    name = using or ""
    params = col.config.params
    if name in (params.sparse_vectors or {}):
        return
    vectors = params.vectors
    vp = vectors.get(name) if isinstance(vectors, dict) else (vectors if not name else None)
    own = getattr(vp, "hnsw_config", None)
    m = own.m if own is not None and own.m is not None else col.config.hnsw_config.m
    if m > 0:
        return
    payload_m = own.payload_m if own is not None and own.payload_m is not None else None
    if payload_m is None:
        payload_m = col.config.hnsw_config.payload_m
    payload_m = m if payload_m is None else payload_m
    label = "" if not name else f" on '{name}'"
    f = strict_filter.as_filter(flt)
    keys = list(strict_filter.targeted_keys(f)) if f is not None else []
    if not any(k in schema and strict_filter.is_tenant(schema[k]) for k in keys):
        raise refuse(
            f"Request is forbidden{label} because global vector indexing is disabled "
            "(hnsw_config.m = 0)",
            "Use tenant-specific filter, enable global vector indexing or enable strict "
            "mode `search_allow_exact` option",
        )
    if payload_m == 0:
        raise refuse(
            f"Request is forbidden{label} because vector indexing is disabled "
            "(hnsw_config.m = 0 and hnsw_config.payload_m = 0)",
            "Enable vector indexing, use a prefetch query with indexed vectors or enable "
            "strict mode `search_allow_exact` option",
        )


def check_formula(strict: Any, q: Any, schema: dict[str, Any]) -> None:
    if strict.unindexed_filtering_retrieve is not False or not isinstance(q, models.FormulaQuery):
        return
    seen = strict_filter.Unindexed(schema)
    seen.expression(q.formula)
    found = seen.first()
    if found is not None:
        raise refuse(
            f'Index required but not found for "{found[0]}" of one of the following '
            f"types: [{found[1]}]",
            "Create an index for this key or use a different formula expression.",
        )


def check_group_by(strict: Any, group_by: str, schema: dict[str, Any]) -> None:
    if strict.unindexed_filtering_retrieve is not False:
        return
    help_ = "Create an index supporting `match` for this key."
    info = schema.get(group_by)
    if info is None:
        raise refuse(f'Index required but not found for "{group_by}"', help_)
    if not strict_filter.supports_match(info):
        kind = str(getattr(info.data_type, "value", info.data_type)).capitalize()
        raise refuse(f'Index of type "{kind}" found for "{group_by}"', help_)
