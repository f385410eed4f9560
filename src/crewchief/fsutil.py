"""Small file-system helpers for writes that must survive a crash."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from crewchief.errors import EngineFailure


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a crash leaves the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


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
