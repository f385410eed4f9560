"""The catalog: which collections exist, where aliases point, and how they moved.

On disk, in the data directory:

    catalog.json          {"format": 1, "collections": {name: meta}, "aliases": {alias: coll},
                           "alias_seq": N}            (temp file + fsync + rename)
    alias-history.jsonl   one line per alias change: {"seq", "time", "alias", "old", "new", "op"}

An alias batch is journalled first (every line carries the batch's `seq`), then
the catalog is replaced with `alias_seq = seq`.  A crash between the two leaves
journal lines with a `seq` the catalog never committed; they are cut off when
the catalog is next opened, so history and state always agree.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qdrant_client import models

from crewchief.errors import (
    AliasNotFound,
    AlreadyExists,
    CollectionNotFound,
    InvalidInput,
    Refused,
    validate_name,
)
from crewchief.fsutil import append_line, atomic_write_json, fsync_dir

CATALOG = "catalog.json"
HISTORY = "alias-history.jsonl"

AliasOp = models.CreateAliasOperation | models.DeleteAliasOperation | models.RenameAliasOperation


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class AliasChange:
    """One line of alias history."""

    seq: int
    time: str
    alias: str
    old: str | None
    new: str | None
    op: str

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "alias": self.alias,
            "old": self.old,
            "new": self.new,
            "op": self.op,
        }


def check_expected(current: dict[str, str], expect: dict[str, str | None] | None) -> None:
    """Compare-and-set guard: refuse unless every alias in `expect` points where expected
    (None: the alias must not exist)."""
    for alias, wanted in (expect or {}).items():
        if current.get(alias) != wanted:
            raise Refused(
                f"Alias `{alias}` points at {current.get(alias)!r}, not {wanted!r} as expected: "
                "it was moved by someone else",
                hint=f"Look first: crewchief alias history {alias}",
            )


def plan_alias_changes(
    aliases: dict[str, str], collections: set[str], operations: Sequence[AliasOp]
) -> tuple[dict[str, str], list[tuple[str, str | None, str | None, str]]]:
    """Apply `operations` in order to a copy of `aliases`; raise before anything is changed.

    Returns the new alias map and the changes as (alias, old target, new target, op).
    Like Qdrant, `create` on an existing alias re-points it (and the change is recorded);
    unlike Qdrant up to 1.19, a failing operation anywhere rejects the whole batch.
    """
    if not operations:
        raise InvalidInput(
            "No alias operations given", hint="Pass at least one create/delete/rename"
        )
    new = dict(aliases)
    changes: list[tuple[str, str | None, str | None, str]] = []
    for op in operations:
        if isinstance(op, models.CreateAliasOperation):
            alias = validate_name("alias", op.create_alias.alias_name)
            target = op.create_alias.collection_name
            if target not in collections:
                raise CollectionNotFound(target)
            if alias in collections:
                raise AlreadyExists(
                    f"Alias `{alias}` would hide the collection of the same name",
                    hint="Pick an alias name that is not a collection name",
                )
            changes.append((alias, new.get(alias), target, "create"))
            new[alias] = target
        elif isinstance(op, models.DeleteAliasOperation):
            alias = op.delete_alias.alias_name
            if alias not in new:
                raise AliasNotFound(alias)
            changes.append((alias, new.pop(alias), None, "delete"))
        elif isinstance(op, models.RenameAliasOperation):
            old_name = op.rename_alias.old_alias_name
            new_name = validate_name("alias", op.rename_alias.new_alias_name)
            if old_name not in new:
                raise AliasNotFound(old_name)
            if new_name in collections:
                raise AlreadyExists(
                    f"Alias `{new_name}` would hide the collection of the same name",
                    hint="Pick an alias name that is not a collection name",
                )
            if new_name in new and new_name != old_name:
                raise AlreadyExists(
                    f"Alias `{new_name}` already exists",
                    hint=f"Delete it first, or re-point it: crewchief alias set {new_name} ...",
                )
            target = new.pop(old_name)
            changes.append((old_name, target, None, "rename"))
            changes.append((new_name, None, target, "rename"))
            new[new_name] = target
        else:
            raise InvalidInput(
                f"Unknown alias operation {type(op).__name__}",
                hint="Use create_alias, delete_alias or rename_alias",
            )
    return new, _net_changes(changes)


def _net_changes(
    changes: list[tuple[str, str | None, str | None, str]],
) -> list[tuple[str, str | None, str | None, str]]:
    """One change per alias: where it pointed before the batch and where after.

    A delete followed by a create of the same alias (the usual switch) is one
    `switch`; a change that ends where it started is dropped.
    """
    first: dict[str, tuple[str | None, str]] = {}
    last: dict[str, str | None] = {}
    for alias, old, new_target, op in changes:
        first.setdefault(alias, (old, op))
        last[alias] = new_target
    out = []
    for alias, (old, op) in first.items():
        new_target = last[alias]
        if old == new_target:
            continue
        if op != "rename":
            op = "create" if old is None else "delete" if new_target is None else "switch"
        out.append((alias, old, new_target, op))
    return out


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
            tmp = path.with_suffix(".tmp")
            tmp.write_text("".join(line + "\n" for line in keep), encoding="utf-8")
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, path)
            fsync_dir(self.dir)

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
            if name in self.aliases:
                raise AlreadyExists(
                    f"Alias with the same name `{name}` already exists",
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
