"""Backups on S3, after a crash, on a schedule, and from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crewchief.backup.backups import create_backup, restore_backup, verify_backup
from crewchief.backup.policy import Policy
from crewchief.backup.repository import Repository
from crewchief.backup.schedule import Job, Scheduler, load_config
from crewchief.backup.state import job_failing, read_backup_state
from crewchief.errors import InvalidInput
from crewchief.target import EmbeddedTarget
from tests.helpers import fill

ROOT = Path(__file__).resolve().parents[2]


def test_s3_round_trip(tmp_path: Path, s3_url: tuple[str, str]) -> None:
    url, endpoint = s3_url
    repo = Repository.open(f"{url}/roundtrip", create=True, endpoint_url=endpoint)
    with EmbeddedTarget(tmp_path / "src") as src:
        fill(src.client, "c", n=300, dim=8)
        manifest = create_backup(src, repo, ["c"])
        assert verify_backup(repo, manifest.id, full=True)["ok"]
        restored = restore_backup(repo, manifest.id, src, as_name="c_copy")
        assert src.client.count(restored["c"]).count == 300


def test_kill_9_during_backup_lists_no_partial_backup(tmp_path: Path) -> None:
    data, repo_dir = tmp_path / "data", tmp_path / "repo"
    with EmbeddedTarget(data) as src:
        fill(src.client, "c", n=3000, dim=64)
    repo = Repository.open(str(repo_dir), create=True)
    with EmbeddedTarget(data) as src:
        good = create_backup(src, repo, ["c"]).id
    for delay in (0.3, 0.8, 1.5):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "crewchief.cli.main",
                "backup",
                "create",
                "c",
                "--repo",
                str(repo_dir),
                "--target",
                str(data),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ids = Repository.open(str(repo_dir)).backup_ids()
        assert good in ids
        for backup_id in ids:  # whatever is listed is whole
            assert verify_backup(Repository.open(str(repo_dir)), backup_id)["ok"]


def test_scheduler_runs_due_actions_and_survives_failures(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with EmbeddedTarget(data) as src:
        fill(src.client, "c", n=50, dim=4)
    repo_url = str(tmp_path / "repo")
    good = Job(
        "good",
        str(data),
        repo_url,
        create="*/5 * * * *",
        forget="0 * * * *",
        verify="30 * * * *",
        verify_full=True,
        keep=Policy(last=2),
    )
    broken = Job(
        "broken",
        str(tmp_path / "missing" / "x"),
        repo_url,
        collections=["nope"],
        create="*/5 * * * *",
    )
    t0 = datetime(2026, 11, 24, 10, 58, tzinfo=UTC)
    sched = Scheduler([good, broken], now=t0)
    assert sched.next_due() == t0 + timedelta(minutes=2)
    assert sched.tick(t0 + timedelta(minutes=1)) == []  # nothing due yet
    outcomes = []
    for minute in range(2, 64):  # until 12:01
        outcomes += sched.tick(t0 + timedelta(minutes=minute))
    creates = [o for o in outcomes if o["job"] == "good" and o["action"] == "create"]
    assert len(creates) == 13 and all(o["ok"] for o in creates)  # 11:00 ... 12:00
    failures = [o for o in outcomes if o["job"] == "broken"]
    assert failures and not any(o["ok"] for o in failures)  # recorded, and the loop went on
    repo = Repository.open(repo_url)
    assert len(repo.backup_ids()) == 2  # the forget at 12:00 kept the last 2
    state = repo.record("schedule/good.json")
    assert state and state["last_verify"]["ok"] and "create" in state["last_success"]
    broken_state = repo.record("schedule/broken.json")
    assert broken_state and "No data directory" in broken_state["last_failure"]["error"]


def test_the_state_file_holds_each_jobs_schedule_and_next_runs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with EmbeddedTarget(data) as src:
        fill(src.client, "c", n=20, dim=4)
    repo_url = str(tmp_path / "repo")
    repo = Repository.open(repo_url, create=True)
    old = {"job": "nightly", "last_success": {"forget": "2026-11-23T03:30:00+00:00"}}
    repo.put_record("schedule/nightly.json", old)  # written before states held a plan
    assert job_failing(read_backup_state(repo).jobs["nightly"]) is None

    job = Job("nightly", str(data), repo_url, create="0 3 * * *", verify="0 5 * * 0")
    t0 = datetime(2026, 11, 24, 2, 50, tzinfo=UTC)  # a Tuesday
    sched = Scheduler([job], now=t0)
    stop = threading.Event()
    stop.set()
    sched.run_forever(stop)  # the loop records the plan as it starts
    state = repo.record("schedule/nightly.json")
    assert state == {
        **old,
        "schedule": {"create": "0 3 * * *", "verify": "0 5 * * 0"},
        "next_run": {"create": "2026-11-24T03:00:00+00:00", "verify": "2026-11-29T05:00:00+00:00"},
    }

    (outcome,) = sched.tick(t0 + timedelta(minutes=10))  # 03:00: the create runs
    assert outcome["ok"], outcome
    state = repo.record("schedule/nightly.json")
    assert state is not None
    assert state["next_run"] == {
        "create": "2026-11-25T03:00:00+00:00",
        "verify": "2026-11-29T05:00:00+00:00",
    }
    assert state["last_success"] == {
        "forget": old["last_success"]["forget"],
        "create": outcome["time"],
    }

    job.verify = None  # the config changed: the next start records the new plan
    Scheduler([job], now=t0 + timedelta(hours=1)).publish()
    read = read_backup_state(Repository.open(repo_url)).jobs["nightly"]
    assert read["schedule"] == {"create": "0 3 * * *"}
    assert read["next_run"] == {"create": "2026-11-25T03:00:00+00:00"}
    assert "create" in read["last_success"] and job_failing(read) is None


def test_schedule_config_is_validated(tmp_path: Path) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text('[[jobs]]\nname="a"\ntarget="d"\nrepo="r"\ncreate="61 * * * *"\n')
    with pytest.raises(InvalidInput, match="bad cron"):
        load_config(cfg)
    cfg.write_text('[[jobs]]\nname="a"\ntarget="d"\nrepo="r"\nforget="0 * * * *"\n')
    with pytest.raises(InvalidInput, match="keep"):
        load_config(cfg)
    cfg.write_text(
        '[[jobs]]\nname="a"\ntarget="d"\nrepo="r"\ncreate="0 3 * * *"\n[jobs.keep]\nlast=3\n'
    )
    assert load_config(cfg)[0].keep == Policy(last=3)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crewchief.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_backup_cli(tmp_path: Path) -> None:
    data, repo = str(tmp_path / "data"), str(tmp_path / "repo")
    with EmbeddedTarget(tmp_path / "data") as src:
        fill(src.client, "c", n=100, dim=4)
    made = cli("backup", "create", "--all", "--repo", repo, "--target", data, "--json")
    assert made.returncode == 0, made.stderr
    backup_id = json.loads(made.stdout)["id"]
    listed = json.loads(cli("backup", "list", "--repo", repo, "--json").stdout)
    assert [b["id"] for b in listed] == [backup_id]
    verified = cli("backup", "verify", "--all", "--full", "--repo", repo)
    assert verified.returncode == 0 and "ok" in verified.stdout
    restored = cli("backup", "restore", backup_id, "--repo", repo, "--to", str(tmp_path / "new"))
    assert restored.returncode == 0 and "restored `c` as `c`" in restored.stdout
    no_policy = cli("backup", "forget", "--repo", repo)
    assert no_policy.returncode == 64 and "No retention policy" in no_policy.stderr
    kept = cli("backup", "forget", "--keep-last", "1", "--repo", repo, "--dry-run")
    assert kept.returncode == 0 and "keep" in kept.stdout
    missing = cli("backup", "show", "nope", "--repo", repo)
    assert missing.returncode == 66 and "hint:" in missing.stderr


def test_forget_cli_removes_everything_only_with_the_unsafe_flag(tmp_path: Path) -> None:
    repo = str(tmp_path / "repo")
    with EmbeddedTarget(tmp_path / "data") as src:
        fill(src.client, "c", n=50, dim=4)
        ids = [create_backup(src, Repository.open(repo, create=True), ["c"]).id]
        fill(src.client, "d", n=50, dim=4)
        ids.append(create_backup(src, Repository.open(repo), ["d"]).id)
    objects = set(Repository.open(repo).object_digests())
    no_policy = cli("backup", "forget", "--repo", repo)
    assert no_policy.returncode == 64 and "No retention policy" in no_policy.stderr
    assert "--unsafe-allow-remove-all" in no_policy.stderr  # the hint names the way out
    unlimited = cli("backup", "forget", "--keep-daily", "-1", "--json", "--repo", repo)
    assert unlimited.returncode == 0 and json.loads(unlimited.stdout)["removed"] == []
    not_a_count = cli("backup", "forget", "--keep-last", "-3", "--repo", repo)
    assert not_a_count.returncode == 64 and "-1 for unlimited" in not_a_count.stderr
    unchanged = Repository.open(repo)
    assert unchanged.backup_ids() == ids and set(unchanged.object_digests()) == objects
    dry = cli("backup", "forget", "--unsafe-allow-remove-all", "--dry-run", "--repo", repo)
    assert dry.returncode == 0 and dry.stdout.count("would remove") == 2, dry.stderr
    assert Repository.open(repo).backup_ids() == ids
    gone = cli("backup", "forget", "--unsafe-allow-remove-all", "--json", "--repo", repo)
    assert gone.returncode == 0, gone.stderr
    assert sorted(json.loads(gone.stdout)["removed"]) == ids
    emptied = Repository.open(repo)
    assert emptied.backup_ids() == [] and list(emptied.object_digests()) == []


def test_status_shows_backups_verification_and_failing_jobs(tmp_path: Path) -> None:
    from crewchief.backup.schedule import run_action
    from crewchief.ops.health import assess, gather

    repo_url = str(tmp_path / "repo")
    with EmbeddedTarget(tmp_path / "data") as tgt:
        fill(tgt.client, "c", n=40, dim=4)

        def backup_indicator() -> tuple[str, str, int]:
            report = assess(gather(tgt, backups=read_backup_state(Repository.open(repo_url))))
            ind = next(i for i in report.indicators if i.name == "backup")
            return ind.status, ind.symptom, report.exit_code

        Repository.open(repo_url, create=True)
        assert backup_indicator()[:2] == ("yellow", f"no backup in {repo_url}")
        repo = Repository.open(repo_url)
        manifest = create_backup(tgt, repo, ["c"])
        status, symptom, _ = backup_indicator()
        assert status == "yellow" and "never verified" in symptom
        verify_backup(repo, manifest.id, full=True)
        assert backup_indicator()[0] == "green"
        from tests.backup.rot import rot_chunk

        rot_chunk(repo, manifest.collections["c"].portable[0].chunks[0][0])
        verify_backup(repo, manifest.id)
        status, symptom, code = backup_indicator()
        assert status == "red" and "FAILED" in symptom and code == 2

    failing = Job("nightly", str(tmp_path / "nowhere"), repo_url, create="0 3 * * *")
    run_action(failing, "create")
    with EmbeddedTarget(tmp_path / "data") as tgt:
        report = assess(gather(tgt, backups=read_backup_state(Repository.open(repo_url))))
        job = next(i for i in report.indicators if i.name == "backup_job")
        assert job.status == "red" and "No data directory" in job.symptom


def test_metrics_report_backups_of_the_configured_repository(tmp_path: Path) -> None:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    from crewchief.target import ServeTarget
    from tests.server.serverproc import start_server

    repo_url = str(tmp_path / "repo")
    server = start_server(tmp_path / "data", "--repo", repo_url)
    try:
        target = ServeTarget(server.url)
        fill(target.client, "c", n=30, dim=4)
        repo = Repository.open(repo_url, create=True)
        manifest = create_backup(target, repo, ["c"])
        target.close()
        text = httpx.get(f"{server.url}/metrics").text
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
        }
        assert samples[("crewchief_backup_repository_up", ())] == 1
        assert samples[("crewchief_backup_verified", (("collection", "c"),))] == -1  # not yet
        verify_backup(repo, manifest.id)
        text = httpx.get(f"{server.url}/metrics").text
        assert 'crewchief_backup_verified{collection="c"} 1.0' in text
        assert 'crewchief_last_backup_timestamp_seconds{collection="c"}' in text
    finally:
        server.stop()
