"""Small file-system helpers for writes that must survive a crash."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from crewchief.errors import EngineFailure, StorageError

STAGING_PREFIX = "crewchief-staging-"
STAGING_LOCK = ".in-use"
STAGING_GRACE_SECONDS = 600  # a folder not yet locked is being set up, or was left long ago
DISCARD_PREFIX = "crewchief-discard-"  # a staging folder being deleted: no questions asked


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_copy(
    path: Path, source: BinaryIO, durable: bool = True, prefix: str | None = None
) -> None:
    """Copy `source` to `path` through a temp file (`prefix`, default `.NAME.`) and a rename,
    so that a crash leaves the old or the new file, never half; fsynced when `durable`."""
    fd, tmp = tempfile.mkstemp(prefix=prefix or f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            shutil.copyfileobj(source, f, 1 << 20)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a crash leaves the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_copy(path, io.BytesIO(data))


def commit_file(tmp: Path, final: Path) -> None:
    """Make `tmp`, written completely by someone else (tar, a parquet writer), the file
    `final`: fsync its data, rename, fsync the folder."""
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)
    fsync_dir(final.parent)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=2, sort_keys=True, default=str).encode())


def append_line(path: Path, line: str) -> None:
    """Append one line and fsync it (a journal record)."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(line.rstrip("\n") + "\n")
        f.flush()
        os.fsync(f.fileno())


def sparse_copy(src: Path, dst: Path) -> None:
    """Copy a folder keeping holes: shard folders hold large preallocated, mostly empty files.
    A failed copy (a full disk) is removed and reported as `EngineFailure`."""
    done = subprocess.run(
        ["cp", "-a", "--sparse=always", str(src), str(dst)], capture_output=True, text=True
    )
    if done.returncode != 0:
        shutil.rmtree(dst, ignore_errors=True)
        raise EngineFailure(
            f"Could not copy {src.name}: {done.stderr.strip() or 'cp failed'}",
            hint="Check free disk space in the data directory",
        )


def wait_until_absent(folder: Path, pattern: str, timeout: float = 10.0) -> bool:
    """Wait until nothing in `folder` matches `pattern` (a file another thread is still
    making, then renames); False if something still does after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while any(folder.glob(pattern)):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def disk_usage(path: Path) -> int:
    """Bytes actually allocated under `path` (holes not counted)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


@contextlib.contextmanager
def staging_dir(kind: str) -> Iterator[Path]:
    """A private folder in the temp directory for one backup, restore or verify.

    The folder holds a file locked (flock) for as long as it is in use; the kernel drops
    the lock when its process dies, so a folder with a free lock was left by a killed run,
    and the next run removes it.  Running out of space in it is a `StorageError`.
    """
    base = Path(tempfile.gettempdir())
    _remove_abandoned_staging(base)
    path = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{kind}-", dir=base))
    fd = os.open(path / STAGING_LOCK, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise StorageError(
            f"No space left while staging {kind} files in {base}: {exc.strerror}",
            hint="Free space there, or point TMPDIR at a file system with room for "
            "a copy of the collections",
        ) from exc
    finally:
        _discard(path)
        os.close(fd)


def _discard(path: Path) -> None:
    """Rename, then delete: a kill during the delete (which may already have taken the
    lock file) leaves a folder that the next run removes without asking."""
    trash = path.with_name(DISCARD_PREFIX + path.name.removeprefix(STAGING_PREFIX))
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return
    remove_tree(trash)


def _remove_abandoned_staging(base: Path) -> None:
    """Remove staging folders whose owner died, and folders left half deleted."""
    for path in base.glob(f"{DISCARD_PREFIX}*"):
        remove_tree(path)
    for path in base.glob(f"{STAGING_PREFIX}*"):
        try:
            fd = os.open(path / STAGING_LOCK, os.O_RDWR)
        except FileNotFoundError:  # killed before it locked, or still setting up
            with contextlib.suppress(FileNotFoundError):
                if time.time() - path.stat().st_mtime > STAGING_GRACE_SECONDS:
                    _discard(path)
            continue
        except OSError:
            continue  # not ours to judge (another user's, or not a folder)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _discard(path)
        except BlockingIOError:
            pass  # in use
        finally:
            os.close(fd)
