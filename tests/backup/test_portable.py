"""The portable format round-trips between the embedded engine and a real `crewchief serve`,
reached through qdrant-client: equal points, vectors (bit for bit), payloads, payload
indexes, config and search results, with deterministic part files."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from qdrant_client import models

from crewchief.backup.portable import (
    MANIFEST,
    export_collection,
    import_collection,
    read_manifest,
)
from crewchief.errors import AlreadyExists, SnapshotCorrupt
from crewchief.target import EmbeddedTarget, ServeTarget, Target
from tests.helpers import f32, f32s, fill
from tests.server.serverproc import start_server

N = 300


@contextmanager
def open_kind(kind: str, data: Path) -> Iterator[Target]:
    """An embedded target on `data`, or a real `crewchief serve` of it."""
    if kind == "embedded":
        with EmbeddedTarget(data) as tgt:
            yield tgt
        return
    server = start_server(data)
    try:
        with ServeTarget(server.url) as tgt:
            yield tgt
    finally:
        server.stop()


def point_id(i: int) -> int | str:
    """Every third point has a UUID id, the rest ints."""
    return str(uuid.UUID(int=i + 1)) if i % 3 == 0 else i * 7


def make_rich(client: Any, name: str = "movies") -> None:
    """Named vectors (one a point may lack), int and UUID ids, odd payloads, indexes."""
    rng = np.random.default_rng(1)
    img = rng.normal(size=(N, 8)).astype(np.float32)
    txt = rng.normal(size=(N, 4)).astype(np.float32)
    client.create_collection(
        name,
        vectors_config={
            "img": models.VectorParams(size=8, distance=models.Distance.DOT),
            "txt": models.VectorParams(size=4, distance=models.Distance.EUCLID),
        },
        hnsw_config=models.HnswConfigDiff(m=8, ef_construct=64),
        quantization_config=models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8)
        ),
    )
    points = []
    for i in range(N):
        vector = {"img": img[i].tolist()}
        if i % 5:
            vector["txt"] = txt[i].tolist()
        payload = (
            None
            if i % 11 == 0
            else {
                "title": f"Film ✓ {i}",
                "year": 1970 + i % 50,
                "tags": ["a", "b"][: i % 3],
                "meta": {"score": i / 7, "ok": i % 2 == 0, "none": None},
            }
        )
        points.append(models.PointStruct(id=point_id(i), vector=vector, payload=payload))
    client.upsert(name, points[::-1])  # insertion order must not matter
    client.create_payload_index(name, "title", field_schema=models.PayloadSchemaType.KEYWORD)
    client.create_payload_index(
        name, "year", field_schema=models.IntegerIndexParams(type="integer", lookup=True)
    )


def everything(client: Any, name: str) -> dict[Any, tuple[Any, Any]]:
    records, offset = [], None
    while True:
        page, offset = client.scroll(name, limit=128, offset=offset, with_vectors=True)
        records += page
        if offset is None:
            return {r.id: (r.payload or {}, f32s(r.vector)) for r in records}


def searches(client: Any, name: str) -> list[list[tuple[Any, float]]]:
    rng = np.random.default_rng(9)
    out = []
    for using, dim in (("img", 8), ("txt", 4)):
        for q in rng.normal(size=(3, dim)):
            hits = client.query_points(
                name,
                query=q.tolist(),
                using=using,
                limit=10,
                search_params=models.SearchParams(exact=True),
            ).points
            out.append([(h.id, f32(h.score)) for h in hits])
    return out


def parts(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob("points-*.parquet"))}


@pytest.mark.parametrize("source,destination", [("embedded", "served"), ("served", "embedded")])
def test_round_trip_between_engine_and_server(
    tmp_path: Path, source: str, destination: str
) -> None:
    with open_kind(source, tmp_path / "src") as src:
        make_rich(src.client)
        manifest = export_collection(src.client, "movies", tmp_path / "export", part_size=64)
        before = everything(src.client, "movies")
        found = searches(src.client, "movies")
    assert manifest.points == N and manifest.part_points == [64, 64, 64, 64, 44]
    assert manifest.payload_schema == {
        "title": "keyword",
        "year": {"type": "integer", "lookup": True},
    }
    on_disk = json.loads((tmp_path / "export" / MANIFEST).read_text())
    assert on_disk["format"] == "crewchief-portable-2" and on_disk["parts"] == manifest.parts

    with open_kind(destination, tmp_path / "dst") as dst:
        assert import_collection(dst.client, tmp_path / "export", as_name="restored") == N
        assert dst.client.count("restored", exact=True).count == N
        assert everything(dst.client, "restored") == before  # exact float32s, payloads, ids
        assert searches(dst.client, "restored") == found
        info = dst.client.get_collection("restored")
        assert info.config.hnsw_config.m == 8 and info.config.hnsw_config.ef_construct == 64
        assert info.config.quantization_config == models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8)
        )
        assert info.payload_schema["title"].data_type == models.PayloadSchemaType.KEYWORD
        assert info.payload_schema["year"].params.lookup is True  # type: ignore[union-attr]
        again = export_collection(dst.client, "restored", tmp_path / "again", part_size=64)
    # The same points give the same bytes, whichever engine they were read from.
    assert again.checksums == manifest.checksums
    assert parts(tmp_path / "again") == parts(tmp_path / "export")


def test_parts_are_sorted_deterministic_and_documented(tmp_path: Path) -> None:
    with EmbeddedTarget(tmp_path / "data") as tgt:
        make_rich(tgt.client)
        first = export_collection(tgt.client, "movies", tmp_path / "one", part_size=100)
        second = export_collection(tgt.client, "movies", tmp_path / "two", part_size=100)
        export_collection(tgt.client, "movies", tmp_path / "one", part_size=1000)  # re-export
    assert first.to_json() == second.to_json()
    assert parts(tmp_path / "one") != parts(tmp_path / "two")  # the re-export replaced parts
    assert [p.name for p in (tmp_path / "one").glob("points-*")] == ["points-00000.parquet"]
    table = pq.read_table(tmp_path / "two" / first.parts[0])
    assert table.column_names == ["id", "id_kind", "vector:img", "vector:txt", "payload"]
    assert table.column("id_kind").to_pylist() == ["int"] * 100  # ints first, ascending
    assert table.column("id").to_pylist()[:3] == ["7", "14", "28"]
    meta = pq.ParquetFile(tmp_path / "two" / first.parts[0]).metadata
    assert meta.row_group(0).column(0).compression == "UNCOMPRESSED"  # so unchanged bytes dedup
    last = pq.read_table(tmp_path / "two" / first.parts[-1]).column("id").to_pylist()
    assert last == sorted(last) and [str(uuid.UUID(i)) for i in last] == last  # UUIDs, sorted


def test_unnamed_vector_collection_round_trips(tmp_path: Path) -> None:
    with EmbeddedTarget(tmp_path / "a") as a, EmbeddedTarget(tmp_path / "b") as b:
        fill(a.client, "plain", n=250, dim=16)
        manifest = export_collection(a.client, "plain", tmp_path / "x")
        assert manifest.parts == ["points-00000.parquet"]
        assert pq.read_schema(tmp_path / "x" / manifest.parts[0]).field("vector").nullable is False
        import_collection(b.client, tmp_path / "x")
        assert everything(b.client, "plain") == everything(a.client, "plain")
        q = everything(a.client, "plain")[5][1]
        hits = [[(h.id, h.score) for h in t.client.query_points("plain", q).points] for t in (a, b)]
        assert hits[0] == hits[1]


def test_import_resumes_after_an_interruption(tmp_path: Path) -> None:
    class Interrupted(Exception):
        pass

    def stop_after_two(step: str, done: int, total: int) -> None:
        if done >= 100:
            raise Interrupted

    with EmbeddedTarget(tmp_path / "a") as a, EmbeddedTarget(tmp_path / "b") as b:
        make_rich(a.client)
        export_collection(a.client, "movies", tmp_path / "x", part_size=128)
        with pytest.raises(Interrupted):
            import_collection(b.client, tmp_path / "x", batch_size=50, progress=stop_after_two)
        assert b.client.count("movies").count == 100
        seen: list[tuple[int, int]] = []
        written = import_collection(
            b.client, tmp_path / "x", batch_size=50, progress=lambda s, d, t: seen.append((d, t))
        )
        assert written == N - 100 and seen[-1] == (N, N)
        assert everything(b.client, "movies") == everything(a.client, "movies")


def test_import_refuses_a_different_collection_and_a_damaged_export(tmp_path: Path) -> None:
    with EmbeddedTarget(tmp_path / "a") as a:
        fill(a.client, "plain", n=20, dim=4)
        fill(a.client, "other", n=5, dim=3)
        manifest = export_collection(a.client, "plain", tmp_path / "x")
        with pytest.raises(AlreadyExists):
            import_collection(a.client, tmp_path / "x", as_name="other")
        part = tmp_path / "x" / manifest.parts[0]
        part.write_bytes(part.read_bytes()[:-10] + b"0123456789")
        with pytest.raises(SnapshotCorrupt, match="checksum"):
            import_collection(a.client, tmp_path / "x", as_name="fresh")
        (tmp_path / "x" / MANIFEST).unlink()
        with pytest.raises(SnapshotCorrupt, match="incomplete"):
            read_manifest(tmp_path / "x")


def test_the_documented_reader_reads_an_export(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "portable-format.md").read_text()
    snippet = doc.split("## Reading a part without crewchief")[1].split("```python")[1]
    snippet = snippet.split("```")[0].replace('"backup/', f'"{tmp_path}/backup/')
    snippet = snippet.replace('f"backup/', f'f"{tmp_path}/backup/')
    with EmbeddedTarget(tmp_path / "data") as tgt:
        make_rich(tgt.client)
        export_collection(tgt.client, "movies", tmp_path / "backup", part_size=100)
        expected = everything(tgt.client, "movies")
    seen: dict[Any, Any] = {}
    snippet += "            seen[point_id] = payload\n"
    exec(snippet, {"seen": seen})
    assert seen == {i: payload for i, (payload, _vector) in expected.items()}
