"""Retention: which backups to keep, as a pure function with a reason for every decision.

Backups are grouped by the set of collections they hold (a nightly `--all` and an
hourly backup of one collection are separate series).  Within a group, newest
first, a backup is kept if it is among the last N, or the newest of an hour,
day, ISO week or month that the policy still wants.

As restic's `forget`: an empty policy is an error (`InvalidInput`), not "delete all",
unless `allow_remove_all` (`--unsafe-allow-remove-all`), and then it removes every
backup; a count of -1 means unlimited (every backup, or every hour/day/week/month that
has one), other negative counts are refused.  Any rule with a count keeps each group's
newest backup, so no policy empties a group.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from crewchief.errors import InvalidInput

UNLIMITED = -1  # a rule's count meaning "all", as restic's


@dataclass(frozen=True)
class Policy:
    last: int = 0
    hourly: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0

    def __post_init__(self) -> None:
        for name in ("last", "hourly", "daily", "weekly", "monthly"):
            if getattr(self, name) < UNLIMITED:
                raise InvalidInput(
                    f"--keep-{name} {getattr(self, name)} is not a count",
                    hint="Give 0 or more, or -1 for unlimited (as restic)",
                )

    def count(self, name: str) -> float:
        """The rule's count; -1 (unlimited) as infinity."""
        n: int = getattr(self, name)
        return float("inf") if n == UNLIMITED else n

    @property
    def empty(self) -> bool:
        return not any((self.last, self.hourly, self.daily, self.weekly, self.monthly))


@dataclass(frozen=True)
class BackupRef:
    id: str
    time: datetime
    collections: frozenset[str]


@dataclass
class Decision:
    id: str
    time: str
    collections: list[str]
    keep: bool = False
    reasons: list[str] = field(default_factory=list)


_BUCKETS = (
    ("hourly", lambda t: t.strftime("%Y-%m-%d %Hh")),
    ("daily", lambda t: t.strftime("%Y-%m-%d")),
    ("weekly", lambda t: "{}-W{:02d}".format(*t.isocalendar()[:2])),
    ("monthly", lambda t: t.strftime("%Y-%m")),
)


def plan_forget(
    backups: list[BackupRef], policy: Policy, allow_remove_all: bool = False
) -> list[Decision]:
    """Keep/remove for every backup, newest first, each with its reasons.  An empty policy
    raises instead of removing every backup, unless `allow_remove_all`."""
    if policy.empty and not allow_remove_all:
        raise InvalidInput(
            "No retention policy given: refusing to remove every backup",
            hint="Say what to keep, e.g. --keep-last 7 --keep-daily 14 "
            "(--unsafe-allow-remove-all removes them all)",
        )
    ordered = sorted(backups, key=lambda b: b.time, reverse=True)
    decisions = {b.id: Decision(b.id, b.time.isoformat(), sorted(b.collections)) for b in ordered}
    groups: dict[frozenset[str], list[BackupRef]] = defaultdict(list)
    for b in ordered:
        groups[b.collections].append(b)
    for series in groups.values():
        last = "all" if policy.last == UNLIMITED else str(policy.last)
        for i, b in enumerate(series):
            if i >= policy.count("last"):
                break
            decisions[b.id].reasons.append(f"last {last} (#{i + 1})")
        for name, bucket_of in _BUCKETS:
            wanted = policy.count(name)
            seen: list[str] = []
            for b in series:
                if len(seen) >= wanted:
                    break
                bucket = bucket_of(b.time)
                if bucket not in seen:
                    seen.append(bucket)
                    decisions[b.id].reasons.append(f"{name} {bucket}")
    for d in decisions.values():
        d.keep = bool(d.reasons)
        if not d.keep:
            d.reasons.append("not wanted by the policy")
    return [decisions[b.id] for b in ordered]
