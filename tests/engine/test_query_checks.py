"""The Query API's checks in Qdrant 1.19's order, on the embedded engine: `lookup_from`
collections exist before anything is read, named points are read before a stage's rules
are checked, and a query's empty vector is the collection's 400 (not the write's 422)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import models

from crewchief import Engine
from crewchief.errors import InvalidInput, NotFound, ValidationFailed
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
