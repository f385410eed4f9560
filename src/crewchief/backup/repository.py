"""A backup repository: content-addressed chunks, manifests written last.

Keys in the storage (a local directory or S3, see storage.py):

    config.json                  {"format": "crewchief-repo-1", "created": ...}
    objects/<h[:2]>/<h>          one chunk each; h = SHA-256 of its bytes; written once
    backups/<id>.json            a backup's manifest (manifest.py), written after all its
                                 objects
    verify/<id>.json             the last verification of that backup
    locks/<id>.json              a backup in progress (prune leaves its objects alone;
                                 a dead process's lock is stale and removed by prune)
    schedule/<job>.json          the scheduler's last success, failure and verify per job

Files are cut into content-defined chunks (chunker.py), so a second backup of a
mostly unchanged collection uploads only the chunks that changed.  A manifest
is written only when every object it names is stored: a backup interrupted at
any moment is never listed, and its stray objects are pruned later.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crewchief.backup.chunker import chunk_file
from crewchief.backup.manifest import BackupManifest, FileEntry, UploadStats
from crewchief.backup.storage import Storage, open_storage
from crewchief.errors import NotFound, SnapshotCorrupt

FORMAT = "crewchief-repo-1"
LOCK_STALE_SECONDS = 3600
HOST = socket.gethostname()


def object_key(digest: str) -> str:
    return f"objects/{digest[:2]}/{digest}"


def new_backup_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    # microseconds: ids sort in creation order even within one second
    return f"{now.strftime('%Y%m%dT%H%M%S.%f')}Z-{uuid.uuid4().hex[:8]}"


class Repository:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._known: set[str] = set()  # objects seen to exist in this session

    @classmethod
    def open(cls, url: str, create: bool = False, **storage_options: Any) -> Repository:
        repo = cls(open_storage(url, **storage_options))
        if repo.storage.exists("config.json"):
            cfg = json.loads(repo.storage.get("config.json"))
            if cfg.get("format") != FORMAT:
                raise SnapshotCorrupt(
                    f"{url} is not a crewchief repository (format {cfg.get('format')!r})",
                    hint="Use an empty folder or bucket prefix for a new repository",
                )
        elif create:
            repo.storage.put(
                "config.json",
                json.dumps({"format": FORMAT, "created": datetime.now(UTC).isoformat()}).encode(),
            )
        else:
            raise NotFound(
                f"No crewchief repository at {url}",
                hint="Create one by taking a backup: crewchief backup create --all --repo URL",
            )
        return repo

    @property
    def url(self) -> str:
        return self.storage.url

    def close(self) -> None:
        self.storage.close()

    # -- objects -----------------------------------------------------------------------------------

    def _put_chunk(self, data: bytes, stats: UploadStats) -> tuple[str, int]:
        digest = hashlib.sha256(data).hexdigest()
        stats.chunks_total += 1
        stats.bytes_total += len(data)
        if digest not in self._known and not self.storage.exists(object_key(digest)):
            self.storage.put(object_key(digest), data)
            stats.chunks_new += 1
            stats.bytes_new += len(data)
        self._known.add(digest)
        return digest, len(data)

    def store_file(self, path: Path, name: str, stats: UploadStats) -> FileEntry:
        entry = FileEntry(name, path.stat().st_size)
        for chunk in chunk_file(path):
            entry.chunks.append(self._put_chunk(chunk, stats))
        return entry

    def store_tree(self, root: Path, stats: UploadStats) -> list[FileEntry]:
        """Every regular file under `root`, in a stable order."""
        files = sorted(p for p in root.rglob("*") if p.is_file())
        return [self.store_file(p, p.relative_to(root).as_posix(), stats) for p in files]

    def read_chunk(self, digest: str, check: bool = True) -> bytes:
        data = self.storage.get(object_key(digest))
        if check and hashlib.sha256(data).hexdigest() != digest:
            raise SnapshotCorrupt(
                f"Object {digest[:12]}... is corrupt (its checksum does not match)",
                hint="Run crewchief backup verify --all; an older backup may still be intact",
            )
        return data

    def restore_file(self, entry: FileEntry, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(dest, "wb") as out:
            for digest, _length in entry.chunks:
                out.write(self.read_chunk(digest))

    def restore_tree(self, entries: list[FileEntry], root: Path) -> None:
        for entry in entries:
            if entry.path.startswith("/") or ".." in Path(entry.path).parts:
                raise SnapshotCorrupt(f"Manifest entry {entry.path!r} escapes the target folder")
            self.restore_file(entry, root / entry.path)

    def delete_object(self, digest: str) -> None:
        self.storage.delete(object_key(digest))
        self._known.discard(digest)  # a later backup through this object must upload it again

    def object_digests(self) -> Iterator[str]:
        for key in self.storage.list("objects/"):
            yield key.rsplit("/", 1)[-1]

    # -- manifests ---------------------------------------------------------------------------------

    def put_manifest(self, manifest: BackupManifest) -> None:
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
