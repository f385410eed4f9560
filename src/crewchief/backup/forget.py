"""Forget backups by policy, then prune the chunks no remaining backup references.

Prune drops packs with no chunk left in use, rewrites those less than
`REPACK_BELOW` in use (their live chunks go to new packs), writes an index of what
is left, and only then deletes the old index files and packs.  Killed at any point,
the old index (or the new one) still names every chunk a backup needs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from crewchief.backup.packs import (
    CORRUPT_HINT,
    MAGIC,
    TAIL,
    PackWriter,
    digest_of,
    index_bytes,
    new_index_id,
    pack_key,
)
from crewchief.backup.policy import BackupRef, Decision, Policy, plan_forget
from crewchief.backup.repository import Repository, object_key
from crewchief.errors import SnapshotCorrupt

REPACK_BELOW = 0.8  # a pack less used than this is rewritten; above, its dead bytes stay


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
    wanted: dict[int, set[str]] = {1: set(), 2: set()}  # loose objects, chunks in packs
    for manifest in repo.manifests():  # formats 2 and 3 both keep their chunks in packs
        wanted[1 if manifest.format == 1 else 2].update(manifest.referenced_digests())
    removed = 0
    for digest in list(repo.loose_digests()):  # format 1: one object per chunk
        if digest not in wanted[1]:
            repo.storage.delete(object_key(digest))
            removed += 1
    dropped, skipped = _prune_packs(repo, wanted[2])
    return removed + dropped, skipped


def _prune_packs(repo: Repository, wanted: set[str]) -> tuple[int, str | None]:
    storage = repo.storage
    index = repo.index(reload=True)
    stored = {key.rsplit("/", 1)[-1] for key in storage.list("packs/")}
    by_pack = index.packs()
    dead = [d for d in index.entries if d not in wanted]
    drop = stored - set(by_pack)  # packs no index names: a killed backup's, or a prune's
    keep: dict[str, list[tuple[str, int, int]]] = {}
    rewrite: dict[str, list[tuple[str, int, int]]] = {}
    for pack, entries in by_pack.items():
        live = [e for e in entries if e[0] in wanted]
        used = sum(e[2] for e in live) / max(1, sum(e[2] for e in entries))
        if not live:
            drop.add(pack)
        elif used < REPACK_BELOW and pack in stored:
            rewrite[pack] = live
        else:
            keep[pack] = live
    if not dead and not drop:
        return 0, None
    writer = PackWriter(storage)
    try:
        for pack, live in rewrite.items():
            data = memoryview(storage.get(pack_key(pack)))
            for digest, offset, length in live:
                chunk = data[offset : offset + length]
                if digest_of(chunk) != digest:
                    raise SnapshotCorrupt(
                        f"Prune stopped: chunk {digest[:12]}... in pack {pack[:12]} is corrupt",
                        hint=CORRUPT_HINT,
                    )
                writer.add(digest, chunk)
        writer.flush()  # the rewritten chunks, stored and indexed
    finally:
        writer.close()
    if keep:
        storage.put(f"index/{new_index_id()}.json", index_bytes(keep))
    if repo.active_locks():  # a backup started meanwhile: it may use what would go
        return 0, "a backup started during prune; old packs are kept until the next prune"
    for key in index.files:
        storage.delete(key)
    orphans = drop - set(by_pack)
    unindexed = sum(_chunks_in(repo, pack) for pack in orphans)
    for pack in sorted(drop | set(rewrite)):
        storage.delete(pack_key(pack))
    repo.index(reload=True)
    return len(dead) + unindexed, None


def _chunks_in(repo: Repository, pack: str) -> int:
    """How many chunks a pack no index names holds (its table's count; 0 if unreadable)."""
    try:
        size = repo.storage.size(pack_key(pack))
        count, magic = TAIL.unpack(
            repo.storage.get_range(pack_key(pack), size - TAIL.size, TAIL.size)
        )
    except Exception:  # a torn or foreign file: it goes all the same
        return 0
    return int(count) if magic == MAGIC else 0


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
