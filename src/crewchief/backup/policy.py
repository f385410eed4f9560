"""Retention: which backups to keep, as a pure function with a reason for every decision.

Backups are grouped by the set of collections they hold (a nightly `--all` and an
hourly backup of one collection are separate series).  Within a group, newest
first, a backup is kept if it is among the last N, or the newest of an hour,
day, ISO week or month that the policy still wants.  Afterwards, a safety net:
every collection keeps at least its newest backup unless removing everything
was explicitly allowed.  An empty policy is an error, never "delete all".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from crewchief.errors import InvalidInput


@dataclass(frozen=True)
class Policy:
    last: int = 0
    hourly: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0

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
    """Keep/remove for every backup, newest first, each with its reasons."""
    if policy.empty:
        raise InvalidInput(
            "No retention policy given: refusing to remove every backup",
            hint="Say what to keep, e.g. --keep-last 7 --keep-daily 14",
        )
    ordered = sorted(backups, key=lambda b: b.time, reverse=True)
    decisions = {b.id: Decision(b.id, b.time.isoformat(), sorted(b.collections)) for b in ordered}
    groups: dict[frozenset[str], list[BackupRef]] = defaultdict(list)
    for b in ordered:
        groups[b.collections].append(b)
    for series in groups.values():
        for i, b in enumerate(series[: policy.last]):
            decisions[b.id].reasons.append(f"last {policy.last} (#{i + 1})")
        for name, bucket_of in _BUCKETS:
            wanted = getattr(policy, name)
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
    if not allow_remove_all:
        kept = {c for d in decisions.values() if d.keep for c in d.collections}
        for b in ordered:  # newest first: the first hit is the collection's newest backup
            for c in sorted(b.collections - kept):
                decisions[b.id].keep = True
                decisions[b.id].reasons.append(f"last backup of collection `{c}`")
                kept.add(c)
    for d in decisions.values():
        if not d.keep:
            d.reasons.append("not wanted by the policy")
    return [decisions[b.id] for b in ordered]
