"""The live collections of one data directory, kept in step with the catalog.

Opening them all on start, creating, deleting, and installing a shard folder recovered
from a snapshot: each change runs under `ddl` (one at a time) and commits the catalog
last, so a crash in between leaves at most an orphan folder, which
`DataDir.remove_orphans` deletes on the next open.

Changing a live collection's config (update_collection, named vectors) is the other way
round: the catalog commits the new config first, with a `pending` note of what the shard
must still do ("reload", "rebuild", or a vector to create or delete); the shard follows,
and the note is dropped once it has.  Every step is idempotent, so a crash in between is
redone from the note on the next open: the shard always ends up as the catalog says.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from crewchief.core.aliases import now_iso
from crewchief.engine.catalog import Catalog
from crewchief.engine.collection import Collection
from crewchief.engine.config import config_warnings, edge_config
from crewchief.engine.config_update import Change
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
        self._meta_lock = threading.RLock()  # a config commit (never held while waiting)
        self._live: dict[str, Collection] = {}
        for name, meta in catalog.collections.items():
            config = models.CollectionConfig.model_validate(meta["config"])
            col = Collection.open(name, datadir.collections / meta["dir"], config)
            self._adopt(col)
            if meta.get("pending") and not col.load_error:
                self._redo(col, meta["pending"])

    def _adopt(self, col: Collection) -> None:
        # `max_optimization_threads: 0` is Qdrant's "no optimizations": no automatic builds
        threads = col.config.optimizer_config.max_optimization_threads
        col.auto_optimize = self.auto_optimize and threads != 0
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

    # -- config changes --------------------------------------------------------------------------

    def reconfigure(self, name: str, plan: Callable[[models.CollectionConfig], Change]) -> None:
        """Give collection `name` (or the one alias `name` names) the config `plan` makes of
        its current one; a refusal by the shard restores the old config."""
        with self.ddl:
            col = self.get(name)
            old = col.config
            change = plan(old)
            if change.config == old:
                return
            if not change.shard:  # settings crewchief keeps itself (metadata, strict mode)
                self._commit(col.name, change.config, None)
                col.config = change.config
                return
            pending = "rebuild" if change.rebuild else "reload"
            self._commit(col.name, change.config, pending)
            try:
                self._redo(col, pending, change.reindex)
            except BaseException:
                self._commit(col.name, old, None)
                raise

    def change_vector(
        self, name: str, plan: Callable[[models.CollectionConfig], models.CollectionConfig | None]
    ) -> None:
        """Create or delete one named vector: `plan` returns the config with (or without) it,
        None if there is nothing to do."""
        with self.ddl:
            col = self.get(name)
            old = col.config
            new = plan(old)
            if new is None:
                return
            (added,) = (_names(new) - _names(old)) or (None,)
            pending = {"create": added} if added is not None else {"delete": _gone(old, new)}
            self._commit(col.name, new, pending)
            try:
                self._redo(col, pending)
            except BaseException:
                self._commit(col.name, old, None)
                raise

    def _commit(self, name: str, config: models.CollectionConfig, pending: Any) -> None:
        with self._meta_lock:
            meta = dict(self._catalog.collections[name])
            meta["config"] = config.model_dump(mode="json", exclude_none=True)
            meta.pop("pending", None)
            if pending is not None:
                meta["pending"] = pending
            self._catalog.update_collection(name, meta)

    def _redo(self, col: Collection, pending: Any, reindex: bool = True) -> None:
        """Bring the shard to the catalog's config (`pending` says how), then drop the note."""
        stored = self._catalog.collections[col.name]["config"]
        config = models.CollectionConfig.model_validate(stored)

        def done() -> None:  # runs in the builder thread after a rebuild: no `ddl` here
            with self._meta_lock:
                meta = self._catalog.collections.get(col.name)
                if meta is not None and meta["config"] == stored and meta.get("pending"):
                    self._commit(col.name, config, None)

        if pending in ("reload", "rebuild"):
            col.reconfigure(config, pending == "rebuild", reindex, done)
            return
        ec = edge_config(config)
        if "delete" in pending:
            op = edge.UpdateOperation.delete_vector_name(pending["delete"])
        elif pending["create"] in ec.vectors:
            v = ec.vectors[pending["create"]]
            op = edge.UpdateOperation.create_dense_vector(
                pending["create"], v.size, v.distance, v.multivector_config, v.datatype
            )
        else:
            sv = ec.sparse_vectors[pending["create"]]
            op = edge.UpdateOperation.create_sparse_vector(
                pending["create"], sv.modifier, sv.datatype
            )
        col.change_vectors(op, config)
        done()

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
            warnings=config_warnings(col.config),
            indexed_vectors_count=indexed,
            points_count=points,
            segments_count=segments,
            config=col.config,
            payload_schema=schema,
            update_queue=models.UpdateQueueInfo(length=0),  # applied before answering: no queue
            created_at=self._catalog.collections[col.name].get("created_at"),
        )


def _names(config: models.CollectionConfig) -> set[str]:
    vectors = config.params.vectors
    dense = {""} if isinstance(vectors, models.VectorParams) else set(vectors or {})
    return dense | set(config.params.sparse_vectors or {})


def _gone(old: models.CollectionConfig, new: models.CollectionConfig) -> str:
    (name,) = _names(old) - _names(new)
    return name
