"""`crewchief backup schedule --config FILE`: backups on cron schedules, forever.

The config is TOML, one `[[jobs]]` table per job:

    [[jobs]]
    name = "nightly"
    target = "./crewchief-data"        # directory or http(s):// URL
    api_key_env = "QDRANT_API_KEY"     # optional: the env var holding the key
    repo = "s3://backups/qdrant"       # or a path
    collections = []                   # empty: every collection
    create = "0 3 * * *"               # cron expressions (UTC); each optional
    forget = "30 3 * * *"
    verify = "0 5 * * 0"
    verify_full = true
    [jobs.keep]
    last = 7
    daily = 14
    weekly = 8

The loop is a thin ticker around `Scheduler.tick(now)`, which tests call
directly: every action that is due runs, its outcome is written to
`schedule/<job>.json` in the repository (shown by `crewchief status --repo`, by
`/metrics` of `crewchief serve --repo` and by the dashboard), and a failure is
logged and recorded, never raised: the loop goes on.  The same file holds the
job's plan: its cron expressions and the next run of each action, written when
the loop starts and whenever it runs the job.
"""

from __future__ import annotations

import logging
import os
import threading
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from croniter import croniter

from crewchief.backup.backups import create_backup, verify_backup
from crewchief.backup.forget import forget
from crewchief.backup.policy import Policy
from crewchief.backup.repository import Repository
from crewchief.errors import InvalidInput
from crewchief.malloc import limit_malloc_arenas
from crewchief.target import open_target

log = logging.getLogger("crewchief.schedule")
ACTIONS = ("create", "forget", "verify")


@dataclass
class Job:
    name: str
    target: str
    repo: str
    collections: list[str] = field(default_factory=list)
    api_key_env: str | None = None
    create: str | None = None
    forget: str | None = None
    verify: str | None = None
    verify_full: bool = False
    native: bool = True  # what each backup holds (crewchief backup create --no-native ...)
    portable: bool = True
    keep: Policy = field(default_factory=Policy)

    def cron(self, action: str) -> str | None:
        value: str | None = getattr(self, action)
        return value


def load_config(path: Path) -> list[Job]:
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(
            f"Cannot read schedule {path}: {exc}", hint="See docs/backups.md"
        ) from exc
    jobs = []
    for i, table in enumerate(raw.get("jobs", [])):
        where = f"{path}: jobs[{i}]"
        try:
            keep = Policy(**table.pop("keep", {}))
            job = Job(**table, keep=keep)
        except TypeError as exc:
            raise InvalidInput(f"{where}: {exc}", hint="See docs/backups.md for the keys") from exc
        for action in ACTIONS:
            expr = job.cron(action)
            if expr is not None and not croniter.is_valid(expr):
                raise InvalidInput(f"{where}: bad cron expression {action} = {expr!r}")
        if not job.native and not job.portable:
            raise InvalidInput(f"{where}: `native` and `portable` are both false")
        if job.forget and job.keep.empty:
            raise InvalidInput(f"{where}: `forget` needs a [jobs.keep] policy")
        jobs.append(job)
    if not jobs:
        raise InvalidInput(f"{path} defines no [[jobs]]", hint="See docs/backups.md")
    return jobs


class Scheduler:
    def __init__(self, jobs: list[Job], now: datetime | None = None) -> None:
        self.jobs = jobs
        start = now or datetime.now(UTC)
        self.next: dict[tuple[str, str], datetime] = {}
        for job in jobs:
            for action in ACTIONS:
                expr = job.cron(action)
                if expr:
                    self.next[(job.name, action)] = croniter(expr, start).get_next(datetime)

    def next_due(self) -> datetime | None:
        return min(self.next.values(), default=None)

    def plan(self, job: Job) -> dict[str, dict[str, str]]:
        """The job's cron expressions and the next run of each action, as recorded."""
        return {
            "schedule": {a: expr for a in ACTIONS if (expr := job.cron(a))},
            "next_run": {
                a: self.next[(job.name, a)].isoformat()
                for a in ACTIONS
                if (job.name, a) in self.next
            },
        }

    def publish(self, jobs: list[Job] | None = None) -> None:
        """Record the plan of `jobs` (default: all) in their state files."""
        for job in self.jobs if jobs is None else jobs:
            repo = None
            try:
                repo = Repository.open(job.repo, create=True)
                key = f"schedule/{job.name}.json"
                state = repo.record(key) or {"job": job.name}
                repo.put_record(key, {**state, **self.plan(job)})
            except Exception as exc:  # an unreachable repository must not stop the loop
                log.error("job %s: could not record the schedule: %s", job.name, exc)
            finally:
                if repo is not None:
                    repo.close()

    def tick(self, now: datetime) -> list[dict[str, Any]]:
        """Run every action due at `now` (each once), after scheduling its next run."""
        outcomes = []
        for job in self.jobs:
            due = [
                a for a in ACTIONS if (job.name, a) in self.next and self.next[(job.name, a)] <= now
            ]
            for action in due:
                expr = job.cron(action)
                assert expr is not None
                self.next[(job.name, action)] = croniter(expr, now).get_next(datetime)
            if due:
                self.publish([job])
            outcomes += [run_action(job, action) for action in due]
        return outcomes

    def run_forever(self, stop: threading.Event) -> None:
        limit_malloc_arenas()
        self.publish()
        while not stop.is_set():
            due = self.next_due()
            if due is None:
                return
            wait = (due - datetime.now(UTC)).total_seconds()
            if wait > 0 and stop.wait(min(wait, 60.0)):
                return
            self.tick(datetime.now(UTC))


def run_action(job: Job, action: str) -> dict[str, Any]:
    """Run one action; record and log the outcome; never raise."""
    started = datetime.now(UTC).isoformat()
    outcome: dict[str, Any] = {"job": job.name, "action": action, "time": started}
    repo = None
    try:
        repo = Repository.open(job.repo, create=True)
        if action == "create":
            api_key = os.environ.get(job.api_key_env) if job.api_key_env else None
            with open_target(job.target, api_key) as target:
                manifest = create_backup(
                    target, repo, job.collections or None, job.native, portable=job.portable
                )
            outcome["backup"] = manifest.id
        elif action == "forget":
            result = forget(repo, job.keep)
            outcome["removed"] = result.removed
        else:
            ids = repo.backup_ids()
            if not ids:
                raise InvalidInput("nothing to verify: the repository has no backup yet")
            verdict = verify_backup(repo, ids[-1], full=job.verify_full)
            outcome["verify"] = verdict
            if not verdict["ok"]:
                raise InvalidInput(f"verify of {ids[-1]} failed: {verdict['problems'][:3]}")
        outcome["ok"] = True
        log.info("job %s: %s done", job.name, action)
    except Exception as exc:  # the loop must go on; the failure is recorded and shown
        outcome["ok"] = False
        outcome["error"] = f"{type(exc).__name__}: {exc}"
        log.error("job %s: %s failed: %s", job.name, action, outcome["error"])
    finally:
        if repo is not None:
            _record(repo, job.name, outcome)
            repo.close()
    return outcome


def _record(repo: Repository, job: str, outcome: dict[str, Any]) -> None:
    try:
        key = f"schedule/{job}.json"
        state = repo.record(key) or {"job": job}
        if outcome["ok"]:
            state.setdefault("last_success", {})[outcome["action"]] = outcome["time"]
        else:
            state["last_failure"] = {k: outcome[k] for k in ("time", "action", "error")}
        if "verify" in outcome:
            state["last_verify"] = outcome["verify"]
        repo.put_record(key, state)
    except Exception as exc:  # recording must not stop the loop either
        log.error("job %s: could not record the outcome: %s", job, exc)
