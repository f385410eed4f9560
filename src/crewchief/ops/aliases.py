"""Alias moves with safety nets: plan (pure checks, with reasons), then execute.

`plan_switch` refuses to point an alias at a missing, empty or red collection
unless forced, and records what the alias pointed at when the plan was made;
`execute_switch` applies it as one atomic batch guarded by that expectation
(compare-and-set), so a plan made on stale information is refused, not applied.
Rollback is a new switch (a new history entry), never an erasure.  Deleting and
renaming an alias are planned the same way (`plan_delete`, `plan_rename`) and
applied guarded by what their plan saw.

The name rules and the compare-and-set check are those of `crewchief.core.aliases`,
the same the engine applies to a batch, so a plan refuses what the target would.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from qdrant_client import models

from crewchief.core.aliases import (
    AliasChange,
    check_create,
    check_expected,
    check_rename,
    delete_op,
    rename_op,
    switch_ops,
)
from crewchief.errors import AliasNotFound, InvalidInput, Refused
from crewchief.target import Target

_UNSET = object()


@dataclass
class SwitchPlan:
    alias: str
    current: str | None
    new: str
    reasons: list[str] = field(default_factory=list)
    forced: list[str] = field(default_factory=list)  # safety nets overridden by --force

    @property
    def changes_nothing(self) -> bool:
        return self.current == self.new

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def plan_switch(
    target: Target,
    alias: str,
    collection: str,
    expect: str | None | object = _UNSET,
    force: bool = False,
) -> SwitchPlan:
    """Check that `alias` may point at `collection`; raise `Refused` with the reason if not."""
    aliases = target.aliases()
    current = aliases.get(alias)
    if expect is None or isinstance(expect, str):  # not _UNSET: compare-and-set
        check_expected(aliases, {alias: expect})
    check_create(target.collection_names(), alias, collection)
    plan = SwitchPlan(alias=alias, current=current, new=collection)
    info = target.client.get_collection(collection)
    checks = [
        (info.status == models.CollectionStatus.RED, f"`{collection}` is red"),
        (not info.points_count, f"`{collection}` is empty"),
    ]
    for failed, why in checks:
        if not failed:
            continue
        if not force:
            raise Refused(
                f"Refusing to point `{alias}` at {collection}: {why}",
                hint="Fix the collection first, or pass --force if you are sure",
            )
        plan.forced.append(why)
    plan.reasons.append(
        f"`{alias}` -> `{collection}` (was {current or 'unset'}); "
        f"{info.points_count} points, status {info.status.value}"
    )
    return plan


def execute_switch(target: Target, plan: SwitchPlan) -> list[AliasChange]:
    """One atomic batch, compare-and-set against what the plan saw."""
    if plan.changes_nothing:
        return []
    ops = switch_ops(plan.alias, plan.current, plan.new)
    return target.update_aliases(ops, expect={plan.alias: plan.current})


def plan_rollback(
    target: Target, alias: str, to: str | None = None, force: bool = False
) -> SwitchPlan:
    """Point `alias` back where it was before its last move (or at `to`)."""
    current = target.aliases().get(alias)
    if to is None:
        history = target.alias_history(alias)
        if not history or history[-1].old is None:
            raise Refused(
                f"Alias `{alias}` has no earlier target to roll back to",
                hint=f"Name one: crewchief alias rollback {alias} --to COLLECTION",
            )
        to = history[-1].old
    plan = plan_switch(target, alias, to, expect=current, force=force)
    plan.reasons.insert(0, f"rollback of `{alias}` from {current or 'unset'} to `{to}`")
    return plan


@dataclass
class DeletePlan:
    alias: str
    current: str  # the collection it points at (which stays)
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def plan_delete(target: Target, alias: str) -> DeletePlan:
    """Check that `alias` exists; the plan remembers where it points."""
    current = target.aliases().get(alias)
    if current is None:
        raise AliasNotFound(alias)
    return DeletePlan(
        alias=alias,
        current=current,
        reasons=[f"delete `{alias}` (points at `{current}`); the collection stays"],
    )


def execute_delete(target: Target, plan: DeletePlan) -> list[AliasChange]:
    """Refused if the alias was moved since the plan was made."""
    return target.update_aliases([delete_op(plan.alias)], expect={plan.alias: plan.current})


@dataclass
class RenamePlan:
    alias: str
    new: str  # the new alias name
    collection: str  # where both names point (before and after)
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def plan_rename(target: Target, alias: str, new: str) -> RenamePlan:
    """Check that `alias` exists and that `new` names no alias or collection yet."""
    if alias == new:
        raise InvalidInput("Old and new alias names are the same", hint="Pick a new name")
    aliases = target.aliases()
    check_rename(aliases, target.collection_names(), alias, new)
    collection = aliases[alias]
    return RenamePlan(
        alias=alias,
        new=new,
        collection=collection,
        reasons=[f"rename `{alias}` -> `{new}` (points at `{collection}`)"],
    )


def execute_rename(target: Target, plan: RenamePlan) -> list[AliasChange]:
    """One batch, refused if the alias moved or the new name was taken meanwhile."""
    return target.update_aliases(
        [rename_op(plan.alias, plan.new)], expect={plan.alias: plan.collection, plan.new: None}
    )
