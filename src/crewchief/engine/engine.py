"""`Engine`: a data directory of Qdrant Edge collections behind QdrantClient's API.

    from crewchief import Engine
    from qdrant_client import models

    engine = Engine("./crewchief-data")
    engine.create_collection("my_app_v1", vectors_config=models.VectorParams(
        size=384, distance=models.Distance.COSINE))

Method names, signatures and return types follow `qdrant_client.QdrantClient`, so
code written for a Qdrant server runs here.  Every collection call also accepts an
alias.  A façade: each method checks and converts its arguments with `requests` (pure
builders), then hands over to the part that owns the job (the map is in __init__.py).
Collection and alias methods are here; collection changes, points, queries and snapshots
come from the mixins in `engine/api/`, and the next areas of QdrantClient's API go there too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from qdrant_client import models

from crewchief.core.aliases import AliasChange, AliasOp
from crewchief.engine import requests
from crewchief.engine.api.collections import CollectionsAPI
from crewchief.engine.api.compat import CompatAPI
from crewchief.engine.api.payload import PayloadAPI
from crewchief.engine.api.points import PointsAPI
from crewchief.engine.api.query import QueryAPI
from crewchief.engine.api.search import SearchAPI
from crewchief.engine.api.snapshots import SnapshotsAPI
from crewchief.engine.api.vectors import VectorsAPI
from crewchief.engine.catalog import Catalog
from crewchief.engine.collection import Collection
from crewchief.engine.datadir import DataDir
from crewchief.engine.registry import Collections
from crewchief.engine.snapshot_store import SnapshotStore
from crewchief.errors import validate_name


class Engine(
    CompatAPI, CollectionsAPI, PayloadAPI, VectorsAPI, PointsAPI, QueryAPI, SearchAPI, SnapshotsAPI
):
    """The embedded engine.  One process owns a data directory at a time."""

    def __init__(
        self, path: str | Path, owner_url: str | None = None, auto_optimize: bool = True
    ) -> None:
        self._dir = DataDir(path, owner_url)
        self.path = self._dir.path
        self.auto_optimize = auto_optimize
        self._op_counter = 0
        try:
            self.catalog = Catalog(self.path)
            self._collections = Collections(self._dir, self.catalog, auto_optimize)
            self._dir.remove_orphans(meta["dir"] for meta in self.catalog.collections.values())
            self._snapshots = SnapshotStore(self._dir, self.catalog, self._collections)
        except BaseException:
            self._dir.release()
            raise

    # -- the data directory ----------------------------------------------------------------------

    @property
    def tmp_dir(self) -> Path:
        return self._dir.tmp

    @property
    def full_snapshot_dir(self) -> Path:
        return self._dir.full_snapshots

    def upload_dir(self) -> Path:
        """A folder inside the data directory for uploads to be streamed into."""
        return self._dir.upload_dir()

    def set_owner_url(self, url: str | None) -> None:
        self._dir.set_owner_url(url)

    def close(self, **kwargs: Any) -> None:
        collections = getattr(self, "_collections", None)
        if collections is not None:
            collections.close()
        self._dir.release()

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- collections -----------------------------------------------------------------------------

    def collection(self, name: str) -> Collection:
        """The live Collection object (status, last build) for `name` or an alias of it."""
        return self._collections.get(name)

    def collection_exists(self, collection_name: str, **kwargs: Any) -> bool:
        return (
            collection_name in self.catalog.collections or collection_name in self.catalog.aliases
        )

    def get_collections(self, **kwargs: Any) -> models.CollectionsResponse:
        return models.CollectionsResponse(
            collections=[models.CollectionDescription(name=n) for n in self.catalog.collections]
        )

    def create_collection(
        self,
        collection_name: str,
        vectors_config: models.VectorParams | dict[str, models.VectorParams] | None = None,
        sparse_vectors_config: Any = None,
        shard_number: int | None = None,
        sharding_method: Any = None,
        replication_factor: int | None = None,
        write_consistency_factor: int | None = None,
        on_disk_payload: bool | None = None,
        hnsw_config: models.HnswConfigDiff | None = None,
        optimizers_config: models.OptimizersConfigDiff | None = None,
        wal_config: models.WalConfigDiff | None = None,
        quantization_config: Any = None,
        timeout: int | None = None,
        strict_mode_config: Any = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> bool:
        validate_name("collection", collection_name)
        config = requests.collection_config(
            shard_number,
            replication_factor,
            vectors_config=vectors_config,
            sparse_vectors_config=sparse_vectors_config,
            on_disk_payload=on_disk_payload,
            hnsw_config=hnsw_config,
            optimizers_config=optimizers_config,
            wal_config=wal_config,
            quantization_config=quantization_config,
            metadata=metadata,
        )
        if strict_mode_config is not None:  # stored, echoed and enforced (strict.py)
            strict = models.StrictModeConfigOutput.model_validate(
                strict_mode_config.model_dump(exclude_none=True)
                if not isinstance(strict_mode_config, dict)
                else strict_mode_config
            )
            config = config.model_copy(update={"strict_mode_config": strict})
        self._collections.create(collection_name, config)
        return True

    def delete_collection(
        self, collection_name: str, timeout: int | None = None, **kw: Any
    ) -> bool:
        """Delete a collection and its aliases.  Its snapshots are kept.  As in Qdrant,
        deleting a missing collection is not an error (the answer is False)."""
        return self._collections.delete(collection_name)

    def get_collection(self, collection_name: str, **kwargs: Any) -> models.CollectionInfo:
        return self._collections.info(collection_name)

    def optimize(self, collection_name: str, wait: bool = True) -> bool:
        """Build the HNSW index now, in a child process.  True if the build succeeded."""
        col = self._collections.get(collection_name)
        thread = col.start_build()
        if not wait:
            return True
        if thread is not None:
            thread.join()
        return col.last_build is not None and col.last_build.error is None

    # -- aliases ---------------------------------------------------------------------------------

    def update_collection_aliases(
        self,
        change_aliases_operations: Sequence[AliasOp],
        timeout: int | None = None,
        expect: dict[str, str | None] | None = None,
        **kwargs: Any,
    ) -> bool:
        """Apply a batch of alias changes all together or not at all.

        `expect` (crewchief's addition) makes it compare-and-set: {alias: collection or
        None}; the batch is refused with `Refused` unless every alias is where expected.
        """
        self.change_aliases(change_aliases_operations, expect)
        return True

    def change_aliases(
        self, operations: Sequence[Any], expect: dict[str, str | None] | None = None
    ) -> list[AliasChange]:
        """`update_collection_aliases` returning the history entries it recorded."""
        ops = [requests.alias_op(op) for op in operations]
        with self._collections.ddl:
            return self.catalog.apply_alias_operations(ops, expect)

    def get_aliases(self, **kwargs: Any) -> models.CollectionsAliasesResponse:
        return _aliases(sorted(self.catalog.aliases.items()))

    def get_collection_aliases(
        self, collection_name: str, **kwargs: Any
    ) -> models.CollectionsAliasesResponse:
        """The aliases whose target is `collection_name`.  As in Qdrant and local mode, the
        name is not resolved: asked with an alias name, the answer is empty."""
        self.catalog.resolve(collection_name)  # a name that is neither is not found
        return _aliases(
            (a, c) for a, c in sorted(self.catalog.aliases.items()) if c == collection_name
        )

    def alias_history(self, alias: str | None = None) -> list[AliasChange]:
        """Every recorded alias change, oldest first (crewchief's own; Qdrant keeps none)."""
        return self.catalog.history(alias)


def _aliases(pairs: Iterable[tuple[str, str]]) -> models.CollectionsAliasesResponse:
    return models.CollectionsAliasesResponse(
        aliases=[models.AliasDescription(alias_name=a, collection_name=c) for a, c in pairs]
    )
