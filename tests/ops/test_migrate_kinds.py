"""`migrate` of a dense + sparse + multi-vector collection (datatypes, quantization, HNSW,
metadata, strict mode, payload indexes) between an embedded directory and a real
`crewchief serve`, both ways: it arrives equal, and resumes only into a matching one."""

from __future__ import annotations

from pathlib import Path

import pytest
from qdrant_client import models

from crewchief.errors import AlreadyExists
from crewchief.ops import migrate as ops
from crewchief.target import EmbeddedTarget, ServeTarget
from tests.server.serverproc import start_server
from tests.vector_kinds import N, assert_same, make_kinds, state


@pytest.mark.parametrize("direction", ["to_served", "to_embedded"])
def test_every_vector_kind_migrates_equal(tmp_path: Path, direction: str) -> None:
    server = start_server(tmp_path / "served")
    try:
        with EmbeddedTarget(tmp_path / "dir") as local, ServeTarget(server.url) as served:
            src, dst = (local, served) if direction == "to_served" else (served, local)
            make_kinds(src.client)
            src.client.update_collection(
                "hybrid",
                strict_mode_config=models.StrictModeConfig(enabled=False, max_query_limit=500),
            )
            src.client.create_collection(
                "words", vectors_config={}, sparse_vectors_config={"w": models.SparseVectorParams()}
            )
            sv = models.SparseVector(indices=[2, 9], values=[0.5, 1.5])
            src.client.upsert(
                "words", [models.PointStruct(id=i, vector={"w": sv}) for i in range(7)]
            )
            plan = ops.plan_migrate(src, dst)
            move = {m.name: m for m in plan.collections}
            assert sorted(move["hybrid"].sparse_vectors) == ["tags", "text"]
            assert move["words"].vectors == {} and list(move["words"].sparse_vectors) == ["w"]
            result = ops.execute(src, dst, plan)
            assert result.copied == {"hybrid": N, "words": 7}
            assert sorted(result.indexes_created["hybrid"]) == ["kind", "n"]
            before, after = state(src.client, "hybrid"), state(dst.client, "hybrid")
            assert after[0].strict_mode_config.max_query_limit == 500  # type: ignore[union-attr]
            assert_same(before, after)
            assert (
                dst.client.get_collection("words").config
                == src.client.get_collection("words").config
            )
            assert dst.client.retrieve("words", [4], with_vectors=True)[0].vector == {"w": sv}
            again = ops.execute(src, dst, ops.plan_migrate(src, dst))  # resumes: nothing to copy
            assert again.copied == {"hybrid": 0, "words": 0}
            # a collection of the same name whose sparse vector differs is not resumed into
            dst.client.delete_collection("words")
            dst.client.create_collection(
                "words",
                vectors_config={},
                sparse_vectors_config={
                    "w": models.SparseVectorParams(modifier=models.Modifier.IDF)
                },
            )
            with pytest.raises(AlreadyExists, match="other vectors"):
                ops.plan_migrate(src, dst, ["words"])
    finally:
        server.stop()
