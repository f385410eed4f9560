"""The Query API's variants (`models.Query`) as Edge scoring queries, one function a kind.

    nearest (with mmr)      Query.Nearest / Mmr (lambda = 1 - diversity, Qdrant's default 0.5)
    recommend               average_vector: one Nearest of Qdrant's average vector (computed
                            here); best_score / sum_scores: Query.Recommend*
    discover, context       Query.Discover / Query.Context
    relevance_feedback      Query.FeedbackNaive
    order_by, fusion, rrf   OrderBy, Fusion.Rrf (Qdrant's k = 2 unless given, weights) / Dbsf
    formula, sample         formula.py, Sample.Random

A vector input is a vector of any kind or a point id; `VectorOf` (resolve.py) turns each
into a checked vector for the stage's `using`, so this module never reads a shard.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import qdrant_edge as edge
from pydantic import TypeAdapter, ValidationError
from qdrant_client import models

from crewchief.engine.convert.points import constructed
from crewchief.engine.convert.vectors import validation_error
from crewchief.engine.query.formula import edge_formula
from crewchief.errors import InvalidInput

VectorOf = Callable[[Any], Any]
DEFAULT_RRF_K = 2  # segment/src/common/reciprocal_rank_fusion.rs
DEFAULT_MMR_LAMBDA = 0.5
MAX_MMR_CANDIDATES = 16_384
_QUERY = TypeAdapter(models.QueryInterface)
_NEAREST_SET = frozenset({"nearest", "mmr"})
_INFERENCE = (models.Document, models.Image, models.InferenceObject)
_DIRECTIONS = {models.Direction.ASC: edge.Direction.Asc, models.Direction.DESC: edge.Direction.Desc}


def as_query(query: Any) -> Any:
    """QdrantClient's `query` argument as a `models.Query` variant (a bare vector or point id
    is a NearestQuery), or None; refuses what the engine cannot answer."""
    if query is None:
        return None
    if isinstance(query, np.ndarray):
        query = query.tolist()
    if type(query) is list:  # a vector or a multi-vector: the common case, checked first
        return nearest_query(query)
    if isinstance(query, dict):
        try:
            query = _QUERY.validate_python(query)
        except ValidationError as exc:
            raise InvalidInput(
                f"Wrong input: not a query: {exc.errors()[0].get('msg')}",
                hint="See models.Query for the query kinds",
            ) from None
    if isinstance(query, _INFERENCE):
        raise InvalidInput(
            f"Wrong input: {type(query).__name__} needs inference, which crewchief does not run",
            hint="Embed the text or image yourself and query with the vector",
        )
    if isinstance(query, models.TextQuery):
        raise InvalidInput(
            "Wrong input: text (BM25) queries are not part of Qdrant 1.19's API",
            hint="Use a full-text match filter (models.MatchText) or a sparse vector",
        )
    if isinstance(query, models.BaseModel) and not isinstance(query, models.SparseVector):
        return query
    return nearest_query(query)


def nearest_query(nearest: Any) -> models.NearestQuery:
    """A NearestQuery without MMR of an input already read (a vector or a point id)."""
    return constructed(models.NearestQuery, {"nearest": nearest, "mmr": None}, _NEAREST_SET)


def is_point_id(v: Any) -> bool:
    return isinstance(v, uuid.UUID | str) or (isinstance(v, int) and not isinstance(v, bool))


def _pairs(context: Any) -> list[models.ContextPair]:
    if context is None:
        return []
    if isinstance(context, models.ContextPair):
        return [context]
    return list(context)


def inputs(query: Any) -> Iterator[Any]:
    """Every vector input of a query (vectors and point ids), in no particular order."""
    if isinstance(query, models.NearestQuery):
        yield query.nearest
    elif isinstance(query, models.RecommendQuery):
        yield from query.recommend.positive or []
        yield from query.recommend.negative or []
    elif isinstance(query, models.DiscoverQuery):
        yield query.discover.target
        for pair in _pairs(query.discover.context):
            yield from (pair.positive, pair.negative)
    elif isinstance(query, models.ContextQuery):
        for pair in _pairs(query.context):
            yield from (pair.positive, pair.negative)
    elif isinstance(query, models.RelevanceFeedbackQuery):
        yield query.relevance_feedback.target
        yield from (item.example for item in query.relevance_feedback.feedback)


def is_vector_query(query: Any) -> bool:
    return isinstance(
        query,
        models.NearestQuery
        | models.RecommendQuery
        | models.DiscoverQuery
        | models.ContextQuery
        | models.RelevanceFeedbackQuery,
    )


def scoring(query: Any, using: str | None, limit: int, vec: VectorOf) -> Any:
    """The edge's scoring query for one stage (`limit`: the stage's, MMR's default pool)."""
    name = using or None
    if isinstance(query, models.NearestQuery):
        return _nearest(query, name, limit, vec)
    if isinstance(query, models.RecommendQuery):
        return _recommend(query.recommend, name, vec)
    if isinstance(query, models.DiscoverQuery):
        pairs = [_pair(p, vec) for p in _pairs(query.discover.context)]
        return edge.Query.Discover(edge.DiscoverQuery(vec(query.discover.target), pairs), name)
    if isinstance(query, models.ContextQuery):
        pairs = [_pair(p, vec) for p in _pairs(query.context)]
        return edge.Query.Context(edge.ContextQuery(pairs), name)
    if isinstance(query, models.RelevanceFeedbackQuery):
        return _feedback(query.relevance_feedback, name, vec)
    if isinstance(query, models.OrderByQuery):
        return _order_by(query.order_by)
    if isinstance(query, models.FusionQuery):
        if models.Fusion(query.fusion) == models.Fusion.DBSF:
            return edge.Fusion.Dbsf()
        return edge.Fusion.Rrf(k=DEFAULT_RRF_K)
    if isinstance(query, models.RrfQuery):
        k = DEFAULT_RRF_K if query.rrf.k is None else query.rrf.k
        if k < 1:
            raise validation_error("rrf.k", f"value {k} invalid, must be 1 or larger", "k=2")
        return edge.Fusion.Rrf(k=k, weights=query.rrf.weights)
    if isinstance(query, models.FormulaQuery):
        return edge_formula(query)
    if isinstance(query, models.SampleQuery):
        return edge.Sample.Random
    raise InvalidInput(
        f"Wrong input: unsupported query {type(query).__name__}",
        hint="See models.Query for the query kinds",
    )


def mmr_settings(mmr: models.Mmr, limit: int) -> tuple[float, int]:
    """MMR's (lambda, candidates) after Qdrant's checks: lambda = 1 - diversity (default
    0.5), candidates_limit defaulting to the limit."""
    diversity, candidates = mmr.diversity, mmr.candidates_limit
    if diversity is not None and not 0.0 <= diversity <= 1.0:
        raise validation_error(
            "mmr.diversity", f"value {diversity} invalid, must be from 0.0 to 1.0", "0.5"
        )
    if candidates is not None and not 0 <= candidates <= MAX_MMR_CANDIDATES:
        raise validation_error(
            "mmr.candidates_limit",
            f"value {candidates} invalid, must be {MAX_MMR_CANDIDATES} or smaller",
            "Leave it out: the limit is used",
        )
    lambda_ = DEFAULT_MMR_LAMBDA if diversity is None else 1.0 - diversity
    return lambda_, limit if candidates is None else candidates


def _nearest(q: models.NearestQuery, using: str | None, limit: int, vec: VectorOf) -> Any:
    vector = vec(q.nearest)
    if q.mmr is None:
        return edge.Query.Nearest(vector, using)
    lambda_, pool = mmr_settings(q.mmr, limit)
    if isinstance(vector, edge.SparseVector):  # the request's own MMR is done in mmr.py
        raise InvalidInput(
            "MMR on a sparse vector in a prefetch is not supported by the embedded engine "
            "(Qdrant Edge 0.9.0 has no MMR over sparse vectors)",
            hint="Use mmr on the request's own query, with a dense or multi-vector "
            "prefetch, or leave mmr out",
        )
    return edge.Mmr(vector, lambda_, pool, using=using)


def _pair(p: models.ContextPair, vec: VectorOf) -> edge.ContextPair:
    return edge.ContextPair(vec(p.positive), vec(p.negative))


def _recommend(r: models.RecommendInput, using: str | None, vec: VectorOf) -> Any:
    positives = [vec(v) for v in r.positive or []]
    negatives = [vec(v) for v in r.negative or []]
    if not positives and not negatives:
        raise validation_error(
            "positives, negatives",
            "At least one positive or negative vector/id must be provided",
            "recommend={'positive': [id or vector, ...]}",
        )
    strategy = models.RecommendStrategy(r.strategy or models.RecommendStrategy.AVERAGE_VECTOR)
    if strategy == models.RecommendStrategy.BEST_SCORE:
        return edge.Query.RecommendBestScore(edge.RecommendQuery(positives, negatives), using)
    if strategy == models.RecommendStrategy.SUM_SCORES:
        return edge.Query.RecommendSumScores(edge.RecommendQuery(positives, negatives), using)
    return edge.Query.Nearest(average_vector(positives, negatives), using)


def _feedback(f: models.RelevanceFeedbackInput, using: str | None, vec: VectorOf) -> Any:
    if not f.feedback:
        raise validation_error(
            "feedback", "feedback elements must be non-empty", "feedback=[FeedbackItem(...)]"
        )
    naive = f.strategy.naive
    if naive.b < 0:
        raise validation_error(
            "strategy.naive.b", f"value {naive.b} invalid, must be 0.0 or larger", "b >= 0"
        )
    items = [edge.FeedbackItem(vec(i.example), float(i.score)) for i in f.feedback]
    strategy = edge.NaiveFeedbackStrategy(naive.a, naive.b, naive.c)
    return edge.Query.FeedbackNaive(edge.FeedbackNaiveQuery(vec(f.target), items, strategy), using)


def _order_by(o: str | models.OrderBy) -> edge.OrderBy:
    if isinstance(o, str):
        return edge.OrderBy(o)
    start: Any = o.start_from
    if start is not None and not isinstance(start, int | float | str):
        start = start.isoformat()  # a datetime
    direction = _DIRECTIONS[models.Direction(o.direction)] if o.direction else None
    return edge.OrderBy(o.key, direction=direction, start_from=start)


# -- Qdrant's average vector (collection/src/recommendations.rs) ---------------------------------


def _kind(v: Any) -> str:
    if isinstance(v, edge.SparseVector):
        return "sparse"
    return "multi" if v and isinstance(v[0], list) else "dense"


def average_vector(positives: Sequence[Any], negatives: Sequence[Any]) -> Any:
    """avg(positives), or 2 * avg(positives) - avg(negatives) with negatives (float32, as
    Qdrant); multi-vectors concatenate their rows, the negatives' rows negated."""
    avg_pos = _average(positives)
    if not negatives:
        return avg_pos
    avg_neg = _average(negatives)
    kind = _kind(avg_pos)
    if kind != _kind(avg_neg):
        raise InvalidInput(
            "Wrong input: Positive and negative vectors should be of the same type, "
            "either all dense or all sparse or all multi",
            hint="Use one vector kind (the `using` one) for every example",
        )
    if kind == "dense":
        p, n = np.asarray(avg_pos, np.float32), np.asarray(avg_neg, np.float32)
        return (p + p - n).tolist()
    if kind == "multi":
        return [*avg_pos, *(np.negative(np.asarray(avg_neg, np.float32))).tolist()]
    return _sparse_merge(avg_pos, avg_neg, lambda a, b: a + a - b)


def _average(vectors: Sequence[Any]) -> Any:
    if not vectors:
        raise InvalidInput(
            "Wrong input: Positive vectors should not be empty with `average` strategy",
            hint="Give at least one positive example, or use strategy best_score",
        )
    kinds = {_kind(v) for v in vectors}
    if len(kinds) > 1:
        raise InvalidInput(
            "Wrong input: Can't average vectors with different types",
            hint="Use one vector kind (the `using` one) for every example",
        )
    kind = kinds.pop()
    if kind == "multi":
        return [row for v in vectors for row in v]
    if kind == "dense":
        total = np.zeros(len(vectors[0]), np.float32)
        for v in vectors:
            total = total + np.asarray(v, np.float32)
        return (total / np.float32(len(vectors))).tolist()
    acc: edge.SparseVector = edge.SparseVector([], [])
    for v in vectors:
        acc = _sparse_merge(v, acc, lambda a, b: a + b)
    n = np.float32(len(vectors))
    return edge.SparseVector(list(acc.indices), [float(np.float32(x) / n) for x in acc.values])


def _sparse_merge(
    a: edge.SparseVector, b: edge.SparseVector, fn: Callable[[Any, Any], Any]
) -> edge.SparseVector:
    """fn(a_i, b_i) on the union of indices (a missing value is 0), sorted by index."""
    av = dict(zip(a.indices, a.values, strict=True))
    bv = dict(zip(b.indices, b.values, strict=True))
    keys = sorted(set(av) | set(bv))
    zero = np.float32(0)
    vals = [float(fn(np.float32(av.get(k, zero)), np.float32(bv.get(k, zero)))) for k in keys]
    return edge.SparseVector(keys, vals)
