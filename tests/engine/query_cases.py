"""Every query kind of the Query API, as `query_points` keywords, on one collection with every
vector kind (tests/engine/vector_kinds.py) and a payload for order_by and formulas; plus a
second collection for `lookup_from` and one with UUID ids.  The engine's tests and the
server's run each case against qdrant-client's local mode on the same data."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from tests.engine import vector_kinds as vk

NAME, OTHER, UUIDS = "kinds", "other", "uuids"
EXACT = vk.EXACT
M = models


def payload(i: int) -> dict[str, Any]:
    return {
        "i": i,
        "rank": float((i * 37) % 23) / 4,
        "tag": ["red", "green", "blue"][i % 3],
        "loc": {"lon": 10.0 + (i % 7), "lat": 45.0 + (i % 5) / 2},
    }


def uuid_of(i: int) -> str:
    return str(uuid.UUID(int=i * 7919 + 1))


def load(client: Any) -> None:
    """The three collections, with the same points, on `client` (local mode or ours)."""
    client.create_collection(
        NAME, vectors_config=vk.vectors_config(), sparse_vectors_config=vk.sparse_config()
    )
    pts = [p.model_copy(update={"payload": payload(int(p.id))}) for p in vk.points()]
    client.upsert(NAME, pts)
    client.create_payload_index(NAME, "rank", models.PayloadSchemaType.FLOAT)
    client.create_payload_index(NAME, "i", models.PayloadSchemaType.INTEGER)
    rng = np.random.default_rng(3)
    client.create_collection(
        OTHER, vectors_config={"dense2": models.VectorParams(size=8, distance=models.Distance.DOT)}
    )
    client.upsert(
        OTHER,
        [
            models.PointStruct(id=i, vector={"dense2": rng.normal(size=8).round(3).tolist()})
            for i in range(10)
        ],
    )
    client.create_collection(
        UUIDS, vectors_config=models.VectorParams(size=8, distance=models.Distance.EUCLID)
    )
    client.upsert(
        UUIDS,
        [
            models.PointStruct(id=uuid_of(i), vector=rng.normal(size=8).round(3).tolist())
            for i in range(20)
        ],
    )


def local() -> QdrantClient:
    import warnings

    client = QdrantClient(":memory:")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # local mode warns that payload indexes do nothing
        load(client)
    return client


_rng = np.random.default_rng(5)
Q8 = _rng.normal(size=8).round(3).tolist()
Q8B = _rng.normal(size=8).round(3).tolist()
QM = _rng.normal(size=(2, 4)).round(3).tolist()  # no ties with the stored multi-vectors
QS = models.SparseVector(
    indices=[1, 2, 3, 5, 8, 13, 21, 34], values=[0.91, 0.73, 1.37, 0.29, 1.11, 0.53, 0.87, 1.9]
)
NEAR_DENSE = M.Prefetch(query=Q8, using="dense", limit=20, params=EXACT)
NEAR_SPARSE = M.Prefetch(query=QS, using="plain", limit=20)
NEAR_MULTI = M.Prefetch(query=QM, using="multi", limit=20, params=EXACT)


def _reco(pos: list[Any], neg: list[Any], strategy: Any) -> M.RecommendQuery:
    return M.RecommendQuery(
        recommend=M.RecommendInput(positive=pos, negative=neg, strategy=strategy)
    )


AVG, BEST, SUM = (
    M.RecommendStrategy.AVERAGE_VECTOR,
    M.RecommendStrategy.BEST_SCORE,
    M.RecommendStrategy.SUM_SCORES,
)
PAIRS = [M.ContextPair(positive=4, negative=9), M.ContextPair(positive=Q8, negative=12)]
FEEDBACK = M.RelevanceFeedbackQuery(
    relevance_feedback=M.RelevanceFeedbackInput(
        target=Q8,
        feedback=[M.FeedbackItem(example=4, score=0.9), M.FeedbackItem(example=10, score=0.1)],
        strategy=M.NaiveFeedbackStrategy(naive=M.NaiveFeedbackStrategyParams(a=1, b=0.5, c=0.2)),
    )
)

# (case id, query_points keywords): compared with local mode, ids in order and scores
CASES: list[tuple[str, dict[str, Any]]] = [
    ("nearest-dense", {"query": Q8, "using": "dense"}),
    ("nearest-model", {"query": M.NearestQuery(nearest=Q8), "using": "dense"}),
    ("nearest-id", {"query": 4, "using": "dense"}),
    ("nearest-id-multi", {"query": 8, "using": "multi"}),
    ("nearest-id-sparse", {"query": 3, "using": "plain"}),
    ("nearest-threshold", {"query": Q8, "using": "dense", "score_threshold": 0.3}),
    ("nearest-offset", {"query": Q8, "using": "dense", "offset": 3, "limit": 4}),
    (
        "nearest-filter",
        {
            "query": Q8,
            "using": "dense",
            "query_filter": M.Filter(
                must=[M.FieldCondition(key="tag", match=M.MatchValue(value="red"))]
            ),
        },
    ),
    ("mmr", {"query": M.NearestQuery(nearest=Q8, mmr=M.Mmr()), "using": "dense"}),
    (
        "mmr-diversity",
        {
            "query": M.NearestQuery(nearest=Q8, mmr=M.Mmr(diversity=0.9, candidates_limit=30)),
            "using": "dense",
            "limit": 5,
        },
    ),
    ("mmr-id", {"query": M.NearestQuery(nearest=4, mmr=M.Mmr(diversity=0.3)), "using": "dense"}),
    (
        "mmr-sparse",
        {
            "query": M.NearestQuery(nearest=QS, mmr=M.Mmr(diversity=0.6, candidates_limit=40)),
            "using": "plain",
            "offset": 2,
        },
    ),
    ("mmr-sparse-id", {"query": M.NearestQuery(nearest=3, mmr=M.Mmr()), "using": "plain"}),
    ("reco-avg", {"query": _reco([4, Q8B], [9], AVG), "using": "dense"}),
    ("reco-avg-pos", {"query": _reco([4, 6], [], None), "using": "dense"}),
    ("reco-avg-sparse", {"query": _reco([1, 3], [5], AVG), "using": "plain"}),
    ("reco-avg-multi", {"query": _reco([0, QM], [2], AVG), "using": "multi"}),
    ("reco-best", {"query": _reco([4, Q8B], [9], BEST), "using": "dense"}),
    ("reco-best-neg-only", {"query": _reco([], [9, 10], BEST), "using": "dense"}),
    ("reco-sum", {"query": _reco([4], [9, Q8B], SUM), "using": "dense"}),
    ("reco-best-sparse", {"query": _reco([1], [5], BEST), "using": "plain", "limit": 60}),
    ("reco-sum-multi", {"query": _reco([0], [2], SUM), "using": "multi"}),
    (
        "discover",
        {
            "query": M.DiscoverQuery(discover=M.DiscoverInput(target=6, context=PAIRS)),
            "using": "dense",
        },
    ),
    (
        "discover-one-pair",
        {
            "query": M.DiscoverQuery(discover=M.DiscoverInput(target=Q8, context=PAIRS[0])),
            "using": "dense",
        },
    ),
    ("context", {"query": M.ContextQuery(context=PAIRS), "using": "dense", "limit": 60}),
    (
        "context-sparse",
        {
            "query": M.ContextQuery(context=[M.ContextPair(positive=1, negative=3)]),
            "using": "plain",
            "limit": 60,
        },
    ),
    ("feedback", {"query": FEEDBACK, "using": "dense"}),
    ("order-asc", {"query": M.OrderByQuery(order_by="rank")}),
    (
        "order-desc-start",
        {
            "query": M.OrderByQuery(
                order_by=M.OrderBy(key="rank", direction=M.Direction.DESC, start_from=4.0)
            )
        },
    ),
    (
        "order-prefetch",
        {"query": M.OrderByQuery(order_by="i"), "prefetch": NEAR_DENSE, "limit": 7},
    ),
    ("rrf", {"query": M.FusionQuery(fusion=M.Fusion.RRF), "prefetch": [NEAR_DENSE, NEAR_SPARSE]}),
    ("dbsf", {"query": M.FusionQuery(fusion=M.Fusion.DBSF), "prefetch": [NEAR_DENSE, NEAR_MULTI]}),
    (
        "rrf-k",
        {"query": M.RrfQuery(rrf=M.Rrf(k=60)), "prefetch": [NEAR_DENSE, NEAR_SPARSE, NEAR_MULTI]},
    ),
    (
        "rrf-weights",
        {"query": M.RrfQuery(rrf=M.Rrf(weights=[3.0, 0.5])), "prefetch": [NEAR_DENSE, NEAR_SPARSE]},
    ),
    (
        "rescore",
        {
            "query": Q8,
            "using": "dense",
            "prefetch": [NEAR_SPARSE, NEAR_MULTI],
            "search_params": EXACT,
            "limit": 8,
        },
    ),
    (
        "nested",
        {
            "query": M.FusionQuery(fusion=M.Fusion.RRF),
            "prefetch": [
                M.Prefetch(
                    prefetch=[
                        M.Prefetch(
                            query=Q8B,
                            using="dense",
                            limit=30,
                            filter=M.Filter(
                                must_not=[
                                    M.FieldCondition(key="tag", match=M.MatchValue(value="blue"))
                                ]
                            ),
                        )
                    ],
                    query=Q8,
                    using="dense",
                    limit=12,
                    score_threshold=-0.5,
                ),
                M.Prefetch(query=4, using="dense", limit=10),
            ],
        },
    ),
    (
        "formula",
        {
            "query": M.FormulaQuery(
                formula=M.SumExpression(
                    sum=[
                        "$score",
                        M.MultExpression(mult=[0.1, "rank"]),
                        M.FieldCondition(key="tag", match=M.MatchValue(value="green")),
                    ]
                )
            ),
            "prefetch": NEAR_DENSE,
        },
    ),
    (
        "formula-defaults",
        {
            "query": M.FormulaQuery(
                formula=M.MultExpression(mult=["$score", "boost"]), defaults={"boost": 2.0}
            ),
            "prefetch": NEAR_DENSE,
        },
    ),
    (
        "formula-math",
        {
            "query": M.FormulaQuery(
                formula=M.SumExpression(
                    sum=[
                        M.AbsExpression(abs="$score"),
                        M.SqrtExpression(sqrt="rank"),
                        M.DivExpression(div=M.DivParams(left="i", right=7, by_zero_default=0)),
                        M.PowExpression(pow=M.PowParams(base=1.1, exponent="i")),
                        M.LnExpression(ln=M.SumExpression(sum=[1.5, "rank"])),
                        M.NegExpression(neg=M.Log10Expression(log10=M.ExpExpression(exp=1))),
                    ]
                )
            ),
            "prefetch": NEAR_DENSE,
        },
    ),
    (
        "formula-decay",
        {
            "query": M.FormulaQuery(
                formula=M.SumExpression(
                    sum=[
                        "$score",
                        M.LinDecayExpression(
                            lin_decay=M.DecayParamsExpression(x="rank", target=2.0, scale=3.0)
                        ),
                        M.ExpDecayExpression(
                            exp_decay=M.DecayParamsExpression(x="i", midpoint=0.2, scale=20)
                        ),
                        M.GaussDecayExpression(gauss_decay=M.DecayParamsExpression(x="rank")),
                    ]
                )
            ),
            "prefetch": NEAR_DENSE,
        },
    ),
    (
        "formula-geo",
        {
            "query": M.FormulaQuery(
                formula=M.GaussDecayExpression(
                    gauss_decay=M.DecayParamsExpression(
                        x=M.GeoDistance(
                            geo_distance=M.GeoDistanceParams(
                                origin=M.GeoPoint(lon=12.0, lat=46.0), to="loc"
                            )
                        ),
                        scale=100_000,
                    )
                )
            ),
            "prefetch": NEAR_DENSE,
        },
    ),
    ("scroll-like", {"limit": 7}),
    (
        "scroll-like-filter",
        {
            "query_filter": M.Filter(
                must=[M.FieldCondition(key="tag", match=M.MatchValue(value="blue"))]
            ),
            "offset": 2,
        },
    ),
    (
        "lookup",
        {
            "query": 3,
            "using": "dense",
            "lookup_from": M.LookupLocation(collection=OTHER, vector="dense2"),
        },
    ),
    (
        "lookup-reco",
        {
            "query": _reco([1, 2], [7], BEST),
            "using": "dense",
            "lookup_from": M.LookupLocation(collection=OTHER, vector="dense2"),
        },
    ),
    (
        "lookup-prefetch",
        {
            "query": M.FusionQuery(fusion=M.Fusion.RRF),
            "prefetch": [
                M.Prefetch(
                    query=_reco([1], [], AVG),
                    using="dense",
                    lookup_from=M.LookupLocation(collection=OTHER, vector="dense2"),
                ),
                M.Prefetch(query=4, using="dense"),
            ],
        },
    ),
    ("payload-select", {"query": Q8, "using": "dense", "with_payload": ["tag", "i"]}),
    (
        "payload-exclude",
        {"query": Q8, "using": "dense", "with_payload": M.PayloadSelectorExclude(exclude=["loc"])},
    ),
    (
        "vectors-select",
        {"query": 4, "using": "dense", "with_vectors": ["dense", "plain"], "limit": 3},
    ),
    ("vectors-all", {"query": QS, "using": "plain", "with_vectors": True, "limit": 3}),
]

UUID_CASES: list[tuple[str, dict[str, Any]]] = [
    ("uuid-nearest-id", {"query": uuid_of(3)}),
    ("uuid-nearest-uuid", {"query": uuid.UUID(uuid_of(5))}),
    ("uuid-reco", {"query": _reco([uuid_of(1), uuid_of(2)], [uuid_of(8)], BEST)}),
    ("uuid-scroll-like", {"limit": 20}),
]


def _groups(hits: list[models.ScoredPoint]) -> list[tuple[Any, set[Any]]]:
    """Hits as (key, ids) runs of equal keys (the order value for order_by, else the score)."""
    out: list[tuple[Any, set[Any]]] = []
    for p in hits:
        key = p.order_value if p.order_value is not None else p.score
        if out and abs(float(out[-1][0]) - float(key)) <= 1e-5 * max(1.0, abs(float(key))):
            out[-1][1].add(p.id)
        else:
            out.append((key, {p.id}))
    return out


def same_answer(a: list[models.ScoredPoint], b: list[models.ScoredPoint]) -> bool:
    """Same ids in the same order and scores (and order values) to float32 precision; ties
    may come in any order, and the last run of ties may be cut at the limit anywhere."""
    if len(a) != len(b):
        return False
    if not np.allclose([p.score for p in a], [p.score for p in b], rtol=1e-5, atol=1e-5):
        return False
    ga, gb = _groups(a), _groups(b)
    if len(ga) != len(gb) or [len(ids) for _, ids in ga] != [len(ids) for _, ids in gb]:
        return False
    if [k for k, _ in ga] != [k for k, _ in gb] and not np.allclose(
        [float(k) for k, _ in ga], [float(k) for k, _ in gb], rtol=1e-5, atol=1e-5
    ):
        return False
    by_id = {p.id: p for p in b}
    for x in a:  # what both answered carries the same payload and vectors
        y = by_id.get(x.id)
        if y is not None and (x.payload != y.payload or not _same_vectors(x.vector, y.vector)):
            return False
    return all(ia == ib for (_, ia), (_, ib) in zip(ga[:-1], gb[:-1], strict=True))


def _same_vectors(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if not isinstance(a, dict):
        return vk.same_vector(a, b)
    return isinstance(b, dict) and vk.same_vectors(a, b)
