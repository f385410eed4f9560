"""Alias rules, written once for the engine's catalog, the targets, ops and the CLI.

- what an alias batch does (`plan_alias_changes`): applied in order to a copy of
  the alias map, all or nothing, netted to one change per alias;
- the compare-and-set guard (`check_expected`);
- the name rules: an alias is a valid name, points at an existing collection and
  never hides a collection of the same name (`check_create`); a rename needs an
  existing alias and a free new name (`check_rename`);
- one line of alias history (`AliasChange`, stamped by `now_iso`) and the
  operation builders (`create_op`, `delete_op`, `rename_op`).

Pure: nothing here reads or writes; the callers apply the result.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
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

AliasOp = models.CreateAliasOperation | models.DeleteAliasOperation | models.RenameAliasOperation

# (alias, old target, new target, op): one alias change before it is recorded
Change = tuple[str, str | None, str | None, str]


def now_iso() -> str:
    """The time stamp of history lines and catalog entries: UTC, microseconds."""
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


# -- operations ----------------------------------------------------------------------------------


def create_op(alias: str, collection: str) -> models.CreateAliasOperation:
    return models.CreateAliasOperation(
        create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)
    )


def delete_op(alias: str) -> models.DeleteAliasOperation:
    return models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))


def rename_op(old: str, new: str) -> models.RenameAliasOperation:
    return models.RenameAliasOperation(
        rename_alias=models.RenameAlias(old_alias_name=old, new_alias_name=new)
    )


# -- rules ---------------------------------------------------------------------------------------


def switch_ops(alias: str, current: str | None, new: str) -> list[AliasOp]:
    """The batch that moves `alias` from `current` (None: unset) to `new` in one step."""
    ops: list[AliasOp] = [delete_op(alias)] if current else []
    ops.append(create_op(alias, new))
    return ops


def hides_collection(alias: str) -> AlreadyExists:
    """The error for an alias named like a collection (the collection would be unreachable)."""
    return AlreadyExists(
        f"Alias `{alias}` would hide the collection of the same name",
        hint="Pick an alias name that is not a collection name",
    )


def check_create(collections: Collection[str], alias: str, collection: str) -> str:
    """`alias` may point at `collection`: a valid name, an existing collection, and no
    collection of the alias's name.  Returns the alias name."""
    validate_name("alias", alias)
    if collection not in collections:
        raise CollectionNotFound(collection)
    if alias in collections:
        raise hides_collection(alias)
    return alias


def check_rename(
    aliases: Mapping[str, str], collections: Collection[str], old: str, new: str
) -> str:
    """Alias `old` may be renamed `new`: `old` exists, `new` is a valid name that names
    no collection and no other alias.  Returns the new name."""
    validate_name("alias", new)
    if old not in aliases:
        raise AliasNotFound(old)
    if new in collections:
        raise hides_collection(new)
    if new in aliases and new != old:
        raise AlreadyExists(
            f"Alias `{new}` already exists (it points at `{aliases[new]}`)",
            hint=f"Delete it first (crewchief alias delete {new}) or pick another name",
        )
    return new


def check_expected(current: Mapping[str, str], expect: Mapping[str, str | None] | None) -> None:
    """Compare-and-set guard: refuse unless every alias in `expect` points where expected
    (None: the alias must not exist)."""
    for alias, wanted in (expect or {}).items():
        if current.get(alias) != wanted:
            raise Refused(
                f"Alias `{alias}` points at {current.get(alias)!r}, not {wanted!r} as expected: "
                "it was moved by someone else",
                hint=f"Look first: crewchief alias history {alias}",
            )


# -- a batch -------------------------------------------------------------------------------------


def plan_alias_changes(
    aliases: dict[str, str], collections: set[str], operations: Sequence[AliasOp]
) -> tuple[dict[str, str], list[Change]]:
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
    changes: list[Change] = []
    for op in operations:
        if isinstance(op, models.CreateAliasOperation):
            target = op.create_alias.collection_name
            alias = check_create(collections, op.create_alias.alias_name, target)
            changes.append((alias, new.get(alias), target, "create"))
            new[alias] = target
        elif isinstance(op, models.DeleteAliasOperation):
            alias = op.delete_alias.alias_name
            if alias not in new:
                raise AliasNotFound(alias)
            changes.append((alias, new.pop(alias), None, "delete"))
        elif isinstance(op, models.RenameAliasOperation):
            old_name = op.rename_alias.old_alias_name
            new_name = check_rename(new, collections, old_name, op.rename_alias.new_alias_name)
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


def _net_changes(changes: list[Change]) -> list[Change]:
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
