"""What a repository says about protection: newest backup per collection, verify
results, scheduler outcomes.  Read by `crewchief status --repo` and `/metrics`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crewchief.backup.repository import Repository


@dataclass
class BackupState:
    repo: str
    newest: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # coll -> (id, time)
    verify: dict[str, dict[str, Any]] = field(default_factory=dict)  # backup id -> record
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # job -> schedule record
    sizes: list[tuple[str, int]] = field(default_factory=list)  # (created, bytes new)


def read_backup_state(repo: Repository) -> BackupState:
    state = BackupState(repo=repo.url)
    for m in repo.manifests():  # oldest first: later ones overwrite
        for coll in m.collections:
            state.newest[coll] = (m.id, m.time)
        state.sizes.append((m.created, m.stats.bytes_new))
        record = repo.record(f"verify/{m.id}.json")
        if record:
            state.verify[m.id] = record
    for key in repo.storage.list("schedule/"):
        record = repo.record(key)
        if record:
            state.jobs[str(record.get("job", key))] = record
    return state


def job_failing(record: dict[str, Any]) -> str | None:
    """The error of a job whose most recent outcome failed, else None."""
    failure = record.get("last_failure")
    if not failure:
        return None
    successes = record.get("last_success", {})
    later = successes.get(failure["action"])
    if later and later > failure["time"]:
        return None
    return str(failure["error"])
