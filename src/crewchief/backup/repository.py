"""A backup repository: content-addressed chunks in pack files, manifests written last.

Keys in the storage (a local directory or S3, see storage.py):

    config.json                  {"format": "crewchief-repo-2", "created": ...}
    packs/<p[:2]>/<p>            chunks (BLAKE3-named) packed ~16 MiB to a file (packs.py)
    index/<id>.json              which pack holds each chunk, written after its packs
    backups/<id>.json            a backup's manifest (manifest.py), written after its index
    verify/<id>.json             the last verification of that backup
    locks/<id>.json              a backup in progress (prune leaves its chunks alone;
                                 a dead process's lock is stale and removed by prune)
    schedule/<job>.json          the scheduler's last success, failure and verify per job
    objects/<h[:2]>/<h>          format 1 only: one chunk per object, h = its SHA-256

Files are cut into content-defined chunks (chunker.py), so a second backup of a
mostly unchanged collection stores only the chunks that changed.  A manifest is
written only when every chunk it names is in a stored pack and in an index file: a
backup interrupted at any moment is never listed, and what it stored is pruned later.

Format 1 repositories (loose SHA-256 objects, written by crewchief before packs) stay
readable: their manifests (no "format" key) restore and verify from `objects/`, and
the first backup written into one turns its config to format 2; old and new backups
then live side by side, and prune handles both.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crewchief.backup.chunker import NATIVE, SMALL, MappedFile, Sizes, chunk_buffer
from crewchief.backup.manifest import BackupManifest, FileEntry, UploadStats
from crewchief.backup.packs import (
    CORRUPT_HINT,
    Index,
    Location,
    PackWriter,
    Sink,
    check_packs,
    digest_of,
    pack_key,
    read_into,
    read_ranges,
)
from crewchief.backup.storage import Storage, open_storage
from crewchief.errors import NotFound, SnapshotCorrupt

FORMAT = "crewchief-repo-2"
FORMAT_1 = "crewchief-repo-1"
LOCK_STALE_SECONDS = 3600
HOST = socket.gethostname()


def object_key(digest: str) -> str:
    """A format-1 loose object."""
    return f"objects/{digest[:2]}/{digest}"


def new_backup_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    # microseconds: ids sort in creation order even within one second
    return f"{now.strftime('%Y%m%dT%H%M%S.%f')}Z-{uuid.uuid4().hex[:8]}"


def _corrupt(digest: str) -> SnapshotCorrupt:
    return SnapshotCorrupt(
        f"Object {digest[:12]}... is corrupt (its checksum does not match)", hint=CORRUPT_HINT
    )


class Repository:
    def __init__(self, storage: Storage, fmt: str = FORMAT) -> None:
        self.storage = storage
        self.format = fmt
        self._index: Index | None = None
        self._writer: PackWriter | None = None

    @classmethod
    def open(cls, url: str, create: bool = False, **storage_options: Any) -> Repository:
        storage = open_storage(url, **storage_options)
        if storage.exists("config.json"):
            cfg = json.loads(storage.get("config.json"))
            if cfg.get("format") not in (FORMAT, FORMAT_1):
                raise SnapshotCorrupt(
                    f"{url} is not a crewchief repository (format {cfg.get('format')!r})",
                    hint="Use an empty folder or bucket prefix for a new repository",
                )
            return cls(storage, cfg["format"])
        if create:
            config = {"format": FORMAT, "created": datetime.now(UTC).isoformat()}
            storage.put("config.json", json.dumps(config).encode())
            return cls(storage)
        raise NotFound(
            f"No crewchief repository at {url}",
            hint="Create one by taking a backup: crewchief backup create --all --repo URL",
        )

    @property
    def url(self) -> str:
        return self.storage.url

    def close(self) -> None:
        self.discard_pending()
        self.storage.close()

    # -- the index ---------------------------------------------------------------------------------

    def index(self, reload: bool = False) -> Index:
        if self._index is None or reload:
            self._index = Index.load(self.storage)
        return self._index

    def locate(self, digest: str) -> Location:
        """Where a format-2 chunk is stored; NotFound if no index names it."""
        loc = self.index().entries.get(digest)
        if loc is None:  # another process may have written or repacked it since
            loc = self.index(reload=True).entries.get(digest)
        if loc is None:
            raise NotFound(f"Object {digest[:12]}... is in no pack index", hint=CORRUPT_HINT)
        return loc

    # -- writing -----------------------------------------------------------------------------------

    def _upgrade(self) -> None:
        """Format 1 -> 2 before the first pack: old backups stay readable as they are."""
        if self.format == FORMAT_1:
            cfg = json.loads(self.storage.get("config.json"))
            cfg |= {"format": FORMAT, "upgraded": datetime.now(UTC).isoformat()}
            self.storage.put("config.json", json.dumps(cfg).encode())
            self.format = FORMAT

    def _pack_writer(self) -> PackWriter:
        if self._writer is None:
            self._upgrade()
            self.index(reload=True)  # dedup against everything stored so far
            self._writer = PackWriter(self.storage)
        return self._writer

    def store_file(
        self, path: Path, name: str, stats: UploadStats, sizes: Sizes = NATIVE
    ) -> FileEntry:
        return self._store(path, name, stats, sizes, with_sha256=False)[0]

    def store_file_sha256(self, path: Path, name: str, stats: UploadStats) -> tuple[FileEntry, str]:
        """store_file, and the SHA-256 of the file's bytes (computed alongside, in a thread)."""
        entry, sha = self._store(path, name, stats, NATIVE, with_sha256=True)
        assert sha is not None
        return entry, sha

    def _store(
        self, path: Path, name: str, stats: UploadStats, sizes: Sizes, with_sha256: bool
    ) -> tuple[FileEntry, str | None]:
        writer = self._pack_writer()
        known = self.index().entries
        with MappedFile(path) as mapped, ThreadPoolExecutor(1) as pool:
            # hashlib drops the GIL: the whole-file SHA-256 runs beside the chunking
            whole = pool.submit(
                lambda: hashlib.sha256(mapped.data).hexdigest() if with_sha256 else None
            )
            entry = FileEntry(name, len(mapped.data))
            for chunk in chunk_buffer(mapped.data, sizes):
                digest = digest_of(chunk)
                self._add(writer, known, digest, chunk, stats)
                entry.chunks.append((digest, len(chunk)))
                chunk.release()
            sha = whole.result()
        return entry, sha

    def add_chunk(self, digest: str, data: memoryview, stats: UploadStats) -> None:
        """Store the chunk `digest` (its BLAKE3) unless the repository already has it."""
        self._add(self._pack_writer(), self.index().entries, digest, data, stats)

    @staticmethod
    def _add(
        writer: PackWriter,
        known: dict[str, Location],
        digest: str,
        data: memoryview,
        stats: UploadStats,
    ) -> None:
        stats.chunks_total += 1
        stats.bytes_total += len(data)
        if digest not in known and digest not in writer.added:
            writer.add(digest, data)
            stats.chunks_new += 1
            stats.bytes_new += len(data)

    def store_tree(self, root: Path, stats: UploadStats, sizes: Sizes = SMALL) -> list[FileEntry]:
        """Every regular file under `root`, in a stable order."""
        files = sorted(p for p in root.rglob("*") if p.is_file())
        return [self.store_file(p, p.relative_to(root).as_posix(), stats, sizes) for p in files]

    def commit_pending(self) -> None:
        """Store every pack still filling or in flight and index it (before a manifest)."""
        if self._writer is not None:
            stored = self._writer.flush()
            self.index().entries.update(stored)
            self._writer.close()
            self._writer = None

    def drain_pending(self) -> None:
        """Store every pack still filling or in flight (not indexed yet): what they hold
        may change once this returns."""
        if self._writer is not None:
            self._writer.drain()

    def discard_pending(self) -> None:
        """Stop writing (a failed backup): what was stored unindexed is pruned later."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self._index = None

    # -- reading -----------------------------------------------------------------------------------

    def read_chunk(self, digest: str, check: bool = True, fmt: int = 2) -> bytes:
        if fmt == 1:
            data = self.storage.get(object_key(digest))
            if check and hashlib.sha256(data).hexdigest() != digest:
                raise _corrupt(digest)
            return data
        loc = self.locate(digest)
        data = self.storage.get_range(pack_key(loc.pack), loc.offset, loc.length)
        if check and (len(data) != loc.length or digest_of(data) != digest):
            raise _corrupt(digest)
        return data

    def _chunks(self, entry: FileEntry, fmt: int) -> Iterator[bytes | memoryview]:
        if fmt == 1:
            for digest, _length in entry.chunks:
                yield self.read_chunk(digest, fmt=1)
            return
        for _digest, data in self.read_chunks(entry.chunks):
            yield data

    def read_chunks(self, chunks: list[tuple[str, int]]) -> Iterator[tuple[str, memoryview]]:
        """(digest, bytes) of each format-2 chunk in order, each checked against its digest
        (runs stored back to back in a pack are read at once, a few reads ahead)."""
        located = [(digest, self.locate(digest)) for digest, _length in chunks]
        return read_ranges(self.storage, located)

    def read_chunks_into(self, chunks: list[tuple[str, int]], sink: Sink) -> None:
        """`sink(i, bytes)` for each format-2 chunk, checked, on reader threads (any order)."""
        read_into(self.storage, [(digest, self.locate(digest)) for digest, _n in chunks], sink)

    def restore_file(self, entry: FileEntry, dest: Path, fmt: int = 2) -> None:
        """Write the file back, every chunk checked against its digest as it is read."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with open(dest, "wb") as out:
            for data in self._chunks(entry, fmt):
                out.write(data)
                written += len(data)
        if written != entry.size:
            raise SnapshotCorrupt(
                f"{entry.path} restored to {written} bytes, the manifest says {entry.size}",
                hint=CORRUPT_HINT,
            )

    def restore_tree(self, entries: list[FileEntry], root: Path, fmt: int = 2) -> None:
        for entry in entries:
            if entry.path.startswith("/") or ".." in Path(entry.path).parts:
                raise SnapshotCorrupt(f"Manifest entry {entry.path!r} escapes the target folder")
            self.restore_file(entry, root / entry.path, fmt)

    def check(self, digests: set[str], fmt: int) -> list[str]:
        """Problems found reading every chunk in `digests` (empty: all present and intact).
        Format 2 reads each pack once and checks it whole, its table and every chunk."""
        if fmt != 1:
            return check_packs(self.storage, self.index(reload=True), digests)
        problems = []
        for digest in sorted(digests):
            try:
                self.read_chunk(digest, fmt=1)
            except Exception as exc:  # missing or corrupt: both are findings, not crashes
                problems.append(f"object {digest[:12]}: {exc}")
        return problems

    def loose_digests(self) -> Iterator[str]:
        """Format-1 objects."""
        for key in self.storage.list("objects/"):
            yield key.rsplit("/", 1)[-1]

    def object_digests(self) -> Iterator[str]:
        """Every stored chunk: format-1 objects, then every indexed chunk."""
        yield from self.loose_digests()
        yield from self.index(reload=True).entries

    # -- manifests ---------------------------------------------------------------------------------

    def put_manifest(self, manifest: BackupManifest) -> None:
        self.commit_pending()  # the chunks it names are stored and indexed first
        data = json.dumps(manifest.to_json(), indent=1).encode()
        self.storage.put(f"backups/{manifest.id}.json", data)

    def manifest(self, backup_id: str) -> BackupManifest:
        try:
            data = json.loads(self.storage.get(f"backups/{backup_id}.json"))
        except NotFound:
            raise NotFound(
                f"Backup `{backup_id}` is not in {self.url}",
                hint=f"Try: crewchief backup list --repo {self.url}",
            ) from None
        return BackupManifest.from_json(data)

    def backup_ids(self) -> list[str]:
        """Every complete backup, oldest first (ids sort by time)."""
        return sorted(
            key.removeprefix("backups/").removesuffix(".json")
            for key in self.storage.list("backups/")
            if key.endswith(".json")
        )

    def manifests(self) -> list[BackupManifest]:
        return [self.manifest(i) for i in self.backup_ids()]

    def delete_manifest(self, backup_id: str) -> None:
        self.storage.delete(f"backups/{backup_id}.json")
        self.storage.delete(f"verify/{backup_id}.json")

    # -- small state records -----------------------------------------------------------------------

    def put_record(self, key: str, record: dict[str, Any]) -> None:
        self.storage.put(key, json.dumps(record, indent=1, default=str).encode())

    def record(self, key: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.storage.get(key))
        except NotFound:
            return None
        return data

    def lock(self, backup_id: str) -> str:
        key = f"locks/{backup_id}.json"
        record = {"id": backup_id, "since": time.time(), "host": HOST, "pid": os.getpid()}
        self.put_record(key, record)
        return key

    def active_locks(self) -> list[str]:
        """Backups in progress: a lock is stale once its process is gone (known only on
        the host that wrote it) or once it is older than an hour (a crash elsewhere)."""
        return [str(rec["id"]) for rec in self._locks() if not _stale(rec)]

    def remove_stale_locks(self) -> list[str]:
        """Delete the locks of backups that died; returns their ids."""
        stale = [rec for rec in self._locks() if _stale(rec)]
        for rec in stale:
            self.storage.delete(rec["key"])
        return [str(rec.get("id")) for rec in stale]

    def _locks(self) -> list[dict[str, Any]]:
        found = []
        for key in self.storage.list("locks/"):
            rec = self.record(key)
            if rec is not None:
                found.append({**rec, "key": key})
        return found


def _stale(lock: dict[str, Any]) -> bool:
    if time.time() - float(lock.get("since", 0)) >= LOCK_STALE_SECONDS:
        return True
    if lock.get("host") == HOST and isinstance(lock.get("pid"), int):
        return not _process_exists(lock["pid"])
    return False  # another machine's lock: only its age tells


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
