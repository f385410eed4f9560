"""Blue-green deploy and gc, on both kinds of target."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from qdrant_client import models

from crewchief.core.query_body import exact_twin, parse_query
from crewchief.datasets import movie_payload
from crewchief.errors import InvalidInput
from crewchief.ops import aliases, deploy
from crewchief.ops.deploy import GateFailed
from crewchief.ops.gates import read_queries
from crewchief.ops.gc import execute_gc, plan_gc
from crewchief.target import Target
from tests.helpers import f32s, fill
from tests.ops import embedders
from tests.vector_kinds import DENSE, QUERIES, N, make_kinds


@pytest.fixture
def live(target: Target) -> Target:
    fill(target.client, "shop_v1", n=400, dim=16, seed=1)
    aliases.execute_switch(target, aliases.plan_switch(target, "shop", "shop_v1"))
    return target


def queries_file(tmp_path: Path, vectors: list[list[float]], with_payload: bool = False) -> Path:
    path = tmp_path / "queries.jsonl"
    lines = []
    for i, v in enumerate(vectors):
        row: dict[str, object] = {"vector": v}
        if with_payload:
            row["payload"] = movie_payload(i)
        lines.append(json.dumps(row))
    path.write_text("\n".join(lines))
    return path


def test_deploy_copies_checks_switches_and_keeps_history(live: Target, tmp_path: Path) -> None:
    vectors = [
        r.vector for r in live.client.retrieve("shop_v1", list(range(10)), with_vectors=True)
    ]
    plan = deploy.plan_deploy(
        live,
        "shop",
        "shop_v2",
        changes=deploy.ConfigChanges(hnsw_m=8),
        queries=queries_file(tmp_path, vectors),  # type: ignore[arg-type]
    )
    assert plan.source == "shop_v1" and plan.current == "shop_v1" and not plan.new_exists
    before = time.time()
    result = deploy.execute(live, plan, batch_size=64, min_overlap=0.9)
    assert result.copied == 400
    assert result.switched and result.switched_at is not None
    assert before < result.switched_at < time.time()
    assert {g.name: g.passed for g in result.gates} == {
        "count_parity": True,
        "overlap@10": True,
        "recall@10": True,
    }
    assert live.aliases()["shop"] == "shop_v2"
    assert live.client.get_collection("shop_v2").config.hnsw_config.m == 8
    assert [c.new for c in live.alias_history("shop")] == ["shop_v1", "shop_v2"]
    assert live.client.retrieve("shop", [5])[0].payload == movie_payload(5)


def test_deploy_reembeds_and_changes_vector_size(live: Target, tmp_path: Path) -> None:
    vectors = [r.vector for r in live.client.retrieve("shop_v1", list(range(5)), with_vectors=True)]
    plan = deploy.plan_deploy(
        live,
        "shop",
        "shop_v2",
        changes=deploy.ConfigChanges(vector_size=24),
        embed="tests.ops.embedders:by_year",
        queries=queries_file(tmp_path, vectors, with_payload=True),  # type: ignore[arg-type]
    )
    result = deploy.execute(live, plan, min_overlap=0.0)  # new embeddings: overlap is not expected
    assert result.copied == 400
    info = live.client.get_collection("shop")
    assert info.config.params.vectors.size == 24  # type: ignore[union-attr]
    stored = live.client.retrieve("shop", [3], with_vectors=True)[0].vector
    assert f32s(stored) == f32s(embedders.by_year([movie_payload(3)])[0])


def test_failed_gate_leaves_alias_untouched_and_says_by_how_much(
    live: Target, tmp_path: Path
) -> None:
    vectors = [r.vector for r in live.client.retrieve("shop_v1", list(range(5)), with_vectors=True)]
    plan = deploy.plan_deploy(
        live,
        "shop",
        "shop_v2",
        changes=deploy.ConfigChanges(vector_size=24),
        embed="tests.ops.embedders:by_year",
        queries=queries_file(tmp_path, vectors, with_payload=True),  # type: ignore[arg-type]
    )
    with pytest.raises(GateFailed) as exc:
        deploy.execute(live, plan, min_overlap=0.9)
    assert "overlap@10" in exc.value.message and "needs 0.9" in exc.value.message
    assert "untouched" in exc.value.message
    result = exc.value.result  # what was measured comes with the refusal
    assert result is not None and not result.switched and result.switched_at is None
    overlap = next(g for g in result.gates if g.name == "overlap@10")
    assert not overlap.passed and overlap.threshold == 0.9 and overlap.value < 0.9
    assert result.copied == 400 and result.switch is None
    assert live.aliases()["shop"] == "shop_v1"
    assert [c.new for c in live.alias_history("shop")] == ["shop_v1"]


def test_count_parity_gate(live: Target) -> None:
    # NEW already exists with points the source does not have: copying cannot fix that
    fill(live.client, "shop_v2", n=410, dim=16, seed=7)
    live.client.upsert("shop_v2", [models.PointStruct(id=10_000, vector=[1.0] * 16)])
    plan = deploy.plan_deploy(live, "shop", "shop_v2")
    with pytest.raises(GateFailed, match="count_parity = 411") as exc:
        deploy.execute(live, plan)
    assert "411 points in new vs 400 in source" in exc.value.message
    assert live.aliases()["shop"] == "shop_v1"


def test_interrupted_deploy_resumes(live: Target) -> None:
    embedders.calls.update(n=0, fail_after=2)
    plan = deploy.plan_deploy(
        live,
        "shop",
        "shop_v2",
        changes=deploy.ConfigChanges(vector_size=24),
        embed="tests.ops.embedders:flaky",
    )
    with pytest.raises(RuntimeError, match="went away"):
        deploy.execute(live, plan, batch_size=100)
    assert live.client.count("shop_v2").count == 200
    assert live.aliases()["shop"] == "shop_v1"
    embedders.calls.update(fail_after=None)
    plan = deploy.plan_deploy(
        live,
        "shop",
        "shop_v2",
        changes=deploy.ConfigChanges(vector_size=24),
        embed="tests.ops.embedders:flaky",
    )
    assert plan.new_exists and plan.copied_already == 200
    result = deploy.execute(live, plan, batch_size=100)
    assert (result.copied, result.skipped) == (200, 200)
    assert live.aliases()["shop"] == "shop_v2"


def test_bad_deploy_input(live: Target) -> None:
    with pytest.raises(InvalidInput, match="vector size"):
        deploy.plan_deploy(live, "shop", "shop_v2", changes=deploy.ConfigChanges(vector_size=8))
    with pytest.raises(InvalidInput, match="no source"):
        deploy.plan_deploy(live, "nope", "shop_v2")
    plan = deploy.plan_deploy(live, "shop", "shop_v2", embed="tests.ops.embedders:wrong_count")
    with pytest.raises(InvalidInput, match="returned 1 vectors"):
        deploy.execute(live, plan)
    assert live.aliases()["shop"] == "shop_v1"


def test_deploy_keeps_the_last_n_versions(live: Target) -> None:
    for n in (2, 3, 4):
        deploy.execute(live, deploy.plan_deploy(live, "shop", f"shop_v{n}", keep=2))
    assert live.collection_names() == ["shop_v3", "shop_v4"]
    assert live.aliases()["shop"] == "shop_v4"


def test_gc_never_deletes_an_alias_target_or_the_newest(live: Target) -> None:
    for n in (2, 3):
        fill(live.client, f"shop_v{n}", n=5, dim=16)
    fill(live.client, "unversioned", n=5, dim=16)
    plan = plan_gc(live.collection_names(), live.aliases(), keep=1)
    assert set(plan.delete) == {"shop_v2"}
    assert "alias shop" in plan.keep["shop_v1"] and "newest" in plan.keep["shop_v3"]
    assert execute_gc(live, plan) == ["shop_v2"]
    assert live.collection_names() == ["shop_v1", "shop_v3", "unversioned"]
    with pytest.raises(InvalidInput):
        plan_gc(live.collection_names(), live.aliases(), keep=0)


def test_config_changes_land_in_the_new_version(live: Target) -> None:
    changes = deploy.ConfigChanges(
        distance=models.Distance.DOT, hnsw_ef_construct=64, quantization="scalar"
    )
    plan = deploy.plan_deploy(live, "shop", "shop_v2", changes=changes)
    assert "quantization scalar" in plan.steps[0] and "'ef_construct': 64" in plan.steps[0]
    deploy.execute(live, plan)
    config = live.client.get_collection("shop").config
    assert config.params.vectors.distance == models.Distance.DOT
    assert config.hnsw_config.ef_construct == 64
    assert config.quantization_config == models.ScalarQuantization(
        scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8)
    )
    source = live.client.get_collection("shop_v1").config  # the source is as it was
    assert source.params.vectors.distance == models.Distance.COSINE
    assert source.hnsw_config.ef_construct == 100 and source.quantization_config is None


def test_binary_quantization_then_none(live: Target) -> None:
    changes = deploy.ConfigChanges(quantization="binary")
    deploy.execute(live, deploy.plan_deploy(live, "shop", "shop_v2", changes=changes))
    binary = live.client.get_collection("shop_v2")
    assert isinstance(binary.config.quantization_config, models.BinaryQuantization)
    assert binary.status == models.CollectionStatus.GREEN and binary.points_count == 400
    # a deploy without --quantization keeps the source's; "none" removes it
    deploy.execute(live, deploy.plan_deploy(live, "shop", "shop_v3"))
    assert isinstance(
        live.client.get_collection("shop_v3").config.quantization_config,
        models.BinaryQuantization,
    )
    changes = deploy.ConfigChanges(quantization="none")
    deploy.execute(live, deploy.plan_deploy(live, "shop", "shop_v4", changes=changes))
    assert live.client.get_collection("shop_v4").config.quantization_config is None


def test_unsupported_quantization_is_refused_at_plan_time(live: Target) -> None:
    for value in ("product", "int4", ""):
        changes = deploy.ConfigChanges(quantization=value)
        with pytest.raises(InvalidInput, match="--quantization") as exc:
            deploy.plan_deploy(live, "shop", "shop_v2", changes=changes)
        assert exc.value.hint and "scalar, binary, none" in exc.value.hint
    assert live.collection_names() == ["shop_v1"]


# -- Query API bodies as gate lines ---------------------------------------------------------------


def _lines(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / "api.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def test_hybrid_rrf_bodies_gate_a_dense_and_sparse_collection(
    target: Target, tmp_path: Path
) -> None:
    make_kinds(target.client, "hybrid_v1")
    aliases.execute_switch(target, aliases.plan_switch(target, "hybrid", "hybrid_v1"))
    dense, sparse = QUERIES[0][1], QUERIES[4][1]
    hybrid = {
        "prefetch": [
            {"query": dense, "using": DENSE, "limit": 20},
            {"query": sparse.model_dump(), "using": "text", "limit": 20},
        ],
        "query": {"fusion": "rrf"},
        "limit": 3,  # replaced by k
    }
    sparse_only = {
        "query": sparse.model_dump(),
        "using": "text",
        "filter": {"must": [{"key": "kind", "match": {"value": "a"}}]},
    }
    path = _lines(tmp_path, [hybrid, sparse_only, {"vector": dense}])  # an old-style line too
    plan = deploy.plan_deploy(
        target,
        "hybrid",
        "hybrid_v2",
        changes=deploy.ConfigChanges(using=DENSE, hnsw_m=8),
        queries=path,
    )
    result = deploy.execute(target, plan, k=5, min_overlap=1.0, min_recall=1.0)
    assert result.switched
    assert {g.name: g.value for g in result.gates} == {
        "count_parity": N,
        "overlap@5": 1.0,
        "recall@5": 1.0,
    }
    # the gate saw what the body asks: the same top 5 as the fused query on either version
    expected = target.client.query_points(
        "hybrid_v1",
        prefetch=[models.Prefetch(**p) for p in hybrid["prefetch"]],  # type: ignore[arg-type]
        query=models.FusionQuery(fusion=models.Fusion.RRF),
        limit=5,
    ).points
    assert len(expected) == 5


def test_prefetch_bodies_and_exact_search_at_every_stage(live: Target, tmp_path: Path) -> None:
    vectors = [r.vector for r in live.client.retrieve("shop_v1", [1, 2, 3], with_vectors=True)]
    rows = [
        {
            "prefetch": {"query": v, "limit": 50, "params": {"hnsw_ef": 16}},
            "query": v,
            "params": {"hnsw_ef": 32},
        }
        for v in vectors
    ]
    body = parse_query(rows[0])
    twin = exact_twin(body)
    assert twin.params.exact and twin.prefetch.params.exact  # type: ignore[union-attr]
    assert twin.prefetch.params.hnsw_ef == 16  # type: ignore[union-attr]
    assert not body.params.exact  # type: ignore[union-attr]  # the original is unchanged
    plan = deploy.plan_deploy(
        live,
        "shop",
        "shop_v2",
        changes=deploy.ConfigChanges(distance=models.Distance.EUCLID),
        queries=_lines(tmp_path, rows),
    )
    result = deploy.execute(live, plan, min_overlap=0.0)
    gates = {g.name: g for g in result.gates}
    assert gates["recall@10"].passed and result.switched
    assert 0.0 < gates["overlap@10"].value <= 1.0


def test_query_api_lines_with_embed_need_vector_and_payload(live: Target, tmp_path: Path) -> None:
    v = live.client.retrieve("shop_v1", [4], with_vectors=True)[0].vector
    bare = {"prefetch": {"query": v, "limit": 30}, "query": v}

    def plan_with(line: dict[str, Any]) -> deploy.DeployPlan:
        return deploy.plan_deploy(
            live,
            "shop",
            "shop_v2",
            changes=deploy.ConfigChanges(vector_size=24),
            embed="tests.ops.embedders:by_year",
            queries=_lines(tmp_path, [line]),
        )

    with pytest.raises(InvalidInput, match="line 1: a Query API line cannot be re-embedded"):
        plan_with(bare)  # the plan reads every line
    assert not live.client.collection_exists("shop_v2")  # refused before anything was built
    # with them, every copy of `vector` in the body is replaced by the new embedding
    plan = plan_with({**bare, "vector": v, "payload": movie_payload(4)})
    with pytest.raises(GateFailed, match="overlap@10") as exc:
        deploy.execute(live, plan, min_overlap=0.9)
    result = exc.value.result
    assert result is not None
    # 24-d queries ran on NEW (a 16-d one is refused there); by_year has ties, so recall
    # against exact search is measured, not asserted to pass
    assert {g.name: g.value for g in result.gates}["recall@10"] > 0.0


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("not json", "line 2 is not JSON"),
        ("[1, 2]", "line 2 is not a JSON object"),
        ('{"vector": "abc"}', 'line 2: "vector" must be a list of numbers'),
        ('{"payload": {}}', 'line 2 needs a "vector" or a Query API body'),
        ('{"query": [0.1], "colour": 1}', "line 2: unknown field"),
        ('{"query": {"fusion": "mean"}}', "line 2 is not a valid Query API body"),
        ('{"query": [0.1], "limit": "ten"}', "line 2 is not a valid Query API body"),
        ('{"query": [0.1], "vector": [0.1]}', "only used with --embed"),
        ('{"query": [0.1], "shard_key": "a"}', "shard_key is not supported"),
    ],
)
def test_bad_query_lines_are_refused_with_their_line_number(
    tmp_path: Path, line: str, error: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"vector": [0.5, 0.5]}\n' + line + "\n")
    with pytest.raises(InvalidInput, match=error.replace("[", r"\[")):
        read_queries(path)
