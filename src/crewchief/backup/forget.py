"""Forget backups by policy, then prune the objects no remaining backup references."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from crewchief.backup.policy import BackupRef, Decision, Policy, plan_forget
from crewchief.backup.repository import Repository


@dataclass
class ForgetResult:
    decisions: list[Decision]
    removed: list[str] = field(default_factory=list)
    pruned_objects: int = 0
    prune_skipped: str | None = None
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def backup_refs(repo: Repository) -> list[BackupRef]:
    return [BackupRef(m.id, m.time, frozenset(m.collections)) for m in repo.manifests()]


def prune(repo: Repository) -> tuple[int, str | None]:
    """Delete objects no manifest references.  Skipped while a backup is in progress
    (its objects are not referenced yet); the locks of backups that died are removed."""
    repo.remove_stale_locks()
    active = repo.active_locks()
    if active:
        return 0, f"a backup is in progress ({', '.join(active)}); prune skipped"
    wanted: set[str] = set()
    for manifest in repo.manifests():
        wanted |= manifest.referenced_digests()
    removed = 0
    for digest in list(repo.object_digests()):
        if digest not in wanted:
            repo.delete_object(digest)
            removed += 1
    return removed, None


def forget(
    repo: Repository, policy: Policy, dry_run: bool = False, allow_remove_all: bool = False
) -> ForgetResult:
    decisions = plan_forget(backup_refs(repo), policy, allow_remove_all)
    result = ForgetResult(decisions=decisions, dry_run=dry_run)
    if dry_run:
        return result
    for d in decisions:
        if not d.keep:
            repo.delete_manifest(d.id)
            result.removed.append(d.id)
    result.pruned_objects, result.prune_skipped = prune(repo)
    return result
