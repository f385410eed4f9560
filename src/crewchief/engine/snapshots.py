"""Collection and full snapshots: one plain GNU tar each, with a SHA-256 checksum sidecar.

Collection snapshot layout (Qdrant's collection snapshot layout where practical):

    config.json              the CollectionConfig, as get_collection reports it
    version.info             the snapshot format of crewchief ("crewchief-1")
    shard_key_mapping.json   []
    payload_index.json       {"schema": {field: type}}
    0/                       the flushed Edge shard folder (segments/, wal/, edge_config.json)

Differences from a Qdrant server snapshot: the shard folder is stored as the Edge
engine keeps it (segments as folders, not nested tars; no replica_state.json).
Sparse files (the preallocated WAL) are stored as GNU sparse entries, so the
zeros take no room.  The file is written as a hidden `.partial`, its checksum
sidecar next, and renamed into place last: a crash never leaves a listed,
partial snapshot.

Full snapshot: a plain tar of every collection's snapshot plus `config.json`
{"collections_mapping": {collection: file}, "collections_aliases": {alias: collection}}.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qdrant_client import models

from crewchief.errors import SnapshotCorrupt, SnapshotNotFound, validate_name
from crewchief.fsutil import atomic_write_bytes, commit_file, fsync_dir, sha256_file

SUFFIX = ".snapshot"
FORMAT = "crewchief-1"


def snapshot_name(prefix: str, directory: Path) -> str:
    """`{prefix}-{YYYY-MM-DD-HH-MM-SS}.snapshot`, with a counter when that second is taken."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d-%H-%M-%S")
    name, n = f"{prefix}-{stamp}{SUFFIX}", 1
    while (directory / name).exists():
        n += 1
        name = f"{prefix}-{stamp}-{n}{SUFFIX}"
    return name


def describe(path: Path) -> models.SnapshotDescription:
    st = path.stat()
    sidecar = path.with_name(path.name + ".checksum")
    checksum = sidecar.read_text().strip() if sidecar.exists() else None
    created = datetime.fromtimestamp(st.st_mtime, UTC).replace(tzinfo=None)
    return models.SnapshotDescription(
        name=path.name, creation_time=created.isoformat(), size=st.st_size, checksum=checksum
    )


def list_dir(directory: Path) -> list[models.SnapshotDescription]:
    if not directory.exists():
        return []
    files = sorted(p for p in directory.glob(f"*{SUFFIX}") if not p.name.startswith("."))
    return [describe(p) for p in files]


def find(directory: Path, owner: str, name: str) -> Path:
    validate_name("snapshot", name)
    path = directory / name
    if not name.endswith(SUFFIX) or not path.is_file():
        raise SnapshotNotFound(owner, name)
    return path


def delete(directory: Path, owner: str, name: str) -> None:
    path = find(directory, owner, name)
    path.unlink()
    path.with_name(path.name + ".checksum").unlink(missing_ok=True)
    fsync_dir(directory)


def clean_partials(directory: Path) -> None:
    """Remove what an interrupted snapshot left: hidden partials and orphaned sidecars."""
    if not directory.exists():
        return
    for p in directory.iterdir():
        if (
            p.name.startswith(".")
            and (".partial" in p.name or p.name.endswith(".tmp"))  # also interrupted sidecars
            or p.name.endswith(".checksum")
            and not p.with_name(p.name[: -len(".checksum")]).exists()
        ):
            p.unlink(missing_ok=True)


def publish(staging: Path, members: list[str], directory: Path, name: str) -> Path:
    """Tar `members` of `staging` into `directory/name`: partial file, checksum, rename."""
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f".{name}.partial"
    final = directory / name
    try:
        subprocess.run(
            [
                "tar",
                "--format=gnu",
                "--sparse",
                # identical contents give identical bytes (so backups of them dedup)
                "--sort=name",
                "--mtime=@0",
                "--owner=0",
                "--group=0",
                "--numeric-owner",
                "-cf",
                str(partial),
                "-C",
                str(staging),
                *members,
            ],
            check=True,
            capture_output=True,
        )
        atomic_write_bytes(final.with_name(name + ".checksum"), sha256_file(partial).encode())
        commit_file(partial, final)
    except subprocess.CalledProcessError as exc:
        partial.unlink(missing_ok=True)
        raise SnapshotCorrupt(
            f"Could not write snapshot {name}: {exc.stderr.decode(errors='replace').strip()}",
            hint="Check free disk space in the data directory",
        ) from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return final


def stage_collection(
    staging: Path, config: models.CollectionConfig, payload_schema: dict[str, str]
) -> list[str]:
    """Write a collection snapshot's metadata files into `staging` (the shard goes in `0/`)."""
    (staging / "config.json").write_text(config.model_dump_json(exclude_none=True, indent=2))
    (staging / "version.info").write_text(FORMAT)
    (staging / "shard_key_mapping.json").write_text("[]")
    (staging / "payload_index.json").write_text(json.dumps({"schema": payload_schema}))
    return ["config.json", "version.info", "shard_key_mapping.json", "payload_index.json", "0"]


# -- reading --------------------------------------------------------------------------------------


def verify_checksum(path: Path, expected: str | None) -> None:
    """Compare with `expected`, or with the sidecar when no checksum is given."""
    if expected is None:
        sidecar = path.with_name(path.name + ".checksum")
        expected = sidecar.read_text().strip() if sidecar.exists() else None
    if expected is None:
        return
    actual = sha256_file(path)
    if actual != expected.strip().lower():
        raise SnapshotCorrupt(
            f"Snapshot checksum mismatch: expected {expected}, got {actual}",
            hint="The file is corrupt or not the one you meant; download it again",
        )


def check_members(archive: Path, max_bytes: int | None = None) -> list[tarfile.TarInfo]:
    """Refuse archives that could write outside the target or are not what they claim."""
    try:
        with tarfile.open(archive, "r:") as tar:
            members = tar.getmembers()
            end = tar.offset  # where the end-of-archive marker must be
        with open(archive, "rb") as f:
            f.seek(end)
            marker = f.read(2 * tarfile.BLOCKSIZE)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise SnapshotCorrupt(
            f"Not a readable snapshot archive: {exc}",
            hint="A snapshot is a plain tar made by create_snapshot; it may be truncated",
        ) from exc
    # tarfile reads a file cut short as if it ended there: only the two zero blocks that
    # end every archive prove that nothing is missing
    if len(marker) < 2 * tarfile.BLOCKSIZE or marker.strip(b"\0"):
        raise SnapshotCorrupt(
            "Snapshot archive is truncated (no end-of-archive marker)",
            hint="The file is incomplete: download or upload it again",
        )
    total = 0
    for m in members:
        name = m.name
        if name.startswith("/") or ".." in Path(name).parts:
            raise SnapshotCorrupt(f"Archive entry {name!r} escapes the target folder")
        if not (m.isreg() or m.isdir()):
            raise SnapshotCorrupt(
                f"Archive entry {name!r} is a link or device; snapshots hold only files"
            )
        total += m.size
    if max_bytes is not None and total > max_bytes:
        raise SnapshotCorrupt(
            f"Archive declares {total} bytes, more than the {max_bytes} bytes available",
            hint="Free disk space, or check that this is the right file",
        )
    return members


def extract(archive: Path, dest: Path) -> None:
    """Validate, then extract `archive` into `dest` (holes of sparse entries stay holes)."""
    free = shutil.disk_usage(dest.parent if not dest.exists() else dest).free
    members = check_members(archive, max_bytes=free)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:") as tar:
            tar.extractall(dest, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise SnapshotCorrupt(f"Snapshot archive is damaged: {exc}") from exc


def read_collection_config(extracted: Path) -> tuple[models.CollectionConfig, dict[str, Any]]:
    try:
        config = models.CollectionConfig.model_validate_json(
            (extracted / "config.json").read_text()
        )
        index = json.loads((extracted / "payload_index.json").read_text()).get("schema", {})
    except (OSError, ValueError) as exc:
        raise SnapshotCorrupt(
            f"Snapshot has no valid config.json/payload_index.json: {exc}",
            hint="Only collection snapshots made by crewchief can be recovered here",
        ) from exc
    if not (extracted / "0" / "segments").is_dir():
        raise SnapshotCorrupt("Snapshot has no shard folder `0/segments`")
    return config, index
