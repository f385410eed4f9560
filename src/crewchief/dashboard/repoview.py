"""What the dashboard shows of a backup repository: backups, verify results, schedules.

The overview polls every two seconds and a repository may be an S3 bucket, so
reads are cheap on purpose: a manifest never changes once written, so each is
read once and only its summary is kept; verify records and scheduler states
are small and read again, at most every `ttl` seconds unless asked fresh.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crewchief.backup.manifest import BackupManifest
from crewchief.backup.repository import Repository
from crewchief.backup.state import BackupState
from crewchief.errors import CrewchiefError, NotFound


def manifest_summary(manifest: BackupManifest) -> dict[str, Any]:
    """A backup without its file and chunk lists (which can be long)."""
    collections = manifest.collections
    stats = manifest.stats.to_json()
    return {
        "id": manifest.id,
        "created": manifest.created,
        "source": manifest.source.to_json(),
        "collections": sorted(collections),
        "points": {name: entry.points for name, entry in collections.items()},
        "aliases": manifest.aliases,
        "bytes_total": stats["bytes_total"],
        "bytes_new": stats["bytes_new"],
        "chunks_total": stats["chunks_total"],
        "chunks_new": stats["chunks_new"],
        "dedup_ratio": stats["dedup_ratio"],
    }


@dataclass
class RepoSummary:
    url: str
    read_at: float
    error: str | None = None
    hint: str | None = None
    backups: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    schedules: list[dict[str, Any]] = field(default_factory=list)
    in_progress: list[str] = field(default_factory=list)

    def last_backup(self, collection: str) -> str | None:
        """When `collection` was last in a backup (ISO time), if ever."""
        for backup in reversed(self.backups):
            if collection in backup["collections"]:
                created: str | None = backup.get("created")
                return created
        return None

    def backup_state(self) -> BackupState:
        """The same facts as `crewchief status --repo` reads, from this cached summary."""
        state = BackupState(repo=self.url)
        for b in self.backups:  # oldest first: later ones overwrite
            for coll in b["collections"]:
                state.newest[coll] = (b["id"], datetime.fromisoformat(b["created"]))
            if b.get("verify"):
                state.verify[b["id"]] = b["verify"]
        state.jobs = {str(s.get("job")): s for s in self.schedules}
        return state

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "read_at": self.read_at,
            "error": self.error,
            "hint": self.hint,
            "backups": self.backups,
            "schedules": self.schedules,
            "in_progress": self.in_progress,
        }


class RepoView:
    """Reads one repository for the dashboard; thread-safe, with a small cache."""

    def __init__(self, url: str, ttl: float = 10.0) -> None:
        self.url = url
        self.ttl = ttl
        self._manifests: dict[str, dict[str, Any]] = {}  # id -> summary; immutable
        self._last: RepoSummary | None = None
        self._lock = threading.Lock()

    def summary(self, fresh: bool = False) -> RepoSummary:
        with self._lock:
            last = self._last
            if last is not None and not fresh and time.time() - last.read_at < self.ttl:
                return last
            try:
                self._last = self._read()
            except CrewchiefError as exc:  # shown in the page, never a failed overview
                self._last = RepoSummary(self.url, time.time(), exc.message, exc.hint)
            except Exception as exc:
                self._last = RepoSummary(self.url, time.time(), f"{type(exc).__name__}: {exc}")
            return self._last

    def _read(self) -> RepoSummary:
        repo = Repository.open(self.url)
        try:
            ids = repo.backup_ids()
            for gone in set(self._manifests) - set(ids):  # forgotten meanwhile
                del self._manifests[gone]
            backups = []
            for backup_id in ids:
                summary = self._manifests.get(backup_id)
                if summary is None:
                    try:
                        summary = manifest_summary(repo.manifest(backup_id))
                    except NotFound:
                        continue  # forgotten between the listing and the read
                    self._manifests[backup_id] = summary
                verify = repo.record(f"verify/{backup_id}.json")
                backups.append({**summary, "verify": verify})
            schedules = []
            for key in sorted(repo.storage.list("schedule/")):
                state = repo.record(key)
                if state is not None:
                    schedules.append(state)
            return RepoSummary(
                url=repo.url,
                read_at=time.time(),
                backups=backups,
                schedules=schedules,
                in_progress=repo.active_locks(),
            )
        finally:
            repo.close()


def age_seconds(iso: str | None, now: datetime) -> float | None:
    """Seconds since an ISO time (a naive time is taken as UTC), or None."""
    if not iso:
        return None
    try:
        then = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=now.tzinfo)
    return round((now - then).total_seconds(), 1)
