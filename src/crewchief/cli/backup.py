"""`crewchief backup ...`: create, list, show, restore, verify, forget, schedule."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from crewchief.cli.common import (
    ApiKeyOpt,
    DryRunOpt,
    JsonOpt,
    TargetOpt,
    connect,
    err,
    friendly_errors,
    lazy,
    out,
    print_json,
)
from crewchief.errors import SnapshotCorrupt

if TYPE_CHECKING:
    from crewchief.backup import backups
    from crewchief.backup import forget as forget_mod
    from crewchief.backup import schedule as schedule_mod
    from crewchief.backup.policy import Policy
    from crewchief.backup.repository import Repository
else:
    backups = lazy("crewchief.backup.backups")
    forget_mod = lazy("crewchief.backup.forget")
    schedule_mod = lazy("crewchief.backup.schedule")
    Policy = lazy("crewchief.backup.policy", "Policy")
    Repository = lazy("crewchief.backup.repository", "Repository")

app = typer.Typer(help="Backups you can trust: a repository, retention, verification, restore.")

RepoOpt = typer.Option(
    ..., "--repo", envvar="CREWCHIEF_REPO", help="A path, file:// or s3://bucket/prefix."
)


def _say(line: str) -> None:
    err.print(line, highlight=False)


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n = n / 1024  # type: ignore[assignment]
    return str(n)


@app.command()
@friendly_errors
def create(
    collections: list[str] = typer.Argument(None, help="Collections to back up."),
    all_: bool = typer.Option(False, "--all", help="Every collection."),
    repo: str = RepoOpt,
    no_native: bool = typer.Option(False, "--no-native", help="Portable export only."),
    no_portable: bool = typer.Option(
        False,
        "--no-portable",
        help="Native snapshot only: incremental (a 1% change adds ~3%), restorable onto "
        "the same kind of engine only.",
    ),
    target: str = TargetOpt,
    api_key: str = ApiKeyOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Back up collections (native snapshot + portable export + config + aliases)."""
    if not collections and not all_:
        raise typer.BadParameter("name collections, or pass --all")
    repository = Repository.open(repo, create=True)
    with connect(target, api_key) as tgt:
        manifest = backups.create_backup(
            tgt,
            repository,
            collections or None,
            native=not no_native,
            portable=not no_portable,
            say=_say,
        )
    if as_json:
        print_json(manifest.to_json())
        return
    s = manifest.stats.to_json()
    out.print(
        f"backup {manifest.id}: {', '.join(manifest.collections)}; "
        f"{_size(s['bytes_total'])} referenced, {_size(s['bytes_new'])} new "
        f"(dedup ratio {s['dedup_ratio']})",
        highlight=False,
    )


@app.command("list")
@friendly_errors
def list_(repo: str = RepoOpt, as_json: bool = JsonOpt) -> None:
    """Every complete backup in the repository, oldest first."""
    repository = Repository.open(repo)
    manifests = repository.manifests()
    verified = {m.id: repository.record(f"verify/{m.id}.json") for m in manifests}
    if as_json:
        print_json(
            [
                {
                    "id": m.id,
                    "created": m.created,
                    "collections": list(m.collections),
                    "stats": m.stats.to_json(),
                    "verify": verified[m.id],
                }
                for m in manifests
            ]
        )
        return
    table = Table()
    for col in ("id", "created", "collections", "points", "new bytes", "verified"):
        table.add_column(col)
    for m in manifests:
        v = verified[m.id]
        verdict = "-" if v is None else f"{'ok' if v['ok'] else 'FAILED'} ({v['mode']})"
        points = sum(c.points for c in m.collections.values())
        table.add_row(
            m.id,
            m.created[:19],
            ", ".join(m.collections),
            str(points),
            _size(m.stats.bytes_new),
            verdict,
        )
    out.print(table)


@app.command()
@friendly_errors
def show(backup_id: str, repo: str = RepoOpt) -> None:
    """The manifest of one backup (JSON)."""
    print_json(Repository.open(repo).manifest(backup_id).to_json())


@app.command()
@friendly_errors
def restore(
    backup_id: str,
    repo: str = RepoOpt,
    to: str = typer.Option(..., "--to", help="Target to restore onto (directory or URL)."),
    api_key: str = ApiKeyOpt,
    collection: list[str] = typer.Option(None, "--collection", help="Only these collections."),
    as_name: str = typer.Option(None, "--as", help="New name (one collection)."),
    with_aliases: bool = typer.Option(False, "--with-aliases", help="Re-point the aliases."),
    fmt: str = typer.Option("auto", "--format", help="auto, native or portable."),
    as_json: bool = JsonOpt,
) -> None:
    """Restore a backup onto any target; a taken name gets a new one unless --as."""
    if fmt not in ("auto", "native", "portable"):
        raise typer.BadParameter("--format is auto, native or portable")
    repository = Repository.open(repo)
    with connect(to, api_key, create=True) as tgt:
        restored = backups.restore_backup(
            repository, backup_id, tgt, collection or None, as_name, with_aliases, fmt, say=_say
        )
    if as_json:
        print_json(restored)
    else:
        for old, new in restored.items():
            out.print(f"restored `{old}` as `{new}`")


@app.command()
@friendly_errors
def verify(
    backup_id: str = typer.Argument(None, help="One backup (default: --all)."),
    all_: bool = typer.Option(False, "--all", help="Every backup."),
    full: bool = typer.Option(False, "--full", help="Also restore and compare queries."),
    repo: str = RepoOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Check a backup: objects and checksums; --full also restores it and replays queries."""
    repository = Repository.open(repo)
    ids = [backup_id] if backup_id and not all_ else repository.backup_ids()
    results = [backups.verify_backup(repository, i, full=full, say=_say) for i in ids]
    if as_json:
        print_json(results)
    else:
        for r in results:
            mark = "[green]ok[/]" if r["ok"] else "[red]FAILED[/]"
            out.print(f"{r['id']}: {mark} ({r['mode']}, {r['objects']} objects)")
            for p in r["problems"]:
                out.print(f"  - {p}", highlight=False)
    if not all(r["ok"] for r in results):
        raise typer.Exit(SnapshotCorrupt.exit_code)  # a failed verify: corrupt data


@app.command("forget")
@friendly_errors
def forget_(
    repo: str = RepoOpt,
    keep_last: int = typer.Option(0, "--keep-last"),
    keep_hourly: int = typer.Option(0, "--keep-hourly"),
    keep_daily: int = typer.Option(0, "--keep-daily"),
    keep_weekly: int = typer.Option(0, "--keep-weekly"),
    keep_monthly: int = typer.Option(0, "--keep-monthly"),
    unsafe_allow_remove_all: bool = typer.Option(
        False,
        "--unsafe-allow-remove-all",
        help="With no --keep-* option, remove every backup.",
    ),
    dry_run: bool = DryRunOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Remove backups the policy does not keep, then prune unreferenced chunks.  Refuses
    (and removes nothing) without a policy.  A --keep-* count of -1 means unlimited."""
    policy = Policy(keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly)
    result = forget_mod.forget(
        Repository.open(repo), policy, dry_run=dry_run, allow_remove_all=unsafe_allow_remove_all
    )
    if as_json:
        print_json(result.to_json())
        return
    for d in result.decisions:
        verb = "keep  " if d.keep else ("would remove" if dry_run else "remove")
        out.print(f"{verb} {d.id}: {'; '.join(d.reasons)}", highlight=False)
    if not dry_run:
        out.print(f"pruned {result.pruned_objects} unreferenced objects")
        if result.prune_skipped:
            out.print(f"[yellow]{result.prune_skipped}[/]")


@app.command()
@friendly_errors
def schedule(
    config: Path = typer.Option(..., "--config", help="TOML file with [[jobs]]."),
    once: bool = typer.Option(False, "--once", help="Run every action of every job once."),
) -> None:
    """Run backup jobs on their cron schedules until stopped (SIGINT/SIGTERM)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    jobs = schedule_mod.load_config(config)
    if once:
        outcomes = [
            schedule_mod.run_action(j, a) for j in jobs for a in schedule_mod.ACTIONS if j.cron(a)
        ]
        print_json(outcomes)
        if not all(o["ok"] for o in outcomes):
            raise typer.Exit(1)
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    scheduler = schedule_mod.Scheduler(jobs)
    err.print(f"crewchief schedule: {len(jobs)} jobs; next run {scheduler.next_due()}")
    scheduler.run_forever(stop)
