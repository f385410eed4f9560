"""QdrantClient's conveniences on the embedded engine: info, recreate_collection, the
shard snapshot calls (shard 0) and the standalone cluster status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qdrant_client import models

from crewchief.core.version import version_info
from crewchief.errors import NotFound


def _shard_zero(collection_name: str, shard_id: int) -> None:
    """A crewchief collection has one shard, 0 (Qdrant's answer for any other id)."""
    if shard_id != 0:
        raise NotFound(
            f"Shard {shard_id} of {collection_name} not found",
            hint="A collection of the embedded engine has one shard: shard_id=0",
        )


class CompatAPI:
    """Mixed into `Engine`; the methods it relies on are the engine's own."""

    if TYPE_CHECKING:  # provided by Engine and the other mixins of the same class

        def create_collection(self, *args: Any, **kwargs: Any) -> bool: ...
        def delete_collection(self, *args: Any, **kwargs: Any) -> bool: ...
        def create_snapshot(self, *args: Any, **kwargs: Any) -> models.SnapshotDescription: ...
        def list_snapshots(self, *args: Any, **kwargs: Any) -> list[models.SnapshotDescription]: ...
        def delete_snapshot(self, *args: Any, **kwargs: Any) -> bool: ...
        def recover_snapshot(self, *args: Any, **kwargs: Any) -> bool: ...

    def info(self) -> models.VersionInfo:
        return version_info()

    def recreate_collection(self, collection_name: str, *args: Any, **kwargs: Any) -> bool:
        """Deprecated in qdrant-client, still used: delete (if it exists), then create."""
        self.delete_collection(collection_name)
        return bool(self.create_collection(collection_name, *args, **kwargs))

    def create_shard_snapshot(
        self, collection_name: str, shard_id: int, wait: bool = True, **kwargs: Any
    ) -> models.SnapshotDescription | None:
        _shard_zero(collection_name, shard_id)
        return self.create_snapshot(collection_name, wait=wait)

    def list_shard_snapshots(
        self, collection_name: str, shard_id: int, **kwargs: Any
    ) -> list[models.SnapshotDescription]:
        _shard_zero(collection_name, shard_id)
        return self.list_snapshots(collection_name)

    def delete_shard_snapshot(
        self, collection_name: str, shard_id: int, snapshot_name: str, wait: bool = True, **kw: Any
    ) -> bool | None:
        _shard_zero(collection_name, shard_id)
        return self.delete_snapshot(collection_name, snapshot_name, wait=wait)

    def recover_shard_snapshot(
        self,
        collection_name: str,
        shard_id: int,
        location: str,
        api_key: str | None = None,
        checksum: str | None = None,
        priority: Any = None,
        wait: bool = True,
        **kwargs: Any,
    ) -> bool | None:
        _shard_zero(collection_name, shard_id)
        return self.recover_snapshot(
            collection_name, location, checksum=checksum, priority=priority, wait=wait
        )

    def cluster_status(self) -> models.ClusterStatusOneOf:
        """Standalone, as a Qdrant without distributed mode answers."""
        return models.ClusterStatusOneOf(status="disabled")
