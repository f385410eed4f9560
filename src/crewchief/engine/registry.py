"""The live collections of one data directory, kept in step with the catalog.

Opening them all on start, creating, deleting, and installing a shard folder recovered
from a snapshot: each change runs under `ddl` (one at a time) and commits the catalog
last, so a crash in between leaves at most an orphan folder, which
`DataDir.remove_orphans` deletes on the next open.  Changing a live collection's config
(update_collection: HNSW, optimizers, quantization, vectors) belongs here too.
"""

from __future__ import annotations

import threading
from pathlib import Path

from qdrant_client import models

from crewchief.core.aliases import now_iso
from crewchief.engine.catalog import Catalog
from crewchief.engine.collection import Collection
from crewchief.engine.convert.index_schema import client_payload_schema
from crewchief.engine.datadir import DataDir
from crewchief.errors import CollectionNotFound, InvalidInput, SnapshotCorrupt
from crewchief.fsutil import remove_tree


class Collections:
    """Name -> live `Collection`, for every collection in the catalog."""

    def __init__(self, datadir: DataDir, catalog: Catalog, auto_optimize: bool) -> None:
        self._dir = datadir
        self._catalog = catalog
        self.auto_optimize = auto_optimize
        self.ddl = threading.RLock()  # create/delete/recover collections, change aliases
        self._live: dict[str, Collection] = {}
        for name, meta in catalog.collections.items():
            config = models.CollectionConfig.model_validate(meta["config"])
            self._adopt(Collection.open(name, datadir.collections / meta["dir"], config))

    def _adopt(self, col: Collection) -> None:
        col.auto_optimize = self.auto_optimize
        self._live[col.name] = col

    def get(self, name: str) -> Collection:
        """The collection `name` names, directly or through an alias."""
        col = self._live.get(self._catalog.resolve(name))
        if col is None:
            raise CollectionNotFound(name)
        return col

    def close(self) -> None:
        for col in list(self._live.values()):
            col.close()

    # -- changes ---------------------------------------------------------------------------------

    def create(self, name: str, config: models.CollectionConfig) -> None:
        with self.ddl:
            if name in self._catalog.collections:
                self._catalog.add_collection(name, {})  # raises AlreadyExists
            dir_id, root = self._dir.new_collection_root()
            meta = {
                "dir": dir_id,
                "config": config.model_dump(mode="json", exclude_none=True),
                "created_at": now_iso(),
            }
            col = Collection.create(name, root, config)
            try:
                self._catalog.add_collection(name, meta)
            except BaseException:
                col.close()
                remove_tree(root)
                raise
            self._adopt(col)

    def delete(self, name: str) -> bool:
        """Delete a collection and its aliases; False if there is no such collection."""
        with self.ddl:
            if name not in self._catalog.collections:
                return False
            col = self._live.pop(name)
            self._catalog.remove_collection(name)
            col.close()
            remove_tree(col.root)
        return True

    def install(self, name: str, config: models.CollectionConfig, shard_dir: Path) -> None:
        """Make `shard_dir` the data of collection `name` (new, or replacing its data with
        the same vectors): load it, then commit the catalog, then drop the old data."""
        with self.ddl:
            existing = self._catalog.collections.get(name)
            if existing is not None:
                old_cfg = models.CollectionConfig.model_validate(existing["config"])
                if old_cfg.params.vectors != config.params.vectors:
                    raise InvalidInput(
                        f"Snapshot vectors {config.params.vectors} differ from collection "
                        f"`{name}`'s {old_cfg.params.vectors}",
                        hint="Recover into a new collection name instead",
                    )
            elif name in self._catalog.aliases:
                self._catalog.add_collection(name, {})  # raises: alias of that name
            dir_id, root = self._dir.new_collection_root()
            col = Collection.install(name, root, config, shard_dir)
            if col.load_error:
                remove_tree(root)
                raise SnapshotCorrupt(
                    f"Snapshot does not load: {col.load_error}",
                    hint="The snapshot may come from an incompatible engine version",
                )
            meta = {
                "dir": dir_id,
                "config": config.model_dump(mode="json", exclude_none=True),
                "created_at": existing["created_at"] if existing else now_iso(),
                "recovered_at": now_iso(),
            }
            old = self._live.get(name)
            if old is not None:
                old.close()
                self._catalog.update_collection(name, meta)
                remove_tree(old.root)
            else:
                self._catalog.add_collection(name, meta)
            self._adopt(col)

    # -- answers ---------------------------------------------------------------------------------

    def info(self, name: str) -> models.CollectionInfo:
        """`get_collection`'s answer: status, counts, config and payload schema."""
        col = self.get(name)
        status, error = col.status()
        optimizer: models.OptimizersStatus = (
            models.OptimizersStatusOneOf1(error=error) if error else models.OptimizersStatusOneOf.OK
        )
        if col.load_error:
            points = indexed = None
            segments, schema = 0, {}
        else:
            p, i, segments, raw_schema = col.counts()
            points, indexed = p, i
            schema = {k: client_payload_schema(v) for k, v in raw_schema.items()}
        return models.CollectionInfo(
            status=status,
            optimizer_status=optimizer,
            indexed_vectors_count=indexed,
            points_count=points,
            segments_count=segments,
            config=col.config,
            payload_schema=schema,
            created_at=self._catalog.collections[col.name].get("created_at"),
        )
