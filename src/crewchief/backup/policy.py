"""Retention: which backups to keep, as a pure function with a reason for every decision.

Backups are grouped by the set of collections they hold (a nightly `--all` and an
hourly backup of one collection are separate series).  Within a group, newest
first, a backup is kept if it is among the last N, or the newest of an hour,
day, ISO week or month that the policy still wants.

Two safety nets, as restic's `forget` has, both lifted only by `allow_remove_all`
(`--unsafe-allow-remove-all`): an empty policy is an error (`InvalidInput`), not
"delete all"; and a policy that would remove every backup of a group is refused
(`Refused`) and removes nothing.  A count of 1 or more in any rule keeps a group's
newest backup, so the second net catches rules that keep nothing (a negative count
today; a future rule such as keep-within or keep-tag that matches no backup).
With `allow_remove_all`, an empty policy removes every backup.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from crewchief.errors import InvalidInput, Refused


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
    """Keep/remove for every backup, newest first, each with its reasons.  Raises instead
    of removing every backup of a group, unless `allow_remove_all`."""
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
        if not d.keep:
            d.reasons.append("not wanted by the policy")
    emptied = [s for s in groups.values() if not any(decisions[b.id].keep for b in s)]
    if emptied and not allow_remove_all:
        which = "; ".join(sorted(f"`{', '.join(sorted(s[0].collections))}`" for s in emptied))
        raise Refused(
            f"The policy would remove every backup of {which}: nothing removed",
            hint="Keep at least one (e.g. --keep-last 1), or pass --unsafe-allow-remove-all",
        )
    return [decisions[b.id] for b in ordered]
