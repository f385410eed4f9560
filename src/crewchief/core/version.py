"""What crewchief says it is: Qdrant's `VersionInfo` (`GET /`, `QdrantClient.info()`).

`title` says what answers, `crewchief (qdrant-compatible)` (how `crewchief status` tells
it from a plain Qdrant); `version` is a Qdrant version with the installed qdrant-client's
major.minor: the REST schema we speak *is* that client's schema, and qdrant-client warns
at start-up when the minor versions differ by more than one; `commit` is crewchief's git
commit when it runs from a checkout, else null.
"""

from __future__ import annotations

import functools
import importlib.metadata
import subprocess
from pathlib import Path

from qdrant_client.http import models

TITLE = "crewchief (qdrant-compatible)"


def qdrant_api_version() -> str:
    """The Qdrant server version whose REST API we implement, e.g. "1.20.0"."""
    try:
        client = importlib.metadata.version("qdrant-client")
        major, minor = client.split(".")[:2]
        return f"{int(major)}.{int(minor)}.0"
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return "1.15.0"


def git_commit() -> str | None:
    """crewchief's commit (40 hex digits) when it runs from a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


@functools.cache
def version_info() -> models.VersionInfo:
    """Looked up once a process (the commit takes a `git` call)."""
    return models.VersionInfo(title=TITLE, version=qdrant_api_version(), commit=git_commit())
