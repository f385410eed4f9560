"""Portable format 2: a collection with dense (float32, float16, uint8), multi and sparse
vectors, a quantization config and payload indexes restores equal, between the embedded
engine and a real `crewchief serve`; exports written by format 1 still import."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from qdrant_client import models

from crewchief.backup.portable import MANIFEST, export_collection, import_collection
from crewchief.errors import AlreadyExists, SnapshotCorrupt
from crewchief.target import EmbeddedTarget
from tests.backup.test_portable import open_kind
from tests.vector_kinds import N, assert_same, make_kinds, state

OLD = Path(__file__).parent / "data" / "portable-1"


@pytest.mark.parametrize("source,destination", [("embedded", "served"), ("served", "embedded")])
def test_every_vector_kind_round_trips(tmp_path: Path, source: str, destination: str) -> None:
    with open_kind(source, tmp_path / "src") as src:
        make_kinds(src.client)
        manifest = export_collection(src.client, "hybrid", tmp_path / "x", part_size=25)
        before = state(src.client, "hybrid")
    assert manifest.format == "crewchief-portable-2" and manifest.part_points == [25, 25, 10]
    schema = pq.read_schema(tmp_path / "x" / manifest.parts[0])
    assert schema.names == [
        "id",
        "id_kind",
        "vector:bytes",
        "vector:colbert",
        "vector:dense",
        "vector:half",
        "sparse:tags",
        "sparse:text",
        "payload",
    ]
    assert schema.field("vector:half").type == pa.list_(pa.float16(), 4)  # stored as float16
    assert schema.field("vector:bytes").type == pa.list_(pa.uint8(), 4)
    assert schema.field("vector:colbert").type == pa.list_(pa.list_(pa.float32(), 4))
    rows = pq.read_table(tmp_path / "x" / manifest.parts[0]).to_pylist()
    assert rows[0]["vector:half"] is None and rows[0]["sparse:tags"] is None  # point 1 lacks them
    assert rows[1]["sparse:tags"] == {"indices": [1, 51], "values": [1.015625, 0.25]}
    with open_kind(destination, tmp_path / "dst") as dst:
        assert import_collection(dst.client, tmp_path / "x", as_name="back") == N
        after = state(dst.client, "back")
        assert after[0].params.sparse_vectors == before[0].params.sparse_vectors
        assert after[0].quantization_config == before[0].quantization_config
        assert after[0].metadata == {"team": "pit", "tier": 2}
        assert_same(before, after)
        again = export_collection(dst.client, "back", tmp_path / "again", part_size=25)
    assert again.checksums == manifest.checksums  # the same points give the same bytes


def test_a_sparse_only_collection_round_trips(tmp_path: Path) -> None:
    with EmbeddedTarget(tmp_path / "a") as a, EmbeddedTarget(tmp_path / "b") as b:
        a.client.create_collection(
            "words", vectors_config={}, sparse_vectors_config={"w": models.SparseVectorParams()}
        )
        a.client.upsert(
            "words",
            [
                models.PointStruct(
                    id=i, vector={"w": models.SparseVector(indices=[i, 9], values=[0.5, i])}
                )
                for i in range(5)
            ]
            + [models.PointStruct(id=9, vector={}, payload={"empty": True})],
        )
        manifest = export_collection(a.client, "words", tmp_path / "x")
        assert pq.read_schema(tmp_path / "x" / manifest.parts[0]).names == [
            "id",
            "id_kind",
            "sparse:w",
            "payload",
        ]
        assert import_collection(b.client, tmp_path / "x") == 6
        got = b.client.retrieve("words", [3, 9], with_vectors=True)
        assert got[0].vector == {"w": models.SparseVector(indices=[3, 9], values=[0.5, 3.0])}
        assert got[1].vector == {} and got[1].payload == {"empty": True}
        assert b.client.get_collection("words").config == a.client.get_collection("words").config


def test_an_unnamed_dense_vector_beside_sparse_vectors(tmp_path: Path) -> None:
    with EmbeddedTarget(tmp_path / "a") as a, EmbeddedTarget(tmp_path / "b") as b:
        a.client.create_collection(
            "mix",
            vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT),
            sparse_vectors_config={"s": models.SparseVectorParams()},
        )
        s = models.SparseVector(indices=[4], values=[2.0])
        a.client.upsert(
            "mix",
            [
                models.PointStruct(id=1, vector={"": [1.0, 2.0], "s": s}),
                models.PointStruct(id=2, vector={"s": s}),
            ],
        )
        export_collection(a.client, "mix", tmp_path / "x")
        import_collection(b.client, tmp_path / "x")
        got = {r.id: r.vector for r in b.client.retrieve("mix", [1, 2], with_vectors=True)}
        assert got == {1: {"": [1.0, 2.0], "s": s}, 2: {"s": s}}


def test_a_format_1_export_written_by_the_old_code_still_imports(tmp_path: Path) -> None:
    """tests/backup/data/portable-1 was written by crewchief-portable-1's exporter."""
    shutil.copytree(OLD, tmp_path / "old")
    assert json.loads((OLD / "old_named" / MANIFEST).read_text())["format"] == (
        "crewchief-portable-1"
    )
    with EmbeddedTarget(tmp_path / "d") as d:
        assert import_collection(d.client, tmp_path / "old" / "old_named") == 7
        assert import_collection(d.client, tmp_path / "old" / "old_single") == 3
        named = {r.id: r for r in d.client.scroll("old_named", with_vectors=True, limit=20)[0]}
        third = float(np.float32(1 / 3))
        assert named[5].vector == {"img": [2.5, 1.0, float(np.float32(-5 / 3))], "txt": [5.0, 0.25]}
        assert named[2].vector == {"img": [1.0, 1.0, -2 * third]}
        assert named[4].payload == {} and named[6].payload == {"year": 2006, "t": "✓6"}
        assert "00000000-0000-0000-0000-000000000003" in named
        assert d.client.get_collection("old_named").payload_schema["year"].data_type == "integer"
        single = d.client.retrieve("old_single", [2], with_vectors=True)[0]
        assert single.vector == pytest.approx([0.4472136, 0.8944272])
        # format 2 of the same collection resumes into it (no points written twice)
        export_collection(d.client, "old_named", tmp_path / "new")
        assert import_collection(d.client, tmp_path / "new") == 0


def test_unknown_formats_and_other_kinds_are_refused(tmp_path: Path) -> None:
    with EmbeddedTarget(tmp_path / "d") as d:
        make_kinds(d.client, n=5)
        export_collection(d.client, "hybrid", tmp_path / "x")
        d.client.create_collection(
            "dense_only", vectors_config={"dense": models.VectorParams(size=8, distance="Cosine")}
        )
        with pytest.raises(AlreadyExists, match="other vectors"):
            import_collection(d.client, tmp_path / "x", as_name="dense_only")
        path = tmp_path / "x" / MANIFEST
        path.write_text(path.read_text().replace("crewchief-portable-2", "crewchief-portable-3"))
        with pytest.raises(SnapshotCorrupt, match="crewchief-portable-3"):
            import_collection(d.client, tmp_path / "x", as_name="fresh")
        assert not d.client.collection_exists("fresh")
