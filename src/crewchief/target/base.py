"""`Target`: where the collections are, as the ops layer sees them.

`target.client` speaks QdrantClient's API (`crewchief.core.client.QdrantAPI`);
the few things qdrant-client has no call for (alias history, compare-and-set,
snapshot download/upload, explicit index builds, Prometheus metrics) are methods
here, implemented by each kind of target.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from crewchief.core.aliases import AliasChange, AliasOp
from crewchief.core.client import QdrantAPI

INTERNAL_PREFIX = "crewchief_"


class Target(ABC):
    """Where the collections are.  `client` is QdrantClient-compatible."""

    kind: str  # "embedded" or "remote"
    native_kind: str  # the kind of snapshot file it makes and recovers
    location: str
    client: QdrantAPI

    def collection_names(self) -> list[str]:
        """User collections (crewchief's own bookkeeping collections left out)."""
        names = [c.name for c in self.client.get_collections().collections]
        return sorted(n for n in names if not n.startswith(INTERNAL_PREFIX))

    def aliases(self) -> dict[str, str]:
        return {a.alias_name: a.collection_name for a in self.client.get_aliases().aliases}

    @abstractmethod
    def update_aliases(
        self, operations: Sequence[AliasOp], expect: dict[str, str | None] | None = None
    ) -> list[AliasChange]:
        """Apply an alias batch and record it in the history; with `expect` ({alias:
        collection or None}), refuse (`Refused`) if any alias is not where expected."""

    @abstractmethod
    def alias_history(self, alias: str | None = None) -> list[AliasChange]:
        """Alias changes, oldest first."""

    @abstractmethod
    def optimize(self, collection: str) -> None:
        """Ask for the index to be built now (a server does this by itself)."""

    @abstractmethod
    def download_snapshot(self, collection: str, snapshot: str, dest: Path) -> Path:
        """Copy a collection snapshot file to `dest` (a file path)."""

    @abstractmethod
    def upload_snapshot(self, collection: str, path: Path, checksum: str | None = None) -> None:
        """Recover `collection` from a local snapshot file."""

    @abstractmethod
    def metrics(self) -> str:
        """The target's state in Prometheus text format (what a server's /metrics says)."""

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
