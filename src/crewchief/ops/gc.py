"""Garbage collection of old versions: plan with reasons, then delete.

Within each version family (`my_app_v1`, `my_app_v2`, ...) the newest `keep`
versions stay.  Never removed, whatever `keep` says: a collection any alias
points at, and the newest version of a family.  Collections without a version
suffix are not versions and are never touched.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from crewchief.errors import InvalidInput
from crewchief.ops.versions import families
from crewchief.target import Target


@dataclass
class GcPlan:
    keep: dict[str, str] = field(default_factory=dict)  # name -> reason
    delete: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def plan_gc(
    names: list[str], aliases: dict[str, str], keep: int, family: str | None = None
) -> GcPlan:
    """Pure: which versions to keep and which to delete, each with its reason."""
    if keep < 1:
        raise InvalidInput(
            f"--keep {keep}: at least the newest version is always kept",
            hint="Use --keep 1 or more",
        )
    targets: dict[str, list[str]] = {}
    for alias, coll in aliases.items():
        targets.setdefault(coll, []).append(alias)
    plan = GcPlan()
    for base, members in sorted(families(names).items()):
        if family is not None and base != family:
            continue
        for rank, name in enumerate(members):
            if name in targets:
                plan.keep[name] = f"alias {', '.join(sorted(targets[name]))} points at it"
            elif rank == 0:
                plan.keep[name] = f"newest version of `{base}`"
            elif rank < keep:
                plan.keep[name] = f"one of the {keep} newest versions of `{base}`"
            else:
                plan.delete[name] = f"older than the {keep} newest versions of `{base}`, no alias"
    return plan


def execute_gc(target: Target, plan: GcPlan) -> list[str]:
    """Delete what the plan says, re-checking each against the live alias map first."""
    deleted = []
    for name in plan.delete:
        if name in target.aliases().values():
            continue  # an alias moved onto it since the plan was made
        target.client.delete_collection(name)
        deleted.append(name)
    return deleted
