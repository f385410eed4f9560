"""`Engine`: a data directory of Qdrant Edge collections behind QdrantClient's API.

    from crewchief import Engine
    from qdrant_client import models

    engine = Engine("./crewchief-data")
    engine.create_collection("my_app_v1", vectors_config=models.VectorParams(
        size=384, distance=models.Distance.COSINE))

Method names, signatures and return types follow `qdrant_client.QdrantClient`, so
code written for a Qdrant server runs here.  Every collection call also accepts
an alias.  Data directory layout:

    .lock                    owner of the directory (pid, serving URL)
    catalog.json             collections and aliases (see catalog.py)
    alias-history.jsonl      every alias change
    collections/<id>/        one folder per collection (see collection.py)
    snapshots/<collection>/  collection snapshots (see snapshots.py)
    full-snapshots/          full snapshots
    tmp/                     staging; emptied on open
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import qdrant_edge as edge
from qdrant_client import models
from qdrant_client.http import models as rest

from crewchief.engine import snapshots
from crewchief.engine.catalog import AliasChange, AliasOp, Catalog, now_iso
from crewchief.engine.collection import Collection
from crewchief.engine.config import build_config, edge_config
from crewchief.engine.convert.filters import edge_filter
from crewchief.engine.convert.ids import client_point_id, edge_point_id, point_ids
from crewchief.engine.convert.index_schema import client_payload_schema, edge_field_index_schema
from crewchief.engine.convert.payload import check_payload_key, edge_with_payload
from crewchief.engine.convert.points import client_record, client_scored, edge_points, query_vector
from crewchief.engine.convert.values import edge_values
from crewchief.engine.lock import DataDirLock
from crewchief.errors import (
    CollectionNotFound,
    InvalidInput,
    SnapshotCorrupt,
    validate_name,
)
from crewchief.fsutil import remove_tree

_UPDATE_MODES = {
    models.UpdateMode.UPSERT: edge.UpdateMode.Upsert,
    models.UpdateMode.INSERT_ONLY: edge.UpdateMode.InsertOnly,
    models.UpdateMode.UPDATE_ONLY: edge.UpdateMode.UpdateOnly,
}


def _completed(op_id: int) -> models.UpdateResult:
    return models.UpdateResult(operation_id=op_id, status=models.UpdateStatus.COMPLETED)


class Engine:
    """The embedded engine.  One process owns a data directory at a time."""

    def __init__(
        self, path: str | Path, owner_url: str | None = None, auto_optimize: bool = True
    ) -> None:
        self.path = Path(path).resolve()
        self.path.mkdir(parents=True, exist_ok=True)
        self._owner = DataDirLock(self.path)
        self.auto_optimize = auto_optimize
        self._ddl = threading.RLock()  # create/delete/recover collections
        self._op_counter = 0
        self.snapshots_created: dict[str, int] = {}
        try:
            if owner_url:
                self._owner.set_url(owner_url)
            remove_tree(self.tmp_dir)
            self.catalog = Catalog(self.path)
            self._collections: dict[str, Collection] = {}
            for name, meta in self.catalog.collections.items():
                config = models.CollectionConfig.model_validate(meta["config"])
                self._adopt(Collection.open(name, self.path / "collections" / meta["dir"], config))
            self._remove_orphans()
        except BaseException:
            self._owner.release()
            raise

    # -- housekeeping ----------------------------------------------------------------------------

    @property
    def tmp_dir(self) -> Path:
        return self.path / "tmp"

    def _staging(self, kind: str) -> Path:
        path = self.tmp_dir / f"{kind}-{uuid.uuid4().hex[:12]}"
        path.mkdir(parents=True)
        return path

    def upload_dir(self) -> Path:
        """A folder inside the data directory for uploads to be streamed into."""
        path = self.tmp_dir / "uploads"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _remove_orphans(self) -> None:
        """Folders an interrupted create/delete/recover left behind, and partial snapshots."""
        live = {meta["dir"] for meta in self.catalog.collections.values()}
        root = self.path / "collections"
        if root.exists():
            for d in root.iterdir():
                if d.name not in live:
                    remove_tree(d)
        for d in [*self.path.joinpath("snapshots").glob("*"), self.full_snapshot_dir]:
            snapshots.clean_partials(d)
        for stale in self.path.glob(".*.tmp"):  # an atomic write interrupted by a crash
            stale.unlink(missing_ok=True)

    def set_owner_url(self, url: str | None) -> None:
        self._owner.set_url(url)

    def close(self, **kwargs: Any) -> None:
        for col in list(getattr(self, "_collections", {}).values()):
            col.close()
        self._owner.release()

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _adopt(self, col: Collection) -> None:
        col.auto_optimize = self.auto_optimize
        self._collections[col.name] = col

    def _next_op(self) -> int:
        self._op_counter += 1
        return self._op_counter

    # -- collections -----------------------------------------------------------------------------

    def _get(self, name: str) -> Collection:
        """The collection `name` names, directly or through an alias."""
        col = self._collections.get(self.catalog.resolve(name))
        if col is None:
            raise CollectionNotFound(name)
        return col

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
        if shard_number not in (None, 1) or replication_factor not in (None, 1):
            raise InvalidInput(
                "The embedded engine has one shard and one replica per collection",
                hint="For sharding and replication use a Qdrant cluster (--target http://...)",
            )
        config = build_config(
            vectors_config,
            sparse_vectors_config,
            on_disk_payload,
            hnsw_config,
            optimizers_config,
            wal_config,
            quantization_config,
            metadata,
        )
        with edge_values("create_collection"):
            edge_config(config)  # what the shard will refuse, refused before anything exists
        with self._ddl:
            if collection_name in self.catalog.collections:
                self.catalog.add_collection(collection_name, {})  # raises AlreadyExists
            dir_id = uuid.uuid4().hex
            meta = {
                "dir": dir_id,
                "config": config.model_dump(mode="json", exclude_none=True),
                "created_at": now_iso(),
            }
            root = self.path / "collections" / dir_id
            col = Collection.create(collection_name, root, config)
            try:
                self.catalog.add_collection(collection_name, meta)
            except BaseException:
                col.close()
                remove_tree(root)
                raise
            self._adopt(col)
        return True

    def delete_collection(
        self, collection_name: str, timeout: int | None = None, **kw: Any
    ) -> bool:
        """Delete a collection and its aliases.  Its snapshots are kept."""
        with self._ddl:
            if collection_name not in self.catalog.collections:
                return False  # as Qdrant: deleting a missing collection is not an error
            col = self._collections.pop(collection_name)
            self.catalog.remove_collection(collection_name)
            col.close()
            remove_tree(col.root)
        return True

    def get_collection(self, collection_name: str, **kwargs: Any) -> models.CollectionInfo:
        col = self._get(collection_name)
        status, error = col.status()
        optimizer: models.OptimizersStatus = (
            models.OptimizersStatusOneOf1(error=error) if error else models.OptimizersStatusOneOf.OK
        )
        meta = self.catalog.collections[col.name]
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
            created_at=meta.get("created_at"),
        )

    def optimize(self, collection_name: str, wait: bool = True) -> bool:
        """Build the HNSW index now, in a child process.  True if the build succeeded."""
        col = self._get(collection_name)
        thread = col.start_build()
        if not wait:
            return True
        if thread is not None:
            thread.join()
        return col.last_build is not None and col.last_build.error is None

    def collection(self, name: str) -> Collection:
        """The live Collection object (status, last build) for `name` or an alias of it."""
        return self._get(name)

    # -- points ----------------------------------------------------------------------------------

    def _write(
        self, collection_name: str, op: edge.UpdateOperation, upserted: int = 0
    ) -> models.UpdateResult:
        self._get(collection_name).update(op, upserted)
        return _completed(self._next_op())

    def upsert(
        self,
        collection_name: str,
        points: models.Batch | Sequence[models.PointStruct],
        wait: bool = True,
        ordering: Any = None,
        shard_key_selector: Any = None,
        update_filter: models.Filter | None = None,
        update_mode: models.UpdateMode | None = None,
        **kwargs: Any,
    ) -> models.UpdateResult:
        col = self._get(collection_name)
        converted = edge_points(col.sizes, points)
        condition = edge_filter(update_filter)
        mode = _UPDATE_MODES[models.UpdateMode(update_mode)] if update_mode else None
        op = edge.UpdateOperation.upsert_points(converted, condition=condition, update_mode=mode)
        return self._write(collection_name, op, upserted=len(converted))

    def upload_points(
        self,
        collection_name: str,
        points: Iterable[models.PointStruct],
        batch_size: int = 64,
        **kwargs: Any,
    ) -> None:
        def send(batch: list[models.PointStruct]) -> None:
            # honoured as in local mode; the other trailing keywords are about a remote server
            flt, mode = kwargs.get("update_filter"), kwargs.get("update_mode")
            self.upsert(collection_name, batch, update_filter=flt, update_mode=mode)

        batch: list[models.PointStruct] = []
        for p in points:
            batch.append(p)
            if len(batch) >= batch_size:
                send(batch)
                batch = []
        if batch:
            send(batch)

    def delete(
        self,
        collection_name: str,
        points_selector: Any,
        wait: bool = True,
        **kwargs: Any,
    ) -> models.UpdateResult:
        ids = point_ids(points_selector)
        if ids is not None:
            return self._write(collection_name, edge.UpdateOperation.delete_points(ids))
        selector = points_selector
        if isinstance(selector, models.FilterSelector):
            selector = selector.filter
        if not isinstance(selector, models.Filter):
            raise InvalidInput(
                f"Unsupported points selector {type(points_selector).__name__}",
                hint="Pass a list of ids, PointIdsList, Filter or FilterSelector",
            )
        flt = edge_filter(selector)
        assert flt is not None
        return self._write(collection_name, edge.UpdateOperation.delete_points_by_filter(flt))

    def create_payload_index(
        self,
        collection_name: str,
        field_name: str,
        field_schema: Any = None,
        field_type: Any = None,
        wait: bool = True,
        **kwargs: Any,
    ) -> models.UpdateResult:
        schema = field_schema if field_schema is not None else field_type
        if schema is None:
            raise InvalidInput(
                "create_payload_index needs a field_schema",
                hint="e.g. field_schema=models.PayloadSchemaType.KEYWORD",
            )
        key = check_payload_key(field_name, "create_payload_index")
        op = edge.UpdateOperation.create_field_index(key, edge_field_index_schema(schema))
        return self._write(collection_name, op)

    def delete_payload_index(
        self, collection_name: str, field_name: str, wait: bool = True, **kwargs: Any
    ) -> models.UpdateResult:
        key = check_payload_key(field_name, "delete_payload_index")
        return self._write(collection_name, edge.UpdateOperation.delete_field_index(key))

    def retrieve(
        self,
        collection_name: str,
        ids: Sequence[int | str],
        with_payload: Any = True,
        with_vectors: bool | Sequence[str] = False,
        **kwargs: Any,
    ) -> list[models.Record]:
        col = self._get(collection_name)
        edge_ids: list[Any] = [edge_point_id(i) for i in ids]
        wp, wv = edge_with_payload(with_payload), _with_vectors(with_vectors)
        records = col.read(lambda s: s.retrieve(edge_ids, with_payload=wp, with_vector=wv))
        return [client_record(r) for r in records]

    def scroll(
        self,
        collection_name: str,
        scroll_filter: models.Filter | None = None,
        limit: int = 10,
        order_by: Any = None,
        offset: int | str | None = None,
        with_payload: Any = True,
        with_vectors: bool | Sequence[str] = False,
        **kwargs: Any,
    ) -> tuple[list[models.Record], int | str | None]:
        if order_by is not None:
            raise InvalidInput(
                "scroll(order_by=...) is not supported by the embedded engine yet",
                hint="Scroll by id (the default order) and sort on the client",
            )
        _check_limit(limit)
        col = self._get(collection_name)
        with edge_values("scroll"):
            request = edge.ScrollRequest(
                offset=edge_point_id(offset) if offset is not None else None,
                limit=limit,
                filter=edge_filter(scroll_filter),
                with_payload=edge_with_payload(with_payload),
                with_vector=_with_vectors(with_vectors),
            )
        records, next_offset = col.read(lambda s: s.scroll(request))
        nxt = client_point_id(next_offset) if next_offset is not None else None
        return [client_record(r) for r in records], nxt

    def count(
        self,
        collection_name: str,
        count_filter: models.Filter | None = None,
        exact: bool = True,
        **kwargs: Any,
    ) -> models.CountResult:
        col = self._get(collection_name)
        request = edge.CountRequest(exact=exact, filter=edge_filter(count_filter))
        return models.CountResult(count=col.read(lambda s: s.count(request)))

    def query_points(
        self,
        collection_name: str,
        query: Any = None,
        using: str | None = None,
        prefetch: Any = None,
        query_filter: models.Filter | None = None,
        search_params: models.SearchParams | None = None,
        limit: int = 10,
        offset: int | None = None,
        with_payload: Any = True,
        with_vectors: bool | Sequence[str] = False,
        score_threshold: float | None = None,
        **kwargs: Any,
    ) -> rest.QueryResponse:
        if kwargs.get("lookup_from") is not None:
            raise InvalidInput(
                "lookup_from is not supported by the embedded engine",
                hint="Query with the vector itself",
            )
        if prefetch:
            raise InvalidInput(
                "prefetch (hybrid queries) is not supported by the embedded engine yet",
                hint="Query one dense vector, or use a Qdrant server (--target http://...)",
            )
        _check_limit(limit)
        col = self._get(collection_name)
        params = None
        with edge_values("query"):
            if search_params is not None:
                params = edge.SearchParams(
                    hnsw_ef=search_params.hnsw_ef, exact=bool(search_params.exact)
                )
            request = edge.QueryRequest(
                limit=limit,
                offset=offset,
                query=query_vector(col.sizes, query, using),
                with_vector=_with_vectors(with_vectors),
                with_payload=edge_with_payload(with_payload),
                filter=edge_filter(query_filter),
                score_threshold=score_threshold,
                params=params,
            )
        found = col.read(lambda s: s.query(request))
        return rest.QueryResponse(points=[client_scored(p) for p in found])

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
        ops = [_alias_op(op) for op in operations]
        with self._ddl:
            return self.catalog.apply_alias_operations(ops, expect)

    def get_aliases(self, **kwargs: Any) -> models.CollectionsAliasesResponse:
        return models.CollectionsAliasesResponse(
            aliases=[
                models.AliasDescription(alias_name=a, collection_name=c)
                for a, c in sorted(self.catalog.aliases.items())
            ]
        )

    def get_collection_aliases(
        self, collection_name: str, **kwargs: Any
    ) -> models.CollectionsAliasesResponse:
        """The aliases whose target is `collection_name`.  As in Qdrant and local mode, the
        name is not resolved: asked with an alias name, the answer is empty."""
        self.catalog.resolve(collection_name)  # a name that is neither is not found
        return models.CollectionsAliasesResponse(
            aliases=[
                models.AliasDescription(alias_name=a, collection_name=c)
                for a, c in sorted(self.catalog.aliases.items())
                if c == collection_name
            ]
        )

    def alias_history(self, alias: str | None = None) -> list[AliasChange]:
        """Every recorded alias change, oldest first (crewchief's own; Qdrant keeps none)."""
        return self.catalog.history(alias)

    # -- snapshots -------------------------------------------------------------------------------

    def _snapshots_of(self, collection_name: str) -> tuple[str, Path]:
        """The collection whose snapshots `collection_name` names (an alias's target, else the
        name itself: a deleted collection's snapshots stay reachable) and their folder."""
        validate_name("collection", collection_name)
        name = self.catalog.aliases.get(collection_name, collection_name)
        return name, self.path / "snapshots" / name

    @property
    def full_snapshot_dir(self) -> Path:
        return self.path / "full-snapshots"

    def _write_snapshot(self, col: Collection, directory: Path) -> Path:
        staging = self._staging("snapshot")
        try:
            _, _, _, raw_schema = col.counts()
            schema = {k: str(client_payload_schema(v).data_type) for k, v in raw_schema.items()}
            members = snapshots.stage_collection(staging, col.config, schema)
            col.copy_flushed(staging / "0")
            name = snapshots.snapshot_name(col.name, directory)
            path = snapshots.publish(staging, members, directory, name)
        finally:
            remove_tree(staging)
        self.snapshots_created[col.name] = self.snapshots_created.get(col.name, 0) + 1
        return path

    def create_snapshot(
        self, collection_name: str, wait: bool = True, **kwargs: Any
    ) -> models.SnapshotDescription:
        col = self._get(collection_name)
        path = self._write_snapshot(col, self._snapshots_of(col.name)[1])
        return snapshots.describe(path)

    def list_snapshots(
        self, collection_name: str, **kwargs: Any
    ) -> list[models.SnapshotDescription]:
        """Snapshots of a collection; those of a deleted collection stay listed."""
        name, directory = self._snapshots_of(collection_name)
        if name not in self.catalog.collections and not directory.exists():
            raise CollectionNotFound(collection_name)
        return snapshots.list_dir(directory)

    def snapshot_file(self, collection_name: str, snapshot_name: str) -> Path:
        name, directory = self._snapshots_of(collection_name)
        return snapshots.find(directory, name, snapshot_name)

    def delete_snapshot(
        self, collection_name: str, snapshot_name: str, wait: bool = True, **kwargs: Any
    ) -> bool:
        name, directory = self._snapshots_of(collection_name)
        snapshots.delete(directory, name, snapshot_name)
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

        `location` is a local path, a `file://` URL or an `http(s)://` URL.  The checksum
        (given, or the `.checksum` sidecar) is verified and the archive checked before
        anything changes; a refused snapshot changes nothing.  As in Qdrant, an alias
        name recovers into the alias's collection.
        """
        validate_name("collection", collection_name)
        self._recover(
            self.catalog.aliases.get(collection_name, collection_name), location, checksum
        )
        return True

    def _recover(self, collection_name: str, location: str, checksum: str | None) -> None:
        staging = self._staging("recover")
        try:
            archive = self._fetch_location(location, staging)
            snapshots.verify_checksum(archive, checksum)
            extracted = staging / "x"
            snapshots.extract(archive, extracted)
            config, _index = snapshots.read_collection_config(extracted)
            self._install(collection_name, config, extracted / "0")
        finally:
            remove_tree(staging)

    def _fetch_location(self, location: str, staging: Path) -> Path:
        parsed = urllib.parse.urlparse(location)
        if parsed.scheme in ("", "file"):
            path = Path(urllib.parse.unquote(parsed.path) if parsed.scheme else location)
            if not path.is_file():
                raise SnapshotCorrupt(
                    f"Snapshot file {path} does not exist",
                    hint="Give a path or file:// URL of a .snapshot file on this machine",
                )
            return path
        if parsed.scheme in ("http", "https"):
            target = staging / "download.snapshot"
            with urllib.request.urlopen(location) as resp, open(target, "wb") as out:  # noqa: S310
                while block := resp.read(1 << 20):
                    out.write(block)
            return target
        raise InvalidInput(
            f"Unsupported snapshot location {location!r}",
            hint="Use a local path, file://..., or http(s)://...",
        )

    def _install(self, name: str, config: models.CollectionConfig, shard_dir: Path) -> None:
        """Make `shard_dir` the data of collection `name`: load it, then commit the catalog."""
        with self._ddl:
            existing = self.catalog.collections.get(name)
            if existing is not None:
                old_cfg = models.CollectionConfig.model_validate(existing["config"])
                if old_cfg.params.vectors != config.params.vectors:
                    raise InvalidInput(
                        f"Snapshot vectors {config.params.vectors} differ from collection "
                        f"`{name}`'s {old_cfg.params.vectors}",
                        hint="Recover into a new collection name instead",
                    )
            elif name in self.catalog.aliases:
                self.catalog.add_collection(name, {})  # raises: alias of that name
            dir_id = uuid.uuid4().hex
            root = self.path / "collections" / dir_id
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
            old = self._collections.get(name)
            if old is not None:
                old.close()
                self.catalog.update_collection(name, meta)
                remove_tree(old.root)
            else:
                self.catalog.add_collection(name, meta)
            self._adopt(col)

    # -- full snapshots --------------------------------------------------------------------------

    def create_full_snapshot(self, wait: bool = True, **kwargs: Any) -> models.SnapshotDescription:
        """Every collection's snapshot plus the alias map, in one file."""
        staging = self._staging("full")
        try:
            mapping: dict[str, str] = {}
            for name in list(self.catalog.collections):
                path = self._write_snapshot(self._collections[name], staging)
                mapping[name] = path.name
            (staging / "config.json").write_text(
                json.dumps(
                    {"collections_mapping": mapping, "collections_aliases": self.catalog.aliases}
                )
            )
            name = snapshots.snapshot_name("full-snapshot", self.full_snapshot_dir)
            members = ["config.json", *mapping.values()]
            path = snapshots.publish(staging, members, self.full_snapshot_dir, name)
        finally:
            remove_tree(staging)
        return snapshots.describe(path)

    def list_full_snapshots(self, **kwargs: Any) -> list[models.SnapshotDescription]:
        return snapshots.list_dir(self.full_snapshot_dir)

    def full_snapshot_file(self, snapshot_name: str) -> Path:
        return snapshots.find(self.full_snapshot_dir, "(full)", snapshot_name)

    def delete_full_snapshot(self, snapshot_name: str, wait: bool = True, **kwargs: Any) -> bool:
        snapshots.delete(self.full_snapshot_dir, "(full)", snapshot_name)
        return True

    def recover_full_snapshot(self, location: str, checksum: str | None = None) -> list[str]:
        """Restore every collection of a full snapshot, then its aliases.  Returns the names."""
        staging = self._staging("recover-full")
        try:
            archive = self._fetch_location(location, staging)
            snapshots.verify_checksum(archive, checksum)
            snapshots.extract(archive, staging / "x")
            try:
                manifest = json.loads((staging / "x" / "config.json").read_text())
                mapping: dict[str, str] = manifest["collections_mapping"]
                aliases: dict[str, str] = manifest["collections_aliases"]
            except (OSError, ValueError, KeyError) as exc:
                raise SnapshotCorrupt(f"Not a full snapshot: {exc}") from exc
            for name, file in mapping.items():  # an alias of the same name is refused
                self._recover(validate_name("collection", name), str(staging / "x" / file), None)
            ops: list[AliasOp] = [
                models.CreateAliasOperation(
                    create_alias=models.CreateAlias(collection_name=c, alias_name=a)
                )
                for a, c in aliases.items()
            ]
            if ops:
                self.update_collection_aliases(ops)
            return list(mapping)
        finally:
            remove_tree(staging)


def _with_vectors(v: bool | Sequence[str] | None) -> bool | list[str]:
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    return [str(x) for x in v]


def _check_limit(limit: int) -> None:
    if not isinstance(limit, int) or limit < 1:
        raise InvalidInput(f"Bad limit {limit!r}: it must be a positive integer", hint="limit=10")


def _alias_op(op: Any) -> AliasOp:
    if isinstance(
        op,
        models.CreateAliasOperation | models.DeleteAliasOperation | models.RenameAliasOperation,
    ):
        return op
    for cls in (
        models.CreateAliasOperation,
        models.DeleteAliasOperation,
        models.RenameAliasOperation,
    ):
        try:
            return cls.model_validate(op)
        except ValueError:
            continue
    raise InvalidInput(f"Not an alias operation: {op!r}", hint="Use models.CreateAliasOperation")
