"""The data directory: its owner, where everything in it lives, staging, and clean-up on open.

    .lock                    owner of the directory (pid, serving URL; see lock.py)
    catalog.json             collections and aliases (see catalog.py)
    alias-history.jsonl      every alias change
    collections/<id>/        one folder per collection (see collection.py)
    snapshots/<collection>/  collection snapshots (see snapshots.py)
    full-snapshots/          full snapshots
    tmp/                     staging and uploads; emptied on open

catalog.py and lock.py name their own files; every other part of the engine gets its
folders from `DataDir` instead of spelling the paths out.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path

from crewchief.engine import snapshots
from crewchief.engine.lock import DataDirLock
from crewchief.fsutil import remove_tree


class DataDir:
    """An owned data directory.  Opening takes the lock (or raises `DataDirLocked`) and
    empties `tmp/`; `release` gives the lock back."""

    def __init__(self, path: str | Path, owner_url: str | None = None) -> None:
        self.path = Path(path).resolve()
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = DataDirLock(self.path)
        try:
            if owner_url:
                self._lock.set_url(owner_url)
            remove_tree(self.tmp)
        except BaseException:
            self._lock.release()
            raise

    def set_owner_url(self, url: str | None) -> None:
        self._lock.set_url(url)

    def release(self) -> None:
        self._lock.release()

    # -- paths -----------------------------------------------------------------------------------

    @property
    def tmp(self) -> Path:
        return self.path / "tmp"

    @property
    def collections(self) -> Path:
        return self.path / "collections"

    def new_collection_root(self) -> tuple[str, Path]:
        """A fresh folder name (the catalog's `dir`) and its path; nothing is created."""
        dir_id = uuid.uuid4().hex
        return dir_id, self.collections / dir_id

    def snapshots(self, collection: str) -> Path:
        return self.path / "snapshots" / collection

    @property
    def full_snapshots(self) -> Path:
        return self.path / "full-snapshots"

    def staging(self, kind: str) -> Path:
        """A new, empty folder in `tmp/` (removed on the next open if left behind)."""
        path = self.tmp / f"{kind}-{uuid.uuid4().hex[:12]}"
        path.mkdir(parents=True)
        return path

    def upload_dir(self) -> Path:
        """A folder inside the data directory for uploads to be streamed into."""
        path = self.tmp / "uploads"
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- clean-up --------------------------------------------------------------------------------

    def remove_orphans(self, live: Iterable[str]) -> None:
        """Remove the collection folders not in `live` (the catalog's `dir`s), which an
        interrupted create/delete/recover left behind, and partial snapshots."""
        keep = set(live)
        if self.collections.exists():
            for d in self.collections.iterdir():
                if d.name not in keep:
                    remove_tree(d)
        for d in [*self.path.joinpath("snapshots").glob("*"), self.full_snapshots]:
            snapshots.clean_partials(d)
        for stale in self.path.glob(".*.tmp"):  # an atomic write interrupted by a crash
            stale.unlink(missing_ok=True)
