"""crewchief's portable format: one collection as JSON and Parquet, readable anywhere.

A native snapshot restores only into the engine (and version) that wrote it.  This
format holds what a collection *is* -- config, payload indexes, and points with ids,
vectors and payloads -- in documented, engine-independent files
(docs/portable-format.md), so a backup of the embedded engine restores into a Qdrant
server and the other way round, across versions.

Parts are written deterministically (fixed row order, row groups and writer options;
no timestamps), so an unchanged part has the same bytes -- and the same content
address -- in every backup.  They are not compressed: a changed point then changes
only the bytes it occupies, and a backup repository (content-defined chunks of a few
KiB) stores little more than those on the next backup.  Compressed pages would change
whole (a random 1% of points touches every page), and embedding vectors hardly
compress anyway (float32 noise: a part is ~12% larger uncompressed).  Both
directions stream: export scrolls one page at a time, import reads one row group at
a time.  Import skips points already
present, so an interrupted import resumes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from qdrant_client import models

from crewchief.core.client import QdrantAPI
from crewchief.core.collection_config import (
    config_json,
    ensure_collection,
    ensure_payload_indexes,
    payload_schema_json,
)
from crewchief.errors import EngineFailure, InvalidInput, SnapshotCorrupt
from crewchief.fsutil import atomic_write_json, commit_file, sha256_file

VERSION = 2  # 2: sparse vectors, multi-vectors, native datatypes; 1: dense float32 only
FORMAT = f"crewchief-portable-{VERSION}"
READABLE = {f"crewchief-portable-{v}": v for v in (1, 2)}  # what import still reads
MANIFEST = "collection.json"
ROW_GROUP = 1024  # rows per Parquet row group, and points per scroll page
PARQUET_OPTIONS: dict[str, Any] = {  # fixed, so the same points give the same bytes
    "compression": "none",  # so an unchanged point keeps its bytes (see above)
    "version": "2.6",
    "data_page_version": "1.0",
    "use_dictionary": False,
    "write_statistics": False,
    "store_schema": True,
}

Progress = Callable[[str, int, int], None]  # (step, done, total), as ops.copy


def _no_progress(step: str, done: int, total: int) -> None:
    pass


@dataclass
class PortableManifest:
    """`collection.json`: written last, so a directory without it is an incomplete export."""

    name: str
    config: dict[str, Any]
    payload_schema: dict[str, Any]
    points: int = 0
    parts: list[str] = field(default_factory=list)
    part_points: list[int] = field(default_factory=list)
    checksums: dict[str, str] = field(default_factory=dict)  # part -> "sha256:<hex>"
    aliases: list[str] = field(default_factory=list)
    format: str = FORMAT

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def version(self) -> int:
        return READABLE[self.format]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PortableManifest:
        if data.get("format") not in READABLE:
            raise SnapshotCorrupt(
                f"Not a crewchief portable export this version reads "
                f"({', '.join(READABLE)}): format {data.get('format')!r}",
                hint="Import it with the crewchief version that wrote it, or re-export",
            )
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def read_manifest(src_dir: Path) -> PortableManifest:
    path = src_dir / MANIFEST
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise SnapshotCorrupt(
            f"{path} is missing: the export is incomplete", hint="Export the collection again"
        ) from exc
    except ValueError as exc:
        raise SnapshotCorrupt(f"{path} is not valid JSON: {exc}") from exc
    return PortableManifest.from_json(data)


@dataclass(frozen=True)
class VectorColumn:
    column: str  # "vector", "vector:<name>" (dense or multi) or "sparse:<name>"
    name: str | None  # None: the collection's unnamed dense vector
    kind: str  # "dense", "multi" or "sparse"
    size: int = 0  # dense and multi: the vector's size
    element: pa.DataType = field(default_factory=pa.float32)  # the stored value type
    nullable: bool = True

    def arrow_type(self) -> pa.DataType:
        if self.kind == "sparse":
            return pa.struct(
                [("indices", pa.list_(pa.uint32())), ("values", pa.list_(self.element))]
            )
        dense = pa.list_(self.element, self.size)
        return pa.list_(dense) if self.kind == "multi" else dense

    def cell(self, value: Any) -> Any:
        """An engine's vector (list, list of lists, or SparseVector) as this column's cell."""
        if value is None:
            return None
        if self.kind == "sparse":
            pairs = sorted(zip(value.indices, value.values, strict=True))
            return {"indices": [i for i, _ in pairs], "values": [v for _, v in pairs]}
        if self.element == pa.uint8():
            rows = value if self.kind == "multi" else [value]
            ints = [[int(round(x)) for x in row] for row in rows]
            return ints if self.kind == "multi" else ints[0]
        return value

    def vector(self, cell: Any) -> Any:
        """A cell back as what `upsert` takes."""
        if self.kind == "sparse":
            return models.SparseVector(indices=cell["indices"], values=cell["values"])
        if self.element == pa.uint8():
            rows = cell if self.kind == "multi" else [cell]
            floats = [[float(x) for x in row] for row in rows]
            return floats if self.kind == "multi" else floats[0]
        return cell


ELEMENTS = {"float32": pa.float32(), "float16": pa.float16(), "uint8": pa.uint8()}


def vector_columns(config: dict[str, Any], version: int = VERSION) -> list[VectorColumn]:
    """The vector columns a collection's config implies, in column order: dense and
    multi-vectors by name (the unnamed one first), then sparse vectors by name.

    Format 1 held dense float32 columns only (of any datatype); it is read the same way."""
    params = config.get("params", {})
    vectors = params.get("vectors") or {}
    single = isinstance(vectors.get("size"), int)
    sparse = params.get("sparse_vectors") or {}
    named: dict[str | None, dict[str, Any]] = {None: vectors} if single else dict(vectors)
    out = []
    for name, p in sorted(named.items(), key=lambda kv: kv[0] or ""):
        element = ELEMENTS.get(str(p.get("datatype") or "float32"), pa.float32())
        out.append(
            VectorColumn(
                "vector" if name is None else f"vector:{name}",
                name,
                "multi" if p.get("multivector_config") else "dense",
                int(p["size"]),
                pa.float32() if version == 1 else element,
                nullable=name is not None or bool(sparse),
            )
        )
    for name in sorted(sparse):
        out.append(VectorColumn(f"sparse:{name}", name, "sparse"))
    return out


def arrow_schema(columns: list[VectorColumn]) -> pa.Schema:
    out = [pa.field("id", pa.string(), nullable=False), pa.field("id_kind", pa.string(), False)]
    for c in columns:
        out.append(pa.field(c.column, c.arrow_type(), nullable=c.nullable))
    out.append(pa.field("payload", pa.string(), nullable=True))
    return pa.schema(out)


def id_key(pid: int | str | uuid.UUID) -> tuple[int, int | str]:
    """The order of ids in the parts (and Qdrant's scroll): ints ascending, then UUIDs."""
    return (0, pid) if isinstance(pid, int) else (1, str(uuid.UUID(str(pid))))


def _payload_text(payload: dict[str, Any] | None) -> str | None:
    if not payload:
        return None
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _vector(record: models.Record, column: VectorColumn) -> Any:
    v = record.vector
    if column.name is None:
        return column.cell(v.get("") if isinstance(v, dict) else v)
    return column.cell(v.get(column.name)) if isinstance(v, dict) else None


def _table(page: list[models.Record], columns: list[VectorColumn], schema: pa.Schema) -> pa.Table:
    keys = [id_key(p.id) for p in page]
    arrays = [
        pa.array([str(k[1]) for k in keys], pa.string()),
        pa.array(["int" if k[0] == 0 else "uuid" for k in keys], pa.string()),
    ]
    for c in columns:
        arrays.append(pa.array([_vector(p, c) for p in page], schema.field(c.column).type))
    arrays.append(pa.array([_payload_text(p.payload) for p in page], pa.string()))
    return pa.Table.from_arrays(arrays, schema=schema)


class _PartWriter:
    """One part file, written under a temporary name and renamed when complete."""

    def __init__(self, out_dir: Path, index: int, schema: pa.Schema) -> None:
        self.name = f"points-{index:05d}.parquet"
        self.path = out_dir / self.name
        self.tmp = out_dir / f".{self.name}.tmp"
        self.writer = pq.ParquetWriter(self.tmp, schema, **PARQUET_OPTIONS)
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        self.writer.write_table(table, row_group_size=ROW_GROUP)
        self.rows += table.num_rows

    def finish(self) -> str:
        self.writer.close()
        commit_file(self.tmp, self.path)
        return "sha256:" + sha256_file(self.path)

    def abort(self) -> None:
        self.writer.close()
        self.tmp.unlink(missing_ok=True)


def _pages(client: QdrantAPI, name: str, part_size: int) -> Iterator[list[models.Record]]:
    """Scroll in id order, in pages that never straddle two parts (so row groups and
    parts fall at the same points every time)."""
    offset, in_part, last = None, 0, None
    while True:
        page, offset = client.scroll(
            name,
            limit=min(ROW_GROUP, part_size - in_part),
            offset=offset,
            with_payload=True,
            with_vectors=True,
        )
        keys = [id_key(p.id) for p in page]
        if keys != sorted(keys) or (keys and last is not None and keys[0] <= last):
            raise EngineFailure(f"`{name}` scrolled points out of id order")
        if page:
            last = keys[-1]
            yield page
        in_part = (in_part + len(page)) % part_size
        if offset is None or not page:
            return


def export_collection(
    client: QdrantAPI,
    name: str,
    out_dir: Path,
    part_size: int = 10_000,
    progress: Progress | None = None,
    aliases: list[str] | None = None,
) -> PortableManifest:
    """Write collection `name` (on a QdrantClient-compatible `client`) to `out_dir`.

    `aliases` (names pointing at the collection) are recorded for a restore to re-point.
    """
    if part_size < 1:
        raise InvalidInput(f"part_size must be at least 1, not {part_size}")
    progress = progress or _no_progress
    info = client.get_collection(name)
    manifest = PortableManifest(
        name=name,
        config=config_json(info.config),
        payload_schema=payload_schema_json(info.payload_schema),
        aliases=sorted(aliases or []),
    )
    columns = vector_columns(manifest.config)
    schema = arrow_schema(columns)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).unlink(missing_ok=True)  # incomplete until written again
    total = client.count(name, exact=True).count
    writer: _PartWriter | None = None
    try:
        for page in _pages(client, name, part_size):
            writer = writer or _PartWriter(out_dir, len(manifest.parts), schema)
            writer.write(_table(page, columns, schema))
            manifest.points += len(page)
            progress("export", manifest.points, max(total, manifest.points))
            if writer.rows >= part_size:
                _add_part(manifest, writer)
                writer = None
        if writer is not None:
            _add_part(manifest, writer)
            writer = None
    finally:
        if writer is not None:
            writer.abort()
    for stale in out_dir.glob("points-*.parquet"):
        if stale.name not in manifest.checksums:
            stale.unlink()
    atomic_write_json(out_dir / MANIFEST, manifest.to_json())
    return manifest


def _add_part(manifest: PortableManifest, writer: _PartWriter) -> None:
    manifest.checksums[writer.name] = writer.finish()
    manifest.parts.append(writer.name)
    manifest.part_points.append(writer.rows)


def _point_id(text: str, kind: str) -> int | str:
    try:
        if kind == "int":
            return int(text)
        if kind == "uuid":
            return str(uuid.UUID(text))
    except ValueError:
        pass
    raise SnapshotCorrupt(f"Bad point id {text!r} of kind {kind!r}")


def _points(batch: pa.RecordBatch, columns: list[VectorColumn]) -> list[models.PointStruct]:
    ids, kinds = batch.column("id").to_pylist(), batch.column("id_kind").to_pylist()
    vectors = {c.column: batch.column(c.column).to_pylist() for c in columns}
    payloads = batch.column("payload").to_pylist()
    plain = len(columns) == 1 and columns[0].name is None  # a bare list, as format 1 had it
    out = []
    for i, text in enumerate(ids):
        vector: Any
        if plain:
            vector = columns[0].vector(vectors["vector"][i])
        else:
            vector = {
                c.name or "": c.vector(vectors[c.column][i])
                for c in columns
                if vectors[c.column][i] is not None
            }
        payload = json.loads(payloads[i]) if payloads[i] is not None else None
        out.append(models.PointStruct(id=_point_id(text, kinds[i]), vector=vector, payload=payload))
    return out


def _open_part(src_dir: Path, manifest: PortableManifest, part: str) -> pq.ParquetFile:
    path = src_dir / part
    if not path.exists():
        raise SnapshotCorrupt(f"Part {path} is missing", hint="Export the collection again")
    expected = manifest.checksums.get(part)
    if expected and "sha256:" + sha256_file(path) != expected:
        raise SnapshotCorrupt(f"Part {path} does not match its checksum {expected}")
    return pq.ParquetFile(path)


def import_collection(
    client: QdrantAPI,
    src_dir: Path,
    as_name: str | None = None,
    batch_size: int = 512,
    progress: Progress | None = None,
) -> int:
    """Load an export into `as_name` (default: the exported name); return points written.

    Creates the collection with the exported config when missing (refuses one whose
    vectors differ), recreates payload indexes, then upserts what is not there yet.
    """
    progress = progress or _no_progress
    manifest = read_manifest(src_dir)
    name = as_name or manifest.name
    columns = vector_columns(manifest.config, manifest.version)
    wanted = arrow_schema(columns)
    ensure_collection(client, name, manifest.config)
    ensure_payload_indexes(client, name, manifest.payload_schema)
    done = written = 0
    for part in manifest.parts:
        parquet = _open_part(src_dir, manifest, part)
        missing = [f.name for f in wanted if f.name not in parquet.schema_arrow.names]
        if missing:
            raise SnapshotCorrupt(f"Part {part} lacks the columns {missing}")
        for batch in parquet.iter_batches(batch_size=batch_size, columns=wanted.names):
            points = _points(batch, columns)
            ids = [p.id for p in points]
            there = {r.id for r in client.retrieve(name, ids, with_payload=False)}
            todo = [p for p in points if p.id not in there]
            if todo:
                client.upsert(name, todo)
            written += len(todo)
            done += len(points)
            progress("import", done, manifest.points)
    return written
