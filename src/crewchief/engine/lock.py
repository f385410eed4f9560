"""The data directory belongs to one process at a time.

The owner holds an exclusive `flock` on `<data>/.lock` for as long as it runs
and writes who it is (pid, and the URL when it serves) into that file, so a
second opener can be told exactly who is in the way.  The kernel drops the
lock when the owner dies, even by `kill -9`.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

from crewchief.errors import DataDirLocked

LOCK_NAME = ".lock"


def read_owner(data_dir: Path) -> dict[str, Any] | None:
    """Who owns `data_dir` right now, or None when nobody holds the lock."""
    path = data_dir / LOCK_NAME
    if not path.exists():
        return None
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            try:
                owner: dict[str, Any] = json.loads(f.read() or "{}")
            except ValueError:
                owner = {}
            return owner
        fcntl.flock(f, fcntl.LOCK_UN)
        return None


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._file = open(self.path, "a+")  # noqa: SIM115 - held for the owner's lifetime
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            owner = read_owner(data_dir) or {}
            raise _locked_error(data_dir, owner) from None
        self.owner: dict[str, Any] = {"pid": os.getpid(), "since": time.time(), "url": None}
        self._write()

    def set_url(self, url: str | None) -> None:
        self.owner["url"] = url
        self._write()

    def _write(self) -> None:
        self._file.seek(0)
        self._file.truncate()
        self._file.write(json.dumps(self.owner))
        self._file.flush()

    def release(self) -> None:
        if not self._file.closed:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()


def _locked_error(data_dir: Path, owner: dict[str, Any]) -> DataDirLocked:
    who = f"process {owner.get('pid', '?')}"
    url = owner.get("url")
    if url:
        who += f", serving at {url}"
    hint = (
        f"Point crewchief at the server instead: --target {url}"
        if url
        else "Stop the other process, or run `crewchief serve` and point commands at it"
    )
    return DataDirLocked(f"Data directory {data_dir} is in use by {who}", hint=hint)
