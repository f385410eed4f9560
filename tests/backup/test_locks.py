"""The lock a backup holds while it runs: live, dead and foreign."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from crewchief.backup.forget import prune
from crewchief.backup.repository import HOST, LOCK_STALE_SECONDS, Repository


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def write_lock(repo: Repository, backup_id: str, **fields: object) -> None:
    repo.put_record(f"locks/{backup_id}.json", {"id": backup_id, **fields})


def test_a_live_lock_blocks_prune_and_a_dead_process_lock_is_removed(tmp_path: Path) -> None:
    repo = Repository.open(str(tmp_path / "repo"), create=True)
    repo.storage.put("objects/ab/abcd", b"unreferenced")
    repo.lock("running")  # this process: alive
    assert repo.active_locks() == ["running"]
    pruned, skipped = prune(repo)
    assert (pruned, repo.storage.exists("objects/ab/abcd")) == (0, True)
    assert skipped is not None and "running" in skipped

    repo.storage.delete("locks/running.json")
    write_lock(repo, "killed", since=time.time(), host=HOST, pid=dead_pid())
    assert repo.active_locks() == []
    pruned, skipped = prune(repo)
    assert (pruned, skipped) == (1, None)
    assert list(repo.storage.list("locks/")) == []


def test_another_hosts_lock_counts_until_it_is_an_hour_old(tmp_path: Path) -> None:
    repo = Repository.open(str(tmp_path / "repo"), create=True)
    write_lock(repo, "elsewhere", since=time.time(), host="other-host", pid=dead_pid())
    write_lock(repo, "old", since=time.time() - LOCK_STALE_SECONDS - 1, host="other-host", pid=1)
    write_lock(repo, "legacy", since=time.time())  # written before locks named their process
    assert sorted(repo.active_locks()) == ["elsewhere", "legacy"]
    assert repo.remove_stale_locks() == ["old"]
    assert sorted(repo.storage.list("locks/")) == ["locks/elsewhere.json", "locks/legacy.json"]
