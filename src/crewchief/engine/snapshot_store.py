"""Collection and full snapshots of a data directory: create, list, find, delete, recover.

The archive format (tar layout, checksum sidecar, partial file then rename, safe
extraction) is snapshots.py's; this module decides where snapshots live, what goes
into them, where a location is fetched from, and hands a recovered shard folder to
`Collections.install`.  A location is a local path, a `file://` URL or an `http(s)://`
URL, downloaded with httpx under `DOWNLOAD_TIMEOUT`.

Snapshots are kept by collection name, so a deleted collection's snapshots stay
listed and recoverable; an alias name stands for its collection.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import httpx
from qdrant_client import models

from crewchief.engine import snapshots
from crewchief.engine.catalog import Catalog
from crewchief.engine.collection import Collection
from crewchief.engine.convert.index_schema import client_payload_schema
from crewchief.engine.datadir import DataDir
from crewchief.engine.registry import Collections
from crewchief.errors import CollectionNotFound, InvalidInput, SnapshotCorrupt, validate_name
from crewchief.fsutil import remove_tree

DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, read=300.0)  # as the server's own snapshot downloads
FULL = "(full)"  # the owner named in a full snapshot's SnapshotNotFound


class SnapshotStore:
    def __init__(self, datadir: DataDir, catalog: Catalog, collections: Collections) -> None:
        self._dir = datadir
        self._catalog = catalog
        self._collections = collections

    # -- collection snapshots --------------------------------------------------------------------

    def folder(self, collection_name: str) -> tuple[str, Path]:
        """The collection whose snapshots `collection_name` names (an alias's target, else the
        name itself: a deleted collection's snapshots stay reachable) and their folder."""
        name = self._named(collection_name)
        return name, self._dir.snapshots(name)

    def _named(self, collection_name: str) -> str:
        """The collection `collection_name` names: an alias's target, else the name itself."""
        validate_name("collection", collection_name)
        return self._catalog.aliases.get(collection_name, collection_name)

    def create(self, collection_name: str) -> models.SnapshotDescription:
        col = self._collections.get(collection_name)
        return snapshots.describe(self._write(col, self.folder(col.name)[1]))

    def list_of(self, collection_name: str) -> list[models.SnapshotDescription]:
        name, directory = self.folder(collection_name)
        if name not in self._catalog.collections and not directory.exists():
            raise CollectionNotFound(collection_name)
        return snapshots.list_dir(directory)

    def file(self, collection_name: str, snapshot_name: str) -> Path:
        name, directory = self.folder(collection_name)
        return snapshots.find(directory, name, snapshot_name)

    def delete(self, collection_name: str, snapshot_name: str) -> None:
        name, directory = self.folder(collection_name)
        snapshots.delete(directory, name, snapshot_name)

    def recover(
        self, collection_name: str, location: str, checksum: str | None, api_key: str | None = None
    ) -> None:
        """Restore into `collection_name` (an alias name: into its collection); `api_key` is
        sent as Qdrant's `api-key` header when `location` is an http(s) URL."""
        name = self._named(collection_name)
        self._recover(name, location, checksum, api_key)

    def recover_shard(
        self, collection_name: str, config: models.CollectionConfig, write: Callable[[Path], None]
    ) -> None:
        """Restore into `collection_name` the shard folder `write(folder)` writes (a staging
        folder in the data directory, then moved into place as a recovered snapshot's)."""
        name = self._named(collection_name)
        staging = self._dir.staging("recover")
        try:
            write(staging / "0")
            self._collections.install(name, config, staging / "0")
        finally:
            remove_tree(staging)

    def _write(self, col: Collection, directory: Path) -> Path:
        staging = self._dir.staging("snapshot")
        try:
            _, _, _, raw_schema = col.counts()
            schema = {k: str(client_payload_schema(v).data_type) for k, v in raw_schema.items()}
            members = snapshots.stage_collection(staging, col.config, schema)
            col.copy_flushed(staging / "0")
            name = snapshots.snapshot_name(col.name, directory)
            return snapshots.publish(staging, members, directory, name)
        finally:
            remove_tree(staging)

    def _recover(
        self, collection_name: str, location: str, checksum: str | None, api_key: str | None = None
    ) -> None:
        staging = self._dir.staging("recover")
        try:
            archive = fetch(location, staging, api_key)
            snapshots.verify_checksum(archive, checksum)
            extracted = staging / "x"
            snapshots.extract(archive, extracted)
            config, _index = snapshots.read_collection_config(extracted)
            self._collections.install(collection_name, config, extracted / "0")
        finally:
            remove_tree(staging)

    # -- full snapshots --------------------------------------------------------------------------

    def create_full(self) -> models.SnapshotDescription:
        """Every collection's snapshot plus the alias map, in one file."""
        staging = self._dir.staging("full")
        directory = self._dir.full_snapshots
        try:
            mapping: dict[str, str] = {}
            for name in list(self._catalog.collections):
                mapping[name] = self._write(self._collections.get(name), staging).name
            manifest = {
                "collections_mapping": mapping,
                "collections_aliases": self._catalog.aliases,
            }
            (staging / "config.json").write_text(json.dumps(manifest))
            name = snapshots.snapshot_name("full-snapshot", directory)
            members = ["config.json", *mapping.values()]
            path = snapshots.publish(staging, members, directory, name)
        finally:
            remove_tree(staging)
        return snapshots.describe(path)

    def list_full(self) -> list[models.SnapshotDescription]:
        return snapshots.list_dir(self._dir.full_snapshots)

    def full_file(self, snapshot_name: str) -> Path:
        return snapshots.find(self._dir.full_snapshots, FULL, snapshot_name)

    def delete_full(self, snapshot_name: str) -> None:
        snapshots.delete(self._dir.full_snapshots, FULL, snapshot_name)

    def recover_full(self, location: str, checksum: str | None) -> tuple[list[str], dict[str, str]]:
        """Restore every collection of a full snapshot; return their names and the snapshot's
        aliases {alias: collection}, for the caller to apply as one alias batch."""
        staging = self._dir.staging("recover-full")
        try:
            archive = fetch(location, staging)
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
            return list(mapping), aliases
        finally:
            remove_tree(staging)


def fetch(location: str, staging: Path, api_key: str | None = None) -> Path:
    """The snapshot file at `location`: a local file as it is, a URL downloaded into `staging`
    (with `api_key` as Qdrant's `api-key` header, as a Qdrant server sends it)."""
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
        return _download(location, staging / "download.snapshot", api_key)
    raise InvalidInput(
        f"Unsupported snapshot location {location!r}",
        hint="Use a local path, file://..., or http(s)://...",
    )


def _download(url: str, target: Path, api_key: str | None) -> Path:
    headers = {"api-key": api_key} if api_key else {}
    try:
        with (
            httpx.stream(
                "GET", url, headers=headers, follow_redirects=True, timeout=DOWNLOAD_TIMEOUT
            ) as resp,
            open(target, "wb") as out,
        ):
            if resp.status_code != 200:
                raise InvalidInput(
                    f"Failed to download snapshot from {url}: HTTP {resp.status_code}",
                    hint="Check the URL: it must answer 200 with the .snapshot file",
                )
            for block in resp.iter_bytes(1 << 20):
                out.write(block)
    except httpx.HTTPError as exc:
        raise InvalidInput(
            f"Failed to download snapshot from {url}: {exc}",
            hint="Check the URL and that its server is reachable from here",
        ) from exc
    return target
