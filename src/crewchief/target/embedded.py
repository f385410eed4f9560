"""`EmbeddedTarget`: a data directory, through the engine in this process.

Everything is a call on the `Engine`: alias batches are checked and applied
under its lock, and it journals them itself (`alias-history.jsonl` in the data
directory); snapshot files are copied from and recovered into the directory.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from crewchief import __version__
from crewchief.core.aliases import AliasChange, AliasOp
from crewchief.core.client import QdrantAPI
from crewchief.core.metrics import collect_engine_state, render_engine_state
from crewchief.engine import Engine
from crewchief.target.base import Target


class EmbeddedTarget(Target):
    kind = "embedded"
    native_kind = "crewchief-edge"  # what its snapshots are, and what it can recover

    def __init__(self, path: str | Path, *, engine: Engine | None = None) -> None:
        """Open the data directory at `path` (closed with the target); or use the
        `engine` someone else opened on it and will close."""
        self.location = str(path)
        self._owns_engine = engine is None
        self.engine = Engine(path) if engine is None else engine
        self.client: QdrantAPI = self.engine  # mypy checks that the engine mirrors QdrantClient

    @classmethod
    def around(cls, engine: Engine) -> EmbeddedTarget:
        """A target over an engine someone else opened and will close (`crewchief serve`):
        the engine owns the data directory's lock, so it cannot be opened twice."""
        return cls(engine.path, engine=engine)

    def close(self) -> None:
        if self._owns_engine:
            self.engine.close()

    def update_aliases(
        self, operations: Sequence[AliasOp], expect: dict[str, str | None] | None = None
    ) -> list[AliasChange]:
        return self.engine.change_aliases(operations, expect)

    def alias_history(self, alias: str | None = None) -> list[AliasChange]:
        return self.engine.alias_history(alias)

    def optimize(self, collection: str) -> None:
        # This process owns the engine: if it returned before the build finished and
        # exited, the build would be abandoned.  So wait here.
        self.engine.optimize(collection, wait=True)

    def download_snapshot(self, collection: str, snapshot: str, dest: Path) -> Path:
        shutil.copyfile(self.engine.snapshot_file(collection, snapshot), dest)
        return dest

    def upload_snapshot(self, collection: str, path: Path, checksum: str | None = None) -> None:
        self.engine.recover_snapshot(collection, str(path), checksum=checksum)

    def metrics(self) -> str:
        """What `crewchief serve` renders from its engine, without its request counters."""
        return render_engine_state(collect_engine_state(self.engine), __version__)
