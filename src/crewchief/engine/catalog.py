"""The catalog: which collections exist, where aliases point, and how they moved.

On disk, in the data directory:

    catalog.json          {"format": 1, "collections": {name: meta}, "aliases": {alias: coll},
                           "alias_seq": N}            (temp file + fsync + rename)
    alias-history.jsonl   one line per alias change: {"seq", "time", "alias", "old", "new", "op"}

An alias batch is journalled first (every line carries the batch's `seq`), then
the catalog is replaced with `alias_seq = seq`.  A crash between the two leaves
journal lines with a `seq` the catalog never committed; they are cut off when
the catalog is next opened, so history and state always agree.

What a batch may do and what it changes are decided by the rules in
`crewchief.core.aliases` (shared with the targets for remote servers); this
module makes the result durable.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crewchief.core.aliases import AliasChange, AliasOp, check_expected, now_iso, plan_alias_changes
from crewchief.errors import AlreadyExists, CollectionNotFound, InvalidInput
from crewchief.fsutil import append_line, atomic_write_bytes, atomic_write_json

CATALOG = "catalog.json"
HISTORY = "alias-history.jsonl"


class Catalog:
    """Collections and aliases of one data directory; every change is durable before it returns."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir
        self._lock = threading.Lock()
        state = self._load()
        # Readers take these references without a lock: each is replaced whole, never mutated.
        self.collections: dict[str, dict[str, Any]] = state["collections"]
        self.aliases: dict[str, str] = state["aliases"]
        self.alias_seq: int = state["alias_seq"]
        self._trim_history()

    # -- loading ---------------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        path = self.dir / CATALOG
        if not path.exists():
            return {"format": 1, "collections": {}, "aliases": {}, "alias_seq": 0}
        state: dict[str, Any] = json.loads(path.read_text())
        return state

    def _trim_history(self) -> None:
        """Drop journal lines of a batch that never committed (and a torn last line)."""
        path = self.dir / HISTORY
        if not path.exists():
            return
        keep: list[str] = []
        dropped = False
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                dropped = True
                continue
            if rec.get("seq", 0) > self.alias_seq:
                dropped = True
                continue
            keep.append(line)
        if dropped:
            atomic_write_bytes(path, "".join(line + "\n" for line in keep).encode("utf-8"))

    def _save(self, collections: dict[str, Any], aliases: dict[str, str], alias_seq: int) -> None:
        atomic_write_json(
            self.dir / CATALOG,
            {"format": 1, "collections": collections, "aliases": aliases, "alias_seq": alias_seq},
        )
        self.collections, self.aliases, self.alias_seq = collections, aliases, alias_seq

    # -- collections -----------------------------------------------------------------------------

    def add_collection(self, name: str, meta: dict[str, Any]) -> None:
        with self._lock:
            if name in self.collections:
                raise AlreadyExists(
                    f"Collection `{name}` already exists!",
                    hint="Pick another name, or delete that collection first",
                )
            if name in self.aliases:  # Qdrant: bad input (400), not a conflict
                raise InvalidInput(
                    f"Can't create collection with name {name}. "
                    "Alias with the same name already exists",
                    hint="Pick a collection name that is not an alias name",
                )
            self._save({**self.collections, name: meta}, self.aliases, self.alias_seq)

    def update_collection(self, name: str, meta: dict[str, Any]) -> None:
        with self._lock:
            if name not in self.collections:
                raise CollectionNotFound(name)
            self._save({**self.collections, name: meta}, self.aliases, self.alias_seq)

    def remove_collection(self, name: str) -> None:
        """Forget a collection and drop every alias that pointed at it (recorded in history)."""
        with self._lock:
            if name not in self.collections:
                raise CollectionNotFound(name)
            dropped = [a for a, c in self.aliases.items() if c == name]
            seq = self.alias_seq
            if dropped:
                seq += 1
                for alias in dropped:
                    self._journal(seq, alias, name, None, "collection-deleted")
            collections = {k: v for k, v in self.collections.items() if k != name}
            aliases = {a: c for a, c in self.aliases.items() if c != name}
            self._save(collections, aliases, seq)

    # -- aliases ---------------------------------------------------------------------------------

    def apply_alias_operations(
        self, operations: Sequence[AliasOp], expect: dict[str, str | None] | None = None
    ) -> list[AliasChange]:
        with self._lock:
            check_expected(self.aliases, expect)
            new_aliases, changes = plan_alias_changes(
                self.aliases, set(self.collections), operations
            )
            seq = self.alias_seq + 1
            recorded = [self._journal(seq, *change) for change in changes]
            self._save(self.collections, new_aliases, seq)
            return recorded

    def _journal(
        self, seq: int, alias: str, old: str | None, new: str | None, op: str
    ) -> AliasChange:
        change = AliasChange(seq=seq, time=now_iso(), alias=alias, old=old, new=new, op=op)
        append_line(self.dir / HISTORY, json.dumps(change.to_json()))
        return change

    def history(self, alias: str | None = None) -> list[AliasChange]:
        path = self.dir / HISTORY
        if not path.exists():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec["seq"] <= self.alias_seq and (alias is None or rec["alias"] == alias):
                out.append(AliasChange(**rec))
        return out

    def resolve(self, name: str) -> str:
        """The collection `name` stands for: itself, or the target of the alias `name`."""
        if name in self.collections:
            return name
        target = self.aliases.get(name)
        if target is not None:
            return target
        raise CollectionNotFound(name)
