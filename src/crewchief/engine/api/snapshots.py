"""Collection and full snapshots, delegated to `SnapshotStore` (snapshot_store.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qdrant_client import models

from crewchief.core.aliases import AliasOp
from crewchief.engine import requests
from crewchief.engine.snapshot_store import SnapshotStore


class SnapshotsAPI:
    _snapshots: SnapshotStore

    if TYPE_CHECKING:  # Engine's own (engine.py): a recovered full snapshot's aliases

        def update_collection_aliases(
            self, change_aliases_operations: Sequence[AliasOp]
        ) -> bool: ...

    def create_snapshot(
        self, collection_name: str, wait: bool = True, **kwargs: Any
    ) -> models.SnapshotDescription:
        return self._snapshots.create(collection_name)

    def list_snapshots(
        self, collection_name: str, **kwargs: Any
    ) -> list[models.SnapshotDescription]:
        """Snapshots of a collection; those of a deleted collection stay listed."""
        return self._snapshots.list_of(collection_name)

    def snapshot_file(self, collection_name: str, snapshot_name: str) -> Path:
        return self._snapshots.file(collection_name, snapshot_name)

    def delete_snapshot(
        self, collection_name: str, snapshot_name: str, wait: bool = True, **kwargs: Any
    ) -> bool:
        self._snapshots.delete(collection_name, snapshot_name)
        return True

    def recover_snapshot(
        self,
        collection_name: str,
        location: str,
        api_key: str | None = None,
        checksum: str | None = None,
        priority: Any = None,
        wait: bool = True,
        **kwargs: Any,
    ) -> bool:
        """Restore a collection snapshot into `collection_name` (new, or replacing its data).

        `location` is a local path, a `file://` URL or an `http(s)://` URL (`api_key` is sent
        with the download as Qdrant's `api-key` header).  The checksum
        (given, or the `.checksum` sidecar) is verified and the archive checked before
        anything changes; a refused snapshot changes nothing.  As in Qdrant, an alias
        name recovers into the alias's collection.
        """
        self._snapshots.recover(collection_name, location, checksum, api_key)
        return True

    def recover_shard(
        self, collection_name: str, config: models.CollectionConfig, write: Callable[[Path], None]
    ) -> None:
        """crewchief's: restore `collection_name` (new, or replacing its data) from the Edge
        shard folder that `write(folder)` writes, as `recover_snapshot` installs a snapshot's
        (a backup's native copy restored file by file, no archive in between)."""
        self._snapshots.recover_shard(collection_name, config, write)

    def create_full_snapshot(self, wait: bool = True, **kwargs: Any) -> models.SnapshotDescription:
        """Every collection's snapshot plus the alias map, in one file."""
        return self._snapshots.create_full()

    def list_full_snapshots(self, **kwargs: Any) -> list[models.SnapshotDescription]:
        return self._snapshots.list_full()

    def full_snapshot_file(self, snapshot_name: str) -> Path:
        return self._snapshots.full_file(snapshot_name)

    def delete_full_snapshot(self, snapshot_name: str, wait: bool = True, **kwargs: Any) -> bool:
        self._snapshots.delete_full(snapshot_name)
        return True

    def recover_full_snapshot(self, location: str, checksum: str | None = None) -> list[str]:
        """Restore every collection of a full snapshot, then its aliases.  Returns the names."""
        names, aliases = self._snapshots.recover_full(location, checksum)
        if aliases:
            self.update_collection_aliases(requests.create_alias_ops(aliases))
        return names
