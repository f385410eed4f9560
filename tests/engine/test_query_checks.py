"""The Query API's checks in Qdrant 1.19's order, on the embedded engine: `lookup_from`
collections exist before anything is read, named points are read before a stage's rules
are checked, and a query's empty vector is the collection's 400 (not the write's 422)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qdrant_client import models

from crewchief import Engine
from crewchief.errors import CrewchiefError, InvalidInput, NotFound, ValidationFailed
from tests.engine import query_cases as qc

M = models
NOWHERE = M.LookupLocation(collection="nowhere", vector="dense")


@pytest.fixture(scope="module")
def eng(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    e = Engine(Path(tmp_path_factory.mktemp("qchecks")) / "data")
    qc.load(e)
    yield e
    e.close()


def test_lookup_from_a_missing_collection_is_404_even_without_ids(eng: Engine) -> None:
    """Qdrant checks every stage's lookup_from collection first, whatever the query names."""
    with pytest.raises(NotFound, match="^Collection nowhere not found$"):
        eng.query_points(qc.NAME, query=qc.Q8, using="dense", lookup_from=NOWHERE)
    nested = M.Prefetch(query=qc.Q8, using="dense", lookup_from=NOWHERE)
    with pytest.raises(NotFound, match="Collection nowhere not found"):
        eng.query_points(qc.NAME, query=M.FusionQuery(fusion=M.Fusion.RRF), prefetch=nested)
    request = M.QueryRequest(query=qc.Q8, using="dense", lookup_from=NOWHERE)
    with pytest.raises(NotFound, match="Collection nowhere not found"):
        eng.query_batch_points(qc.NAME, [request])
    with pytest.raises(NotFound, match="Collection nowhere not found"):
        eng.query_points_groups(
            qc.NAME, "tag", query=qc.Q8, using="dense", lookup_from=NOWHERE, limit=2
        )


def test_a_missing_point_is_found_missing_before_the_stage_rules(eng: Engine) -> None:
    """A fusion with `using` is refused only once the points were read (Qdrant's order)."""
    reco = M.RecommendQuery(recommend=M.RecommendInput(positive=[1], negative=[2, 997]))
    with pytest.raises(NotFound, match="^No point with id 997 found$"):
        eng.query_points(
            qc.NAME,
            query=M.FusionQuery(fusion=M.Fusion.RRF),
            using="dense",
            prefetch=M.Prefetch(query=reco, using="dense"),
        )
    with pytest.raises(InvalidInput, match="Fusion queries cannot be combined"):
        eng.query_points(
            qc.NAME,
            query=M.FusionQuery(fusion=M.Fusion.RRF),
            using="dense",
            prefetch=M.Prefetch(query=qc.Q8, using="dense"),
        )


def test_unknown_lookup_vector_is_refused_once_a_point_is_read(eng: Engine) -> None:
    """Qdrant's retrieve refuses an unknown vector name when it reads a point: with one
    point found that is the 400; with none found, the missing point's 404."""
    lookup = M.LookupLocation(collection=qc.OTHER, vector="nope")
    reco = M.RecommendQuery(recommend=M.RecommendInput(positive=[1], negative=[996]))
    with pytest.raises(InvalidInput, match="Not existing vector name error: nope"):
        eng.query_points(qc.NAME, query=reco, using="dense", lookup_from=lookup)
    reco = M.RecommendQuery(recommend=M.RecommendInput(positive=[995]))
    with pytest.raises(NotFound, match="^No point with id 995 found$"):
        eng.query_points(qc.NAME, query=reco, using="dense", lookup_from=lookup)


@pytest.mark.parametrize(
    ("using", "text"),
    [
        ("dense", "Vector dimension error: expected dim: 8, got 0"),
        ("multi", "Vector dimension error: expected dim: 4, got 0"),
        ("plain", "Conversion between sparse and regular"),
    ],
)
def test_an_empty_query_vector_is_a_400(eng: Engine, using: str, text: str) -> None:
    """Qdrant validates no query vector's length: `[]` meets the collection's own checks."""
    reco = M.RecommendQuery(recommend=M.RecommendInput(positive=[[]]))
    with pytest.raises(InvalidInput, match=text) as info:
        eng.query_points(qc.NAME, query=reco, using=using)
    assert not isinstance(info.value, ValidationFailed)


def test_relevance_feedback_needs_feedback(eng: Engine) -> None:
    query = M.RelevanceFeedbackQuery(
        relevance_feedback=M.RelevanceFeedbackInput(
            target=qc.Q8,
            feedback=[],
            strategy=M.NaiveFeedbackStrategy(
                naive=M.NaiveFeedbackStrategyParams(a=1.0, b=1.0, c=1.0)
            ),
        )
    )
    with pytest.raises(ValidationFailed, match="feedback elements must be non-empty"):
        eng.query_points(qc.NAME, query=query, using="dense")


def test_reads_of_an_unknown_vector_name_are_bad_input(eng: Engine) -> None:
    for read in (
        lambda: eng.retrieve(qc.NAME, [1, 2], with_vectors=["dense", "nope"]),
        lambda: eng.scroll(qc.NAME, limit=2, with_vectors=["nope"]),
    ):
        with pytest.raises(
            InvalidInput, match="^Wrong input: Not existing vector name error: nope"
        ):
            read()
    assert eng.retrieve(qc.NAME, [1], with_vectors=["dense"])[0].vector is not None


_F = M.Filter(must=[M.FieldCondition(key="tag", match=M.MatchValue(value="red"))])
# one nearest search by a given vector (query_points plans it without the stage tree):
# keywords of query_points, good and bad
PLAIN: list[tuple[str, dict]] = [
    ("dense", {"query": qc.Q8, "using": "dense"}),
    ("numpy", {"query": np.array(qc.Q8), "using": "dense"}),
    ("model", {"query": M.NearestQuery(nearest=qc.Q8), "using": "dense"}),
    ("sparse", {"query": qc.QS, "using": "plain"}),
    ("multi", {"query": qc.QM, "using": "multi"}),
    ("dense-as-multi", {"query": qc.QM[0], "using": "multi"}),
    ("ints", {"query": [1, 0, 2, 0, 1, 0, 0, 3], "using": "dense"}),
    (
        "every-option",
        {
            "query": qc.Q8,
            "using": "dense",
            "query_filter": _F,
            "search_params": M.SearchParams(exact=True),
            "score_threshold": 0.1,
            "offset": 1,
            "limit": 3,
            "with_payload": ["tag"],
            "with_vectors": ["dense"],
        },
    ),
    ("wrong-dim", {"query": qc.Q8[:5], "using": "dense"}),
    ("empty", {"query": [], "using": "dense"}),
    ("nan", {"query": [float("nan")] * 8, "using": "dense"}),
    ("inf", {"query": [float("inf")] + [0.0] * 7, "using": "dense"}),
    ("unknown-using", {"query": qc.Q8, "using": "nope"}),
    ("default-using", {"query": qc.Q8}),
    ("sparse-for-dense", {"query": qc.QS, "using": "dense"}),
    ("dense-for-sparse", {"query": qc.Q8, "using": "plain"}),
    ("text", {"query": ["a"] * 8, "using": "dense"}),
    ("limit-0", {"query": qc.Q8, "using": "dense", "limit": 0}),
    ("offset-text", {"query": qc.Q8, "using": "dense", "offset": "2"}),
    (
        "bad-filter",
        {
            "query": qc.Q8,
            "using": "dense",
            "query_filter": M.Filter.model_construct(must=[M.FieldCondition(key="")]),
        },
    ),
    ("missing-collection", {"query": qc.Q8, "using": "dense", "name": "nowhere"}),
]


def _outcome(run: Any) -> Any:
    try:
        return [p.model_dump() for p in run().points]
    except Exception as exc:  # the test compares the failures too
        return type(exc), str(exc)


_GOOD = {"dense", "numpy", "model", "sparse", "multi", "dense-as-multi", "ints", "every-option"}


@pytest.mark.parametrize(("case", "kw"), PLAIN, ids=[i for i, _ in PLAIN])
def test_a_plain_vector_query_answers_as_the_planner_does(eng: Engine, case: str, kw: dict) -> None:
    """query_points answers a search by one given vector without building the stage tree;
    the same request through query_batch_points goes through the whole planner: the two
    give the same points, or the same error in the same words."""
    kw = dict(kw)
    name = kw.pop("name", qc.NAME)
    plain = _outcome(lambda: eng.query_points(name, **kw))
    query = kw["query"]
    request = M.QueryRequest.model_construct(  # unchecked: the engine's checks are compared
        query=query.tolist() if isinstance(query, np.ndarray) else query,
        using=kw.get("using"),
        filter=kw.get("query_filter"),
        params=kw.get("search_params"),
        score_threshold=kw.get("score_threshold"),
        limit=kw.get("limit", 10),
        offset=kw.get("offset"),
        with_payload=kw.get("with_payload", True),
        with_vector=kw.get("with_vectors", False),
    )
    planned = _outcome(lambda: eng.query_batch_points(name, [request])[0])
    assert plain == planned
    if case in _GOOD:
        assert isinstance(plain, list) and plain  # points
    else:
        assert isinstance(plain, tuple) and issubclass(plain[0], CrewchiefError)  # refused
