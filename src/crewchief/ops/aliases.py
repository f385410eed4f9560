"""Alias moves with safety nets: plan (pure checks, with reasons), then execute.

`plan_switch` refuses to point an alias at a missing, empty or red collection
unless forced, and records what the alias pointed at when the plan was made;
`execute_switch` applies it as one atomic batch guarded by that expectation
(compare-and-set), so a plan made on stale information is refused, not applied.
Rollback is a new switch (a new history entry), never an erasure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from qdrant_client import models

from crewchief.engine.catalog import AliasChange
from crewchief.errors import AliasNotFound, CollectionNotFound, InvalidInput, Refused
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


def create_op(alias: str, collection: str) -> models.CreateAliasOperation:
    return models.CreateAliasOperation(
        create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)
    )


def delete_op(alias: str) -> models.DeleteAliasOperation:
    return models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))


def plan_switch(
    target: Target,
    alias: str,
    collection: str,
    expect: str | None | object = _UNSET,
    force: bool = False,
) -> SwitchPlan:
    """Check that `alias` may point at `collection`; raise `Refused` with the reason if not."""
    current = target.aliases().get(alias)
    if expect is not _UNSET and expect != current:
        raise Refused(
            f"Alias `{alias}` points at {current!r}, not {expect!r}: it was moved meanwhile",
            hint=f"Look first: crewchief alias history {alias}",
        )
    if collection not in target.collection_names():
        raise CollectionNotFound(collection)
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
    ops: list[Any] = [delete_op(plan.alias)] if plan.current else []
    ops.append(create_op(plan.alias, plan.new))
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


def delete_alias(target: Target, alias: str) -> list[AliasChange]:
    current = target.aliases().get(alias)
    if current is None:
        raise AliasNotFound(alias)
    return target.update_aliases([delete_op(alias)], expect={alias: current})


def rename_alias(target: Target, old: str, new: str) -> list[AliasChange]:
    if old == new:
        raise InvalidInput("Old and new alias names are the same", hint="Pick a new name")
    op = models.RenameAliasOperation(
        rename_alias=models.RenameAlias(old_alias_name=old, new_alias_name=new)
    )
    return target.update_aliases([op])
