"""A backup's manifest, typed: what `backups/<id>.json` in a repository holds.

    {"id", "created", "source": {"kind", "location"},
     "collections": {name: {"config", "points", "aliases", "probes": [{"vector", "ids"}],
                            "native": {"kind", "file", "checksum"} | null,
                            "portable": [file, ...] | null}},
     "aliases": {alias: collection},
     "stats": {"bytes_total", "bytes_new", "chunks_total", "chunks_new", "dedup_ratio"}}

where a file is {"path", "size", "chunks": [[sha256, length], ...]}: repository format
1, loose objects named by SHA-256.  Format 2 manifests start with "format": 2 and name
chunks by BLAKE3, found in pack files through the index (packs.py); a file's chunks are
one base64 string of 36-byte records (32-byte digest, little-endian u32 length), a third
of the JSON list's size (a backup of 400 MB has ~35,000 chunks).

Format 3 (written when a native copy is a shard's own files, shardfiles.py): "native" is
{"kind", "dirs": [path, ...], "files": [file, ...]} instead of one snapshot file, and
such a file also has "extents": [[offset, length], ...], where its data lies (the rest
are holes); its chunks are that data, extent after extent.  A manifest without such a
copy is still written as format 2, which older crewchief versions read.

`to_json` writes the keys in this order, so a manifest has the bytes it was written
with, and `from_json` reads every manifest ever written (`native` or `portable` may be
null).
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crewchief.errors import SnapshotCorrupt

FORMAT = 3  # the newest this code writes (2 when no native copy is files)
CHUNK = struct.Struct("<32sI")


@dataclass
class UploadStats:
    """What a backup wrote: every chunk it references vs the chunks that were new."""

    bytes_total: int = 0
    bytes_new: int = 0
    chunks_total: int = 0
    chunks_new: int = 0

    @property
    def dedup_ratio(self) -> float:
        """Bytes referenced / bytes uploaded (1.0: nothing was already there)."""
        return self.bytes_total / self.bytes_new if self.bytes_new else float("inf")

    def to_json(self) -> dict[str, Any]:
        ratio = self.dedup_ratio
        return {
            "bytes_total": self.bytes_total,
            "bytes_new": self.bytes_new,
            "chunks_total": self.chunks_total,
            "chunks_new": self.chunks_new,
            "dedup_ratio": round(ratio, 3) if ratio != float("inf") else None,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> UploadStats:
        """`dedup_ratio` is derived from the counts, so it is not read back."""
        return cls(d["bytes_total"], d["bytes_new"], d["chunks_total"], d["chunks_new"])


@dataclass
class FileEntry:
    """A file of a backup: its relative path, size and chunks [(sha256, length), ...]."""

    path: str
    size: int
    chunks: list[tuple[str, int]] = field(default_factory=list)
    extents: list[tuple[int, int]] | None = None  # (offset, length) of data; None: all of it

    def to_json(self, packed: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "size": self.size}
        if packed:
            raw = b"".join(CHUNK.pack(bytes.fromhex(h), n) for h, n in self.chunks)
            out["chunks"] = base64.b64encode(raw).decode()
        else:
            out["chunks"] = [list(c) for c in self.chunks]
        if self.extents is not None:
            out["extents"] = [list(e) for e in self.extents]
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FileEntry:
        chunks = d["chunks"]
        extents = d.get("extents")
        spans = None if extents is None else [(int(o), int(n)) for o, n in extents]
        if isinstance(chunks, str):
            raw = base64.b64decode(chunks, validate=True)
            if len(raw) % CHUNK.size:
                raise ValueError(f"packed chunk list of {len(raw)} bytes")
            found = [(h.hex(), n) for h, n in CHUNK.iter_unpack(raw)]
            return cls(d["path"], d["size"], found, spans)
        return cls(d["path"], d["size"], [(h, n) for h, n in chunks], spans)


@dataclass
class NativeCopy:
    """A collection's copy restorable onto a `kind` target: the target's own snapshot file
    (`file`, `checksum`), or (format 3) the files of its Edge shard (`files`, `dirs`)."""

    kind: str
    file: FileEntry | None = None
    checksum: str | None = None  # SHA-256 of the whole snapshot file
    files: list[FileEntry] | None = None  # the shard folder's files, holes left out
    dirs: list[str] = field(default_factory=list)  # its folders, empty ones included

    def all_files(self) -> list[FileEntry]:
        return [self.file] if self.file is not None else list(self.files or [])

    def to_json(self, packed: bool = False) -> dict[str, Any]:
        if self.files is not None:
            files = [f.to_json(packed) for f in self.files]
            return {"kind": self.kind, "dirs": self.dirs, "files": files}
        assert self.file is not None
        return {"kind": self.kind, "file": self.file.to_json(packed), "checksum": self.checksum}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NativeCopy:
        if "files" in d:
            files = [FileEntry.from_json(f) for f in d["files"]]
            return cls(d["kind"], files=files, dirs=[str(p) for p in d["dirs"]])
        return cls(d["kind"], FileEntry.from_json(d["file"]), d["checksum"])


@dataclass
class Probe:
    """An exact query taken at backup time and the ids it found, replayed by a full verify."""

    vector: list[float]
    ids: list[int | str]
    using: str | None = None  # the named dense vector queried; None: the unnamed one

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"vector": self.vector, "ids": self.ids}
        if self.using is not None:
            out["using"] = self.using
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Probe:
        return cls(d["vector"], d["ids"], d.get("using"))


@dataclass
class CollectionBackup:
    """One collection in a backup: its config, counts, aliases, probes and copies."""

    config: dict[str, Any]  # CollectionConfig as JSON
    points: int
    aliases: list[str] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    native: NativeCopy | None = None
    portable: list[FileEntry] | None = None  # the portable export's files

    def files(self) -> list[FileEntry]:
        """Every file of this collection's copies."""
        return [*(self.portable or []), *(self.native.all_files() if self.native else [])]

    def to_json(self, packed: bool = False) -> dict[str, Any]:
        portable = None if self.portable is None else [f.to_json(packed) for f in self.portable]
        return {
            "config": self.config,
            "points": self.points,
            "aliases": self.aliases,
            "probes": [p.to_json() for p in self.probes],
            "native": self.native.to_json(packed) if self.native else None,
            "portable": portable,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CollectionBackup:
        native, portable = d.get("native"), d.get("portable")
        return cls(
            config=d["config"],
            points=d["points"],
            aliases=list(d["aliases"]),
            probes=[Probe.from_json(p) for p in d["probes"]],
            native=None if native is None else NativeCopy.from_json(native),
            portable=None if portable is None else [FileEntry.from_json(f) for f in portable],
        )


@dataclass
class BackupSource:
    """Where a backup was taken: the target's kind and location (directory or URL)."""

    kind: str
    location: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "location": self.location}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BackupSource:
        return cls(d["kind"], d["location"])


@dataclass
class BackupManifest:
    """`backups/<id>.json`: written last, so a backup without it does not exist."""

    id: str
    created: str  # ISO 8601, UTC
    source: BackupSource
    collections: dict[str, CollectionBackup]
    aliases: dict[str, str]  # alias -> collection, for the collections backed up
    stats: UploadStats
    format: int = 1  # 1: SHA-256 loose objects; 2: BLAKE3 chunks in packs; 3: shard files

    @property
    def time(self) -> datetime:
        return datetime.fromisoformat(self.created)

    def referenced_digests(self) -> set[str]:
        """Every chunk this backup needs (what prune keeps, what verify reads)."""
        return {
            h for entry in self.collections.values() for f in entry.files() for h, _ in f.chunks
        }

    def to_json(self) -> dict[str, Any]:
        packed = self.format >= 2
        return {
            **({"format": self.format} if packed else {}),
            "id": self.id,
            "created": self.created,
            "source": self.source.to_json(),
            "collections": {name: c.to_json(packed) for name, c in self.collections.items()},
            "aliases": self.aliases,
            "stats": self.stats.to_json(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BackupManifest:
        fmt = d.get("format", 1) if isinstance(d, dict) else 1
        if fmt not in (1, 2, FORMAT):
            raise SnapshotCorrupt(
                f"Backup manifest {d.get('id', '?')} has format {fmt!r}, which this crewchief "
                "cannot read",
                hint="Use the crewchief version that wrote it (or a newer one)",
            )
        try:
            return cls(
                id=d["id"],
                created=d["created"],
                source=BackupSource.from_json(d["source"]),
                collections={
                    name: CollectionBackup.from_json(c) for name, c in d["collections"].items()
                },
                aliases=dict(d["aliases"]),
                stats=UploadStats.from_json(d["stats"]),
                format=fmt,
            )
        except (KeyError, TypeError, ValueError, AttributeError, struct.error) as exc:
            raise SnapshotCorrupt(
                f"Backup manifest {d.get('id', '?') if isinstance(d, dict) else '?'} is "
                f"malformed ({type(exc).__name__}: {exc})",
                hint="Run crewchief backup verify --all; an older backup may still be intact",
            ) from None
