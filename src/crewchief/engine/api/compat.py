"""QdrantClient's conveniences on the embedded engine: info, recreate_collection,
upload_collection, the shard snapshot calls (shard 0) and the standalone cluster status."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

import numpy as np
from qdrant_client import models

from crewchief.core.version import version_info
from crewchief.errors import InvalidInput, NotFound


def _shard_zero(collection_name: str, shard_id: int) -> None:
    """A crewchief collection has one shard, 0 (Qdrant's answer for any other id)."""
    if shard_id != 0:
        raise NotFound(
            f"Shard {shard_id} of {collection_name} not found",
            hint="A collection of the embedded engine has one shard: shard_id=0",
        )


def _rows(vectors: Any) -> Iterator[Any]:
    """The per-point vectors of upload_collection's `vectors`: an iterable of vectors,
    a 2-D numpy array, or a dict of vector name -> array/list (one row a point)."""
    if isinstance(vectors, dict):
        names = list(vectors)
        if len({len(column) for column in vectors.values()}) > 1:
            raise InvalidInput(
                "Each named vector should have the same number of vectors",
                hint="One row per point in each array of `vectors`",
            )
        for row in zip(*vectors.values(), strict=True):
            yield dict(zip(names, row, strict=True))
    else:
        yield from vectors


class CompatAPI:
    """Mixed into `Engine`; the methods it relies on are the engine's own."""

    if TYPE_CHECKING:  # provided by Engine and the other mixins of the same class

        def create_collection(self, *args: Any, **kwargs: Any) -> bool: ...
        def delete_collection(self, *args: Any, **kwargs: Any) -> bool: ...
        def upsert(self, *args: Any, **kwargs: Any) -> models.UpdateResult: ...
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

    def upload_collection(
        self,
        collection_name: str,
        vectors: Any,
        payload: Iterable[dict[Any, Any]] | None = None,
        ids: Iterable[models.ExtendedPointId] | None = None,
        batch_size: int = 64,
        **kwargs: Any,
    ) -> None:
        """Points from columns (ids default to random UUIDs, as in qdrant-client)."""
        if batch_size < 1:
            raise InvalidInput(f"Bad batch_size {batch_size}", hint="batch_size=64")
        id_iter = iter(ids) if ids is not None else None
        pay_iter = iter(payload) if payload is not None else None

        def points() -> Iterator[models.PointStruct]:
            for vector in _rows(vectors):
                pid = next(id_iter) if id_iter is not None else str(uuid.uuid4())
                body = next(pay_iter, None) if pay_iter is not None else None
                if isinstance(vector, np.ndarray):
                    vector = vector.tolist()
                elif isinstance(vector, dict):
                    vector = {
                        k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in vector.items()
                    }
                yield models.PointStruct(id=pid, vector=vector, payload=body)

        stream = points()
        while batch := list(islice(stream, batch_size)):
            self.upsert(
                collection_name,
                batch,
                update_filter=kwargs.get("update_filter"),
                update_mode=kwargs.get("update_mode"),
            )

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
