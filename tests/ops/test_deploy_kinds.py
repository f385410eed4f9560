"""Deploys of collections with named dense, multi and sparse vectors, on both kinds of
target: every vector is copied unchanged with the source's whole config; changes,
re-embedding and the query gates apply to the dense vector `using` names, and what cannot
be decided is refused with a hint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from qdrant_client import models

from crewchief.errors import InvalidInput
from crewchief.ops import aliases, deploy
from crewchief.target import Target
from tests.vector_kinds import DENSE, N, assert_same, make_kinds, points, same_points, state


@pytest.fixture
def live(target: Target) -> Target:
    make_kinds(target.client, "hybrid_v1")
    aliases.execute_switch(target, aliases.plan_switch(target, "hybrid", "hybrid_v1"))
    return target


def queries(tmp_path: Path, live: Target, using: str) -> Path:
    records = live.client.retrieve("hybrid_v1", list(range(1, 9)), with_vectors=[using])
    path = tmp_path / "queries.jsonl"
    rows = [{"vector": r.vector[using], "payload": r.payload or {}} for r in records]  # type: ignore[index]
    path.write_text("\n".join(json.dumps(row) for row in rows))
    return path


def test_every_vector_kind_is_copied_unchanged_and_gated_on_the_named_one(
    live: Target, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match="several dense vectors") as exc:
        deploy.plan_deploy(live, "hybrid", "hybrid_v2", queries=queries(tmp_path, live, DENSE))
    assert "using=" in (exc.value.hint or "")
    with pytest.raises(InvalidInput, match="multi-vectors"):
        deploy.plan_deploy(
            live, "hybrid", "hybrid_v2", changes=deploy.ConfigChanges(using="colbert")
        )
    plan = deploy.plan_deploy(
        live,
        "hybrid",
        "hybrid_v2",
        changes=deploy.ConfigChanges(using=DENSE, hnsw_m=8),
        queries=queries(tmp_path, live, DENSE),
    )
    assert plan.using == DENSE and sorted(plan.sparse_vectors) == ["tags", "text"]
    assert any("on `dense`" in step for step in plan.steps)
    result = deploy.execute(live, plan)
    assert result.switched and live.aliases()["hybrid"] == "hybrid_v2"
    assert [g.name for g in result.gates] == ["count_parity", "overlap@10", "recall@10"]
    assert all(g.passed for g in result.gates)
    old, new = state(live.client, "hybrid_v1"), state(live.client, "hybrid_v2")
    assert new[0].hnsw_config.m == 8
    old[0].hnsw_config.m = 8  # the one change asked for; everything else as the source
    assert_same(old, new)


def test_a_deploy_without_gates_needs_no_vector_and_reembeds_only_the_named_one(
    live: Target,
) -> None:
    plain = deploy.execute(live, deploy.plan_deploy(live, "hybrid", "hybrid_v2"))
    assert plain.plan.using is None and plain.copied == N
    assert_same(state(live.client, "hybrid_v1"), state(live.client, "hybrid_v2"))
    plan = deploy.plan_deploy(
        live,
        "hybrid",
        "hybrid_v3",
        source="hybrid_v1",
        changes=deploy.ConfigChanges(using=DENSE, distance=models.Distance.DOT),
        embed="tests.ops.embedders:by_n",
        keep=3,
    )
    assert (
        plan.vectors[DENSE]["distance"] == "Dot" and plan.vectors["half"]["datatype"] == "float16"
    )
    deploy.execute(live, plan)
    before, after = points(live.client, "hybrid_v1"), points(live.client, "hybrid_v3")
    assert all(len(vectors[DENSE]) == 8 for _payload, vectors in after.values())  # re-embedded

    def others(found: dict[Any, Any]) -> dict[Any, Any]:
        return {
            p: (pl, {k: v for k, v in vs.items() if k != DENSE}) for p, (pl, vs) in found.items()
        }

    same_points(others(before), others(after))  # every other vector copied unchanged
    one = live.client.retrieve("hybrid_v3", [5], with_vectors=[DENSE])[0].vector
    assert one != live.client.retrieve("hybrid_v1", [5], with_vectors=[DENSE])[0].vector


def test_sparse_only_collections_deploy_refuse_plain_lines_and_gate_on_query_bodies(
    live: Target, tmp_path: Path
) -> None:
    live.client.create_collection(
        "words_v1", vectors_config={}, sparse_vectors_config={"w": models.SparseVectorParams()}
    )
    sv = models.SparseVector(indices=[3, 8], values=[0.5, 1.0])
    live.client.upsert("words_v1", [models.PointStruct(id=i, vector={"w": sv}) for i in range(20)])
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"vector": [0.1, 0.2]}))
    with pytest.raises(InvalidInput, match="no dense single vector") as exc:
        deploy.plan_deploy(live, "words", "words_v2", source="words_v1", queries=path)
    assert "copied unchanged" in (exc.value.hint or "")
    result = deploy.execute(live, deploy.plan_deploy(live, "words", "words_v2", source="words_v1"))
    assert result.switched and live.aliases()["words"] == "words_v2"
    got = live.client.retrieve("words_v2", [7], with_vectors=True)[0].vector
    assert got == {"w": sv}
    # a Query API line names its own vector: a sparse-only collection is gated on it (distinct
    # scores, so that the top 10 is not a draw among ties)
    live.client.upsert(
        "words_v2",
        [
            models.PointStruct(
                id=i, vector={"w": models.SparseVector(indices=[3, 8], values=[0.5, 1.0 + i])}
            )
            for i in range(20)
        ],
    )
    path.write_text(json.dumps({"query": sv.model_dump(), "using": "w"}))
    plan = deploy.plan_deploy(live, "words", "words_v3", source="words_v2", queries=path)
    assert plan.using is None
    result = deploy.execute(live, plan)
    assert result.switched and live.aliases()["words"] == "words_v3"
    assert {g.name for g in result.gates} >= {"count_parity", "overlap@10", "recall@10"}
