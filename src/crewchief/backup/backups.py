"""Backups of any target into a repository, and back onto any target.

A backup of a collection holds two copies of the same data:
- **native**: the target's own snapshot file (crewchief's Edge snapshot, or a
  Qdrant server's), fast to restore onto the same kind of engine;
- **portable**: crewchief's columnar export (portable.py), restorable onto any
  target and engine version.
plus its config, its aliases, its point count and a few probe queries with their
exact results, which a full verify replays after restoring.  All of it is recorded
in the backup's manifest (manifest.py), written last.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from qdrant_client import models

from crewchief.backup import shardfiles
from crewchief.backup.manifest import (
    FORMAT,
    BackupManifest,
    BackupSource,
    CollectionBackup,
    NativeCopy,
    Probe,
    UploadStats,
)
from crewchief.backup.portable import export_collection, import_collection
from crewchief.backup.repository import Repository, new_backup_id
from crewchief.core.aliases import check_create, switch_ops
from crewchief.core.client import QdrantAPI, created, top_ids
from crewchief.core.vectors import UNNAMED, dense_vectors
from crewchief.errors import CollectionNotFound, InvalidInput, SnapshotCorrupt
from crewchief.fsutil import staging_dir
from crewchief.target import EmbeddedTarget, Target

Say = Callable[[str], None]
PROBES = 5
PROBE_K = 10


def probe_vector(config: models.CollectionConfig) -> str | None:
    """The dense vector probes query: the unnamed one, else the first named single-vector
    one by name (float32 first); None when there is none (sparse or multi-vectors only)."""
    dense = {n: p for n, p in dense_vectors(config).items() if p.multivector_config is None}
    if not dense:
        return None
    return min(dense, key=lambda n: (n != UNNAMED, dense[n].datatype not in (None, "float32"), n))


def _top_ids(client: QdrantAPI, name: str, vector: list[float], using: str | None) -> list[Any]:
    return top_ids(client, name, vector, PROBE_K, exact=True, using=using)


def _probes(client: QdrantAPI, name: str, config: models.CollectionConfig) -> list[Probe]:
    """A few exact queries (on `probe_vector`) and their answers, to replay after a restore.
    A collection without a dense single vector gets none; its count still verifies."""
    using = probe_vector(config)
    if using is None:
        return []
    named = using != UNNAMED
    page, _ = client.scroll(
        name, limit=PROBES, with_payload=False, with_vectors=[using] if named else True
    )
    probes = []
    for p in page:
        v = p.vector.get(using) if isinstance(p.vector, dict) else p.vector
        if not isinstance(v, list):
            continue  # the point lacks that vector
        vector = cast(list[float], v)
        key = using if named else None
        probes.append(Probe(vector, _top_ids(client, name, vector, key), key))
    return probes


def _native(
    target: Target, name: str, repo: Repository, work: Path, stats: UploadStats
) -> NativeCopy:
    snap = created(target.client.create_snapshot(name), name)
    try:
        if isinstance(target, EmbeddedTarget):  # the engine's own file: no copy to read
            local = target.engine.snapshot_file(name, snap.name)
        else:
            local = target.download_snapshot(name, snap.name, work / snap.name)
        entry, checksum = repo.store_file_sha256(local, snap.name, stats)
    finally:
        target.client.delete_snapshot(name, snap.name)
    if snap.checksum and snap.checksum != checksum:
        raise SnapshotCorrupt(
            f"The snapshot of `{name}` read back differs from what the target wrote "
            f"(SHA-256 {checksum[:12]}..., the target said {snap.checksum[:12]}...)",
            hint="Take the backup again; check the disk or the network if it recurs",
        )
    return NativeCopy(target.native_kind, entry, checksum)


def _describe(target: Target, name: str, aliases: list[str]) -> CollectionBackup:
    """The collection's config, exact count, aliases and probes (no copy yet)."""
    info = target.client.get_collection(name)
    return CollectionBackup(
        config=info.config.model_dump(mode="json", exclude_none=True),
        points=target.client.count(name, exact=True).count,
        aliases=aliases,
        probes=_probes(target.client, name, info.config),
    )


def create_backup(
    target: Target,
    repo: Repository,
    collections: list[str] | None = None,
    native: bool = True,
    say: Say = lambda line: None,
    portable: bool = True,
) -> BackupManifest:
    """Back up `collections` (None: all) and write the manifest last.  Returns it."""
    if not native and not portable:
        raise InvalidInput(
            "A backup needs the native snapshot, the portable export or both",
            hint="Drop --no-native or --no-portable",
        )
    names = target.collection_names()
    chosen = collections or names
    for c in chosen:
        if c not in names:
            raise CollectionNotFound(c)
    if not chosen:
        raise InvalidInput("Nothing to back up: the target has no collections")
    backup_id = new_backup_id()
    lock = repo.lock(backup_id)
    stats = UploadStats()
    aliases = target.aliases()
    entries: dict[str, CollectionBackup] = {}
    try:
        with staging_dir("backup") as tmp:
            for name in chosen:
                work = tmp / name
                work.mkdir()
                mine = sorted(a for a, c in aliases.items() if c == name)
                say(f"backing up `{name}` ({target.client.count(name).count} points)")
                if native and isinstance(target, EmbeddedTarget):
                    # the shard's files where they lie; the counts and probes are of them
                    # (queried meanwhile: they need the CPU while packs wait on the disk)
                    with shardfiles.held(target, name) as root, ThreadPoolExecutor(1) as pool:
                        described = pool.submit(_describe, target, name, mine)
                        copy = shardfiles.store_shard(repo, root, target.native_kind, stats)
                        entry = described.result()
                        entry.native = copy
                else:
                    entry = _describe(target, name, mine)
                    entry.native = _native(target, name, repo, work, stats) if native else None
                if portable:
                    export_collection(target.client, name, work / "portable")
                    entry.portable = repo.store_tree(work / "portable", stats)
                entries[name] = entry
        manifest = BackupManifest(
            id=backup_id,
            created=datetime.now(UTC).isoformat(),
            source=BackupSource(target.kind, target.location),
            collections=entries,
            aliases={a: c for a, c in aliases.items() if c in entries},
            stats=stats,
            format=FORMAT if any(e.native and e.native.files for e in entries.values()) else 2,
        )
        repo.put_manifest(manifest)  # last (after its packs and index): now the backup exists
    except BaseException:
        repo.discard_pending()
        raise
    finally:
        repo.storage.delete(lock)
    return manifest


# -- restore --------------------------------------------------------------------------------------


def restore_name(name: str, backup_id: str, existing: list[str], as_name: str | None) -> str:
    """Restore under `as_name`, else the original name, else a new name when it is taken."""
    if as_name:
        return as_name
    if name not in existing:
        return name
    return f"{name}_restored_{backup_id.split('.')[0]}"


def _use_native(entry: CollectionBackup, dest: Target, fmt: str) -> bool:
    native = entry.native
    usable = native is not None and native.kind == dest.native_kind
    if fmt == "native" and not usable:
        raise InvalidInput(
            f"This backup's native snapshot ({native.kind if native else 'none'}) cannot be "
            f"restored onto a {dest.native_kind} target",
            hint="Use --format portable (or auto)",
        )
    if usable and fmt != "portable":
        return True
    if entry.portable is None:
        raise InvalidInput(
            "This backup has no portable export (it was taken with --no-portable)",
            hint=f"Restore it onto a {native.kind} target with --format auto or native"
            if native
            else "Take a backup without --no-portable",
        )
    return False


def restore_backup(
    repo: Repository,
    backup_id: str,
    dest: Target,
    collections: list[str] | None = None,
    as_name: str | None = None,
    with_aliases: bool = False,
    fmt: str = "auto",
    say: Say = lambda line: None,
) -> dict[str, str]:
    """Restore a backup onto `dest`; returns {original name: restored name}."""
    manifest = repo.manifest(backup_id)
    entries = manifest.collections
    chosen = collections or list(entries)
    for c in chosen:
        if c not in entries:
            raise CollectionNotFound(c)
    if as_name and len(chosen) != 1:
        raise InvalidInput("--as needs exactly one collection", hint="Add --collection NAME")
    use_native = {name: _use_native(entries[name], dest, fmt) for name in chosen}  # all or none
    restored: dict[str, str] = {}
    with staging_dir("restore") as tmp:
        for name in chosen:
            entry = entries[name]
            new = restore_name(name, backup_id, dest.collection_names(), as_name)
            work = tmp / name
            if use_native[name] and entry.native is not None and entry.native.files is not None:
                say(f"restoring `{name}` as `{new}` from its native copy (shard files)")
                shardfiles.restore_shard(repo, entry.native, entry.config, dest, new)
            elif use_native[name] and entry.native is not None and entry.native.file is not None:
                file = entry.native.file
                repo.restore_file(file, work / file.path, manifest.format)
                say(f"restoring `{name}` as `{new}` from its native snapshot")
                dest.upload_snapshot(new, work / file.path, entry.native.checksum)
            else:
                repo.restore_tree(entry.portable or [], work, manifest.format)
                say(f"restoring `{name}` as `{new}` from the portable export")
                import_collection(dest.client, work, as_name=new)
            restored[name] = new
            shutil.rmtree(work, ignore_errors=True)
    if with_aliases:
        for alias, coll in manifest.aliases.items():
            if coll in restored:
                current = dest.aliases().get(alias)
                check_create(dest.collection_names(), alias, restored[coll])
                dest.update_aliases(
                    switch_ops(alias, current, restored[coll]), expect={alias: current}
                )
    return restored


# -- verify ---------------------------------------------------------------------------------------


def verify_backup(
    repo: Repository, backup_id: str, full: bool = False, say: Say = lambda line: None
) -> dict[str, Any]:
    """Quick: every chunk present with the right checksum (and every pack holding one,
    whole).  Full: also restore into a temporary embedded engine and compare point counts
    and probe queries."""
    manifest = repo.manifest(backup_id)
    digests = manifest.referenced_digests()
    problems = repo.check(digests, manifest.format)
    say(f"checked {len(digests)} objects: {len(problems)} problems")
    if full and not problems:
        with staging_dir("verify") as tmp:
            scratch = EmbeddedTarget(tmp / "engine")
            try:
                restored = restore_backup(repo, backup_id, scratch)
                for name, new in restored.items():
                    problems += _compare(scratch, new, manifest.collections[name])
            finally:
                scratch.close()
        say(f"restored and compared {len(manifest.collections)} collections")
    result = {
        "id": backup_id,
        "time": datetime.now(UTC).isoformat(),
        "mode": "full" if full else "quick",
        "ok": not problems,
        "objects": len(digests),
        "problems": problems,
    }
    repo.put_record(f"verify/{backup_id}.json", result)
    return result


def _compare(target: Target, name: str, entry: CollectionBackup) -> list[str]:
    problems = []
    count = target.client.count(name, exact=True).count
    if count != entry.points:
        problems.append(f"`{name}`: {count} points restored, {entry.points} backed up")
    for i, probe in enumerate(entry.probes):
        found = _top_ids(target.client, name, probe.vector, probe.using)
        if set(found) != set(probe.ids):
            problems.append(f"`{name}`: probe query {i} answers differently after restore")
    return problems
