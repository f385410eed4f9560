"""Every query kind of `query_points` on the embedded engine, against qdrant-client's local
mode on the same data (ids in order, scores to float32 precision); Qdrant's refusals; a
walk of every field of `models.QueryRequest` and every `models.Query` variant."""

from __future__ import annotations

import math
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from crewchief import Engine
from crewchief.errors import CrewchiefError, InvalidInput, NotFound, ValidationFailed
from tests.engine import query_cases as qc

M = models


@pytest.fixture(scope="module")
def local() -> QdrantClient:
    return qc.local()


@pytest.fixture(scope="module")
def eng(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    e = Engine(Path(tmp_path_factory.mktemp("qk")) / "data")
    qc.load(e)
    yield e
    e.close()


@pytest.mark.parametrize(("case", "kwargs"), qc.CASES, ids=[c for c, _ in qc.CASES])
def test_kind_as_local_mode(
    local: QdrantClient, eng: Engine, case: str, kwargs: dict[str, Any]
) -> None:
    want = local.query_points(qc.NAME, **kwargs).points
    got = eng.query_points(qc.NAME, **kwargs).points
    assert want, case
    assert qc.same_answer(want, got), (case, [(p.id, p.score) for p in got])


@pytest.mark.parametrize(("case", "kwargs"), qc.UUID_CASES, ids=[c for c, _ in qc.UUID_CASES])
def test_uuid_kind_as_local_mode(
    local: QdrantClient, eng: Engine, case: str, kwargs: dict[str, Any]
) -> None:
    want = local.query_points(qc.UUIDS, **kwargs).points
    got = eng.query_points(qc.UUIDS, **kwargs).points
    assert qc.same_answer(want, got), case


def test_ids_used_are_excluded(eng: Engine) -> None:
    """Qdrant never answers a query with the points it names (at any depth)."""
    got = eng.query_points(qc.NAME, query=4, using="dense", limit=60).points
    assert 4 not in {p.id for p in got} and len(got) == 59
    nested = eng.query_points(
        qc.NAME,
        query=M.FusionQuery(fusion=M.Fusion.RRF),
        prefetch=[M.Prefetch(query=7, using="dense", limit=60), qc.NEAR_DENSE],
        limit=60,
    ).points
    assert 7 not in {p.id for p in nested}
    # ids looked up in another collection are not excluded from this one
    other = M.LookupLocation(collection=qc.OTHER, vector="dense2")
    looked = eng.query_points(qc.NAME, query=3, using="dense", lookup_from=other, limit=60)
    assert 3 in {p.id for p in looked.points}


def test_sample_random(eng: Engine) -> None:
    flt = M.Filter(must=[M.FieldCondition(key="tag", match=M.MatchValue(value="red"))])
    seen = set()
    for _ in range(5):
        pts = eng.query_points(
            qc.NAME, query=M.SampleQuery(sample=M.Sample.RANDOM), query_filter=flt, limit=5
        ).points
        ids = [p.id for p in pts]
        assert len(set(ids)) == 5 and all(i % 3 == 0 for i in ids)
        seen.update(ids)
    assert len(seen) > 5  # random: five draws do not all give the same five points
    # the offset is ignored (Qdrant: a random sample has no stable order)
    off = eng.query_points(qc.NAME, query=M.SampleQuery(sample=M.Sample.RANDOM), offset=58)
    assert len(off.points) == 10


def test_mmr_reorders_as_documented(eng: Engine) -> None:
    """MMR keeps the similarity scores but reorders for diversity: the top hit is the nearest,
    and diversity 0 is plain nearest order."""
    plain = eng.query_points(qc.NAME, query=qc.Q8, using="dense", limit=8).points
    same = eng.query_points(
        qc.NAME,
        query=M.NearestQuery(nearest=qc.Q8, mmr=M.Mmr(diversity=0.0)),
        using="dense",
        limit=8,
    ).points
    assert [p.id for p in same] == [p.id for p in plain]
    diverse = eng.query_points(
        qc.NAME,
        query=M.NearestQuery(nearest=qc.Q8, mmr=M.Mmr(diversity=1.0, candidates_limit=40)),
        using="dense",
        limit=8,
    ).points
    assert diverse[0].id == plain[0].id and [p.id for p in diverse] != [p.id for p in plain]
    assert all(p.vector is None for p in diverse)  # vectors only when asked


def test_batch_answers_every_kind(eng: Engine) -> None:
    picked = [
        kw
        for case, kw in qc.CASES
        if case.startswith(("nearest-id", "reco", "rrf", "formula", "order", "lookup", "scroll"))
    ]
    requests = [_request(kw) for kw in picked]
    batch = eng.query_batch_points(qc.NAME, requests)
    assert len(batch) == len(picked)
    for kw, r, answer in zip(picked, requests, batch, strict=True):
        one = eng.query_points(
            qc.NAME,
            **{
                **kw,
                "with_payload": r.with_payload or False,
                "with_vectors": r.with_vector or False,
            },
        )
        assert qc.same_answer(one.points, answer.points)


def _request(kw: dict[str, Any]) -> models.QueryRequest:
    names = {"query_filter": "filter", "search_params": "params", "with_vectors": "with_vector"}
    return models.QueryRequest(**{names.get(k, k): v for k, v in kw.items()})


NAN = [1.0, math.nan, 0, 0, 0, 0, 0, 0]
INF = [1.0, math.inf, 0, 0, 0, 0, 0, 0]
LOOKUP_MISSING = M.LookupLocation(collection="nowhere")

REFUSALS: list[tuple[str, dict[str, Any], type[CrewchiefError], str]] = [
    (
        "unknown-using",
        {"query": qc.Q8, "using": "nope"},
        InvalidInput,
        "Not existing vector name error: nope",
    ),
    (
        "unknown-using-id",
        {"query": 4, "using": "nope"},
        InvalidInput,
        "Not existing vector name error: nope",
    ),
    (
        "sparse-for-dense",
        {"query": qc.QS, "using": "dense"},
        InvalidInput,
        "Conversion between sparse and regular",
    ),
    (
        "dense-for-sparse",
        {"query": qc.Q8, "using": "plain"},
        InvalidInput,
        "Conversion between sparse and regular",
    ),
    ("wrong-dim", {"query": [1.0, 2.0], "using": "dense"}, InvalidInput, "Vector dimension error"),
    ("nan", {"query": NAN, "using": "dense"}, InvalidInput, "NaN"),
    ("inf", {"query": INF, "using": "dense"}, InvalidInput, "infinite"),
    (
        "inf-in-multi",
        {"query": [[1.0, 0, 0, 0], INF[:4]], "using": "multi"},
        InvalidInput,
        "infinite",
    ),
    (
        "inf-in-sparse",
        {"query": M.SparseVector(indices=[1, 2], values=[1.0, math.inf]), "using": "plain"},
        InvalidInput,
        "infinite",
    ),
    ("nan-in-reco", {"query": qc._reco([NAN], [], qc.BEST), "using": "dense"}, InvalidInput, "NaN"),
    (
        "nan-in-prefetch",
        {
            "query": M.FusionQuery(fusion=M.Fusion.RRF),
            "prefetch": M.Prefetch(query=NAN, using="dense"),
        },
        InvalidInput,
        "NaN",
    ),
    (
        "missing-id",
        {"query": 999, "using": "dense"},
        NotFound,
        "No point with id 999 found",
    ),
    (
        "id-without-vector",
        {"query": 1, "using": "multi"},
        NotFound,
        'Vector with name "multi" for point not found',
    ),
    (
        "missing-id-in-reco",
        {"query": qc._reco([4, 998], [], qc.AVG), "using": "dense"},
        NotFound,
        "No point with id 998 found",
    ),
    (
        "lookup-missing",
        {"query": 3, "using": "dense", "lookup_from": LOOKUP_MISSING},
        NotFound,
        "Collection nowhere not found",
    ),
    (
        "lookup-wrong-name",
        {
            "query": 3,
            "using": "dense",
            "lookup_from": M.LookupLocation(collection=qc.OTHER, vector="x"),
        },
        InvalidInput,
        "Not existing vector name error: x",
    ),
    (
        "prefetch-limit-0",
        {
            "query": M.FusionQuery(fusion=M.Fusion.RRF),
            "prefetch": M.Prefetch(query=qc.Q8, using="dense", limit=0),
        },
        ValidationFailed,
        "prefetch.limit: value 0 invalid",
    ),
    (
        "limit-0",
        {"query": qc.Q8, "using": "dense", "limit": 0},
        ValidationFailed,
        "limit: value 0 invalid",
    ),
    (
        "prefetch-no-query",
        {"prefetch": qc.NEAR_DENSE},
        InvalidInput,
        "A query is needed to merge the prefetches",
    ),
    (
        "threshold-no-query",
        {"score_threshold": 0.5},
        InvalidInput,
        "A query is needed to use the score_threshold",
    ),
    (
        "threshold-order-by",
        {"query": M.OrderByQuery(order_by="rank"), "score_threshold": 0.5},
        InvalidInput,
        "Can't use score_threshold with an order_by query",
    ),
    (
        "fusion-using",
        {"query": M.FusionQuery(fusion=M.Fusion.RRF), "using": "dense", "prefetch": qc.NEAR_DENSE},
        InvalidInput,
        "Fusion queries cannot be combined with the 'using' field",
    ),
    (
        "formula-not-a-number",  # "tag" holds text: Qdrant's 400, not a 500
        {"query": M.FormulaQuery(formula="tag"), "prefetch": qc.NEAR_DENSE},
        InvalidInput,
        "the formula could not be evaluated",
    ),
    (
        "formula-non-finite",
        {"query": M.FormulaQuery(formula=M.LnExpression(ln=0)), "prefetch": qc.NEAR_DENSE},
        InvalidInput,
        "non-finite",
    ),
    (
        "formula-no-prefetch",
        {"query": M.FormulaQuery(formula="$score")},
        InvalidInput,
        "without prefetches",
    ),
    (
        "order-by-no-index",
        {"query": M.OrderByQuery(order_by="tag")},
        InvalidInput,
        "No range index for `order_by` key",
    ),
    (
        "mmr-diversity",
        {"query": M.NearestQuery(nearest=qc.Q8, mmr=M.Mmr(diversity=1.5)), "using": "dense"},
        ValidationFailed,
        "value 1.5 invalid",
    ),
    (
        "mmr-candidates",
        {
            "query": M.NearestQuery(nearest=qc.Q8, mmr=M.Mmr(candidates_limit=20000)),
            "using": "dense",
        },
        ValidationFailed,
        "16384 or smaller",
    ),
    (
        "rrf-k-0",
        {"query": M.RrfQuery(rrf=M.Rrf(k=0)), "prefetch": qc.NEAR_DENSE},
        ValidationFailed,
        "rrf.k",
    ),
    (
        "reco-empty",
        {"query": qc._reco([], [], qc.BEST), "using": "dense"},
        ValidationFailed,
        "At least one positive or negative",
    ),
    (
        "reco-avg-no-positive",
        {"query": qc._reco([], [4], qc.AVG), "using": "dense"},
        InvalidInput,
        "Positive vectors should not be empty",
    ),
    (
        "feedback-b",
        {
            "query": qc.FEEDBACK.model_copy(
                update={
                    "relevance_feedback": qc.FEEDBACK.relevance_feedback.model_copy(
                        update={
                            "strategy": M.NaiveFeedbackStrategy(
                                naive=M.NaiveFeedbackStrategyParams(a=1, b=-1, c=1)
                            )
                        }
                    )
                }
            ),
            "using": "dense",
        },
        ValidationFailed,
        "strategy.naive.b",
    ),
    (
        "formula-score-default",
        {
            "query": M.FormulaQuery(formula="$score", defaults={"$score": "x"}),
            "prefetch": qc.NEAR_DENSE,
        },
        ValidationFailed,
        "Score default must be a number",
    ),
    (
        "text-query",
        {"query": M.TextQuery(text="hello"), "using": "tag"},
        InvalidInput,
        "text (BM25) queries",
    ),
    (
        "document",
        {"query": M.Document(text="hi", model="m"), "using": "dense"},
        InvalidInput,
        "inference",
    ),
    (
        "shard-key",
        {"query": qc.Q8, "using": "dense", "shard_key_selector": "a"},
        InvalidInput,
        "Shard key a not found",
    ),
    (
        "bad-id-text",
        {"query": "not-a-uuid", "using": "dense"},
        InvalidInput,
        "neither a vector nor a point id",
    ),
    (
        "missing-collection",
        {"query": qc.Q8, "using": "dense", "collection_name": "nowhere"},
        NotFound,
        "nowhere",
    ),
]


@pytest.mark.parametrize(
    ("case", "kwargs", "error", "text"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_refusals(
    eng: Engine, case: str, kwargs: dict[str, Any], error: type[CrewchiefError], text: str
) -> None:
    kwargs = dict(kwargs)
    name = kwargs.pop("collection_name", qc.NAME)
    with pytest.raises(error) as info:
        eng.query_points(name, **kwargs)
    assert text in info.value.message, info.value.message
    if error is not ValidationFailed:  # ValidationFailed is an InvalidInput: both checked
        assert not isinstance(info.value, ValidationFailed) or error is InvalidInput


def test_batch_refuses_like_one(eng: Engine) -> None:
    with pytest.raises(NotFound, match="No point with id 999 found"):
        eng.query_batch_points(
            qc.NAME,
            [_request({"query": 4, "using": "dense"}), _request({"query": 999, "using": "dense"})],
        )


# -- every field and every variant: it changes the answer, or it is refused -----------------

BASE: dict[str, Any] = {"query": qc.Q8, "using": "dense", "limit": 5}
FIELD_CHANGES: dict[str, dict[str, Any]] = {
    "prefetch": {"prefetch": M.Prefetch(query=qc.QS, using="plain", limit=6)},
    "query": {"query": qc.Q8B},
    "using": {"using": "half", "query": [1.0] * 8},
    "filter": {
        "query_filter": M.Filter(
            must=[M.FieldCondition(key="tag", match=M.MatchValue(value="red"))]
        )
    },
    "params": {
        "search_params": M.SearchParams(
            exact=True, quantization=M.QuantizationSearchParams(ignore=True)
        )
    },
    "score_threshold": {"score_threshold": 0.9},
    "limit": {"limit": 2},
    "offset": {"offset": 2},
    "with_vector": {"with_vectors": ["dense"]},
    "with_payload": {"with_payload": ["tag"]},
    "lookup_from": {
        "query": 3,
        "lookup_from": M.LookupLocation(collection=qc.OTHER, vector="dense2"),
    },
}
REFUSED_FIELDS = {"shard_key"}
# search params change nothing on an exact (unindexed) collection: their effect is the edge's
SAME_ANSWER_FIELDS = {"params"}


def _answer(eng: Engine, kw: dict[str, Any]) -> list[Any]:
    pts = eng.query_points(qc.NAME, **kw).points
    return [(p.id, round(p.score, 5), p.payload, p.vector) for p in pts]


def test_every_query_request_field_changes_the_answer_or_is_refused(eng: Engine) -> None:
    fields = set(models.QueryRequest.model_fields)
    assert fields == set(FIELD_CHANGES) | REFUSED_FIELDS, "a new QueryRequest field"
    base = _answer(eng, {**BASE, "with_payload": False})
    for field, change in FIELD_CHANGES.items():
        kw = {**BASE, "with_payload": False, **change}
        if field == "lookup_from":  # without lookup_from, id 3 is this collection's point
            base_kw = {**kw, "lookup_from": None}
            assert _answer(eng, kw) != _answer(eng, base_kw), field
            continue
        if field in SAME_ANSWER_FIELDS:
            assert _answer(eng, kw) == base, field
            continue
        assert _answer(eng, kw) != base, field
    with pytest.raises(InvalidInput, match="Shard key"):
        eng.query_points(qc.NAME, **BASE, shard_key_selector=1)


def test_every_query_variant_is_answered_or_refused(eng: Engine) -> None:
    answered = {type(kw.get("query")) for _, kw in qc.CASES if "query" in kw}
    answered.add(M.SampleQuery)  # test_sample_random (random: no local-mode comparison)
    refused = {M.TextQuery}
    for variant in typing.get_args(models.Query):
        assert variant in answered or variant in refused, variant.__name__
    assert models.Prefetch.model_fields.keys() <= {
        "prefetch",
        "query",
        "using",
        "filter",
        "params",
        "score_threshold",
        "limit",
        "lookup_from",
    }


def test_prefetch_fields_change_the_answer(eng: Engine) -> None:
    """Each stage's filter, limit, using, score_threshold and lookup_from is honoured."""
    fuse = M.FusionQuery(fusion=M.Fusion.RRF)
    base = M.Prefetch(query=qc.Q8, using="dense", limit=10)
    changes = {
        "filter": {
            "filter": M.Filter(must=[M.FieldCondition(key="tag", match=M.MatchValue(value="red"))])
        },
        "limit": {"limit": 3},
        "using": {"using": "half", "query": [1.0] * 8},
        "score_threshold": {"score_threshold": 0.5},
        "lookup_from": {
            "query": 3,
            "lookup_from": M.LookupLocation(collection=qc.OTHER, vector="dense2"),
        },
        "prefetch": {"prefetch": M.Prefetch(query=qc.QS, using="plain", limit=5)},
        "query": {"query": qc.Q8B},
    }
    first = _answer(eng, {"query": fuse, "prefetch": base, "limit": 20})
    for field, change in changes.items():
        stage = base.model_copy(update=change)
        if field == "lookup_from":
            first = _answer(
                eng, {"query": fuse, "prefetch": base.model_copy(update={"query": 3}), "limit": 20}
            )
        assert _answer(eng, {"query": fuse, "prefetch": stage, "limit": 20}) != first, field


def test_mmr_on_a_sparse_vector_as_local_mode(tmp_path: Path) -> None:
    """Edge 0.9.0 has no MMR over a sparse vector: the request's own is selected by the
    engine (query/mmr.py) as local mode does it, ids in order, scores, offset, a point id
    as the query, batches; one in a prefetch is refused with the reason, not a 500."""
    rng = np.random.default_rng(3)
    points = [
        models.PointStruct(
            id=i,
            vector={
                "s": models.SparseVector(
                    indices=sorted(rng.choice(40, 6, replace=False).tolist()),
                    values=rng.random(6).round(3).tolist(),
                )
            },
            payload={"n": i},
        )
        for i in range(300)
    ]
    local = QdrantClient(":memory:")
    with Engine(tmp_path / "mmr") as engine:
        for c in (engine, local):
            c.create_collection(
                "c", vectors_config={}, sparse_vectors_config={"s": models.SparseVectorParams()}
            )
            c.upsert("c", points)
        sparse = models.SparseVector(indices=[1, 5, 9, 20], values=[1.0, 0.5, 0.3, 0.9])
        cases = [
            ({}, None),
            ({"offset": 4, "limit": 6}, models.Mmr(diversity=0.8, candidates_limit=60)),
            ({"limit": 5}, models.Mmr(diversity=0.0, candidates_limit=30)),
            ({"with_vectors": True, "score_threshold": 0.2}, models.Mmr(diversity=1.0)),
        ]
        for kwargs, mmr in cases:
            for nearest in (sparse, 7):
                query = models.NearestQuery(nearest=nearest, mmr=mmr or models.Mmr())
                got = engine.query_points("c", query=query, using="s", **kwargs).points
                want = local.query_points("c", query=query, using="s", **kwargs).points
                assert [p.id for p in got] == [p.id for p in want], (kwargs, nearest)
                scores = [p.score for p in want]
                assert [p.score for p in got] == pytest.approx(scores, rel=1e-5)
                assert (got[0].vector is None) == (want[0].vector is None)
        plain = engine.query_points("c", query=sparse, using="s", limit=10).points
        diverse = models.NearestQuery(nearest=sparse, mmr=models.Mmr(diversity=0.9))
        assert [p.id for p in engine.query_points("c", diverse, using="s").points] != [
            p.id for p in plain
        ]  # the option changes the answer
        batch = engine.query_batch_points(
            "c", [models.QueryRequest(query=diverse, using="s", limit=10)]
        )
        assert (
            batch[0].points
            == engine.query_points("c", diverse, using="s", with_payload=False).points
        )
        in_prefetch = models.Prefetch(query=diverse, using="s", limit=20)
        with pytest.raises(InvalidInput, match="MMR on a sparse vector in a prefetch"):
            engine.query_points("c", query=sparse, using="s", prefetch=in_prefetch)
    local.close()
