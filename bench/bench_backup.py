"""Backup and restore throughput vs GNU tar, and what a second backup stores (issues 5, 16).

    python bench/bench_backup.py [--points 100000] [--dim 384] [--json PATH] [--seed 0]
        [--change 0.01]

One embedded engine (temp dir) holds a collection of `embedding_like` points with movie
payloads, indexed (green).  Its shard folder is flushed; the reference is GNU tar of that
folder (`tar -S -cf`, and `tar -xf` to restore), timed in the same run on the same disk.
Then, into local repositories in the temp dir: `create_backup(portable=False)` (what
`crewchief backup create --no-portable` runs: the native copy only, the shard's files read
in place, manifest format 3) into an empty one; the same done the format-2 way (before
2026-12-01: the engine's snapshot archive, chunked) into another, both restored; and
`create_backup` (native snapshot + portable export) into another (content-defined chunks
in packs, every pack fsynced); `restore_backup` as a new name from the native snapshot and
from the portable export; a second backup after re-upserting `--change` of the points
(random ids, new vectors) and a third of the unchanged collection.  New bytes per part
are found by comparing each manifest's chunks with the earlier ones; "repository growth"
is what the repository's files (packs, index, manifest) grew on disk.
MB = 10^6 bytes; "shard data" = bytes the flushed shard folder occupies on disk.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import benchlib  # this folder, on sys.path when run as a script
import numpy as np
from qdrant_client import models

from crewchief.backup import shardfiles
from crewchief.backup.backups import _describe, _native, create_backup, restore_backup
from crewchief.backup.manifest import BackupManifest, BackupSource, UploadStats
from crewchief.backup.portable import export_collection
from crewchief.backup.repository import Repository, new_backup_id
from crewchief.datasets import embedding_like, movie_payload
from crewchief.fsutil import staging_dir
from crewchief.target import EmbeddedTarget

OPTIONS = dict(points=100_000, dim=384, seed=0, change=0.01)
MB = 1e6


def machine_info() -> dict:
    tar = subprocess.run(["tar", "--version"], capture_output=True, text=True).stdout
    return benchlib.machine_info("pyarrow") | {"tar": tar.splitlines()[0]}


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0


def disk_bytes(root: Path) -> dict:
    stats = [p.stat() for p in root.rglob("*") if p.is_file()]
    disk = sum(s.st_blocks * 512 for s in stats)
    return {"apparent": sum(s.st_size for s in stats), "disk": disk}


def wait_green(target: EmbeddedTarget, name: str) -> dict:
    while (info := target.client.get_collection(name)).status != models.CollectionStatus.GREEN:
        assert info.status != models.CollectionStatus.RED, info.optimizer_status
        time.sleep(0.2)
    return {"points": info.points_count, "indexed": info.indexed_vectors_count}


def upsert(target: EmbeddedTarget, ids: np.ndarray, vectors: np.ndarray) -> None:
    for lo in range(0, len(ids), 1000):
        chunk = [int(i) for i in ids[lo : lo + 1000]]
        batch = models.Batch(
            ids=chunk,
            vectors=vectors[lo : lo + 1000].tolist(),
            payloads=[movie_payload(i) for i in chunk],
        )
        target.client.upsert("bench", batch)


def tar_reference(shard: Path, work: Path) -> dict:
    archive, out = work / "shard.tar", work / "untar"
    _, create_s = timed(subprocess.run, ["tar", "-S", "-cf", archive, "-C", shard, "."], check=True)
    fd = os.open(archive, os.O_RDONLY)
    _, fsync_s = timed(os.fsync, fd)  # what making the archive durable costs on top
    os.close(fd)
    out.mkdir()
    _, extract_s = timed(subprocess.run, ["tar", "-xf", archive, "-C", out], check=True)
    res = {"create_s": create_s, "fsync_s": fsync_s, "extract_s": extract_s}
    res["tar_bytes"] = archive.stat().st_size
    archive.unlink()
    shutil.rmtree(out)
    return res


def format_2_backup(target: EmbeddedTarget, repo: Repository) -> BackupManifest:
    """A native-only backup as `create_backup` took it before format 3: the engine's
    snapshot archive (sparse copy, tar, SHA-256, fsync), chunked and packed."""
    stats = UploadStats()
    with staging_dir("bench") as work:
        entry = _describe(target, "bench", [])
        entry.native = _native(target, "bench", repo, work, stats)
    source = BackupSource(target.kind, target.location)
    created = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    manifest = BackupManifest(new_backup_id(), created, source, {"bench": entry}, {}, stats, 2)
    repo.put_manifest(manifest)
    return manifest


def new_bytes(manifest: BackupManifest, known: set[str]) -> dict:
    """Per part: bytes the manifest references, and bytes of its chunks not in `known`."""
    entry = manifest.collections["bench"]
    assert entry.native is not None and entry.portable is not None
    parts = {
        "native": [c for f in entry.native.all_files() for c in f.chunks],
        "portable": [c for f in entry.portable for c in f.chunks],
    }
    out = {}
    for part, chunks in parts.items():
        fresh = {h: n for h, n in chunks if h not in known}  # each new chunk stored once
        out[part] = {"referenced": sum(n for _, n in chunks), "new": sum(fresh.values())}
    return out


def restore(repo: Repository, backup_id: str, target: EmbeddedTarget, fmt: str, n: int):
    name = f"restored_{fmt}"
    _, seconds = timed(restore_backup, repo, backup_id, target, as_name=name, fmt=fmt)
    count = target.client.count(name, exact=True).count
    assert count == n, f"{name}: {count} points restored, {n} backed up"
    (after, green_s) = timed(wait_green, target, name)
    target.client.delete_collection(name)
    return {"seconds": seconds, "then_green_s": green_s, **after}


def run(args, tmp: Path) -> dict:
    n = args.points
    data = embedding_like(n, args.dim, seed=args.seed)
    res: dict = {}
    target = EmbeddedTarget(tmp / "engine")
    try:
        print("fill and index the collection ...", flush=True)
        params = models.VectorParams(size=args.dim, distance=models.Distance.COSINE)
        target.client.create_collection("bench", vectors_config=params)
        upsert(target, np.arange(n), data)
        target.optimize("bench")
        res["collection"] = wait_green(target, "bench")
        col = target.engine.collection("bench")
        col.flush()
        res["shard"] = disk_bytes(col.shard_dir)
        print("tar reference ...", flush=True)
        res["tar"] = tar_reference(col.shard_dir, tmp)
        print("native-only backup and restore ...", flush=True)
        native_repo = Repository.open(str(tmp / "repo-native"), create=True)
        m0, s0 = timed(create_backup, target, native_repo, ["bench"], portable=False)
        r0 = restore(native_repo, m0.id, target, "native", n)
        res["native_only"] = {"backup_s": s0, "restore": r0, "stats": m0.stats.to_json()}
        res["native_only"]["repo"] = disk_bytes(tmp / "repo-native")
        shutil.rmtree(tmp / "repo-native")
        print("the same, format 2 (before) ...", flush=True)
        old_repo = Repository.open(str(tmp / "repo-format-2"), create=True)
        m_old, s_old = timed(format_2_backup, target, old_repo)
        r_old = restore(old_repo, m_old.id, target, "native", n)
        res["format_2"] = {"backup_s": s_old, "restore": r_old, "stats": m_old.stats.to_json()}
        shutil.rmtree(tmp / "repo-format-2")
        repo = Repository.open(str(tmp / "repo"), create=True)
        print("backup #1, parts alone, restores ...", flush=True)
        m1, s1 = timed(create_backup, target, repo, ["bench"])
        grown = [disk_bytes(tmp / "repo")["disk"]]
        scratch = Repository.open(str(tmp / "scratch-repo"), create=True)

        def store() -> None:  # what writes wait for, probes aside
            with shardfiles.held(target, "bench") as root:
                shardfiles.store_shard(scratch, root, target.native_kind, UploadStats())
                scratch.commit_pending()  # its packs stored, fsynced and indexed

        _, store_s = timed(store)
        alone = {"store_shard_s": store_s}
        shutil.rmtree(tmp / "scratch-repo")
        _, export_s = timed(export_collection, target.client, "bench", tmp / "export")
        alone["export_collection_s"] = export_s
        res["parts_alone"] = alone
        res["restore"] = {f: restore(repo, m1.id, target, f, n) for f in ("native", "portable")}
        backups = [{"label": "#1 first", "seconds": s1, "manifest": m1}]
        print(f"backup #2 after re-upserting {args.change:.0%} of the points ...", flush=True)
        rng = np.random.default_rng(args.seed + 1)
        ids = np.sort(rng.choice(n, int(n * args.change), replace=False))
        upsert(target, ids, embedding_like(len(ids), args.dim, seed=args.seed + 2))
        m2, s2 = timed(create_backup, target, repo, ["bench"])
        grown.append(disk_bytes(tmp / "repo")["disk"])
        label = f"#2 after {len(ids):,} points changed"
        backups.append({"label": label, "seconds": s2, "manifest": m2})
        print("backup #3 of the unchanged collection ...", flush=True)
        m3, s3 = timed(create_backup, target, repo, ["bench"])
        grown.append(disk_bytes(tmp / "repo")["disk"])
        backups.append({"label": "#3 unchanged", "seconds": s3, "manifest": m3})
        for b, before, after in zip(backups, [0, *grown], grown, strict=False):
            b["repo_growth"] = after - before
        known: set[str] = set()
        for b in backups:
            manifest = b.pop("manifest")
            b |= {"parts": new_bytes(manifest, known), "stats": manifest.stats.to_json()}
            known |= manifest.referenced_digests()
        res["backups"] = backups
        res["repo"] = disk_bytes(tmp / "repo")
    finally:
        target.close()
    return res


def report(res: dict) -> str:
    m, v, n = res["machine"], res["machine"]["versions"], res["points"]
    shard, tar = res["shard"]["disk"], res["tar"]
    b1, r = res["backups"][0], res["restore"]
    lines = [
        f"# {n:,} x {res['dim']} embedding-like vectors + movie payloads, indexed; shard "
        f"folder {shard / MB:,.1f} MB on disk ({res['shard']['apparent'] / MB:,.1f} MB "
        f"apparent, sparse); {res['collection']['indexed']:,} of {res['collection']['points']:,}"
        " vectors indexed; local repository on the same disk",
        f"# {m['date']} | {m['cpu']} | {m['cores']} cores | {m['ram_gb']} GB RAM | Python "
        f"{m['python']} | qdrant-edge-py {v['qdrant-edge-py']} | pyarrow {v['pyarrow']} | "
        f"{m['tar']} | load avg at start {m['load_at_start'][0]:.2f}, at end "
        f"{m['load_at_end'][0]:.2f}",
        "",
        "| operation | seconds | MB/s of shard data | points/s | speed vs tar |",
        "|---|---:|---:|---:|---:|",
    ]
    native = res["native_only"]
    rows = [
        ("`tar -S -cf` of the flushed shard folder (reference)", tar["create_s"], tar["create_s"]),
        ("`tar -S -cf` + fsync of the archive", tar["create_s"] + tar["fsync_s"], tar["create_s"]),
        ("crewchief `create_backup`, native only (`--no-portable`), empty repository",
         native["backup_s"], tar["create_s"]),
        ("  the same, format 2 (before: snapshot archive, chunked)", res["format_2"]["backup_s"],
         tar["create_s"]),
        ("  part alone: shard files held, chunked, hashed, packed, fsynced",
         res["parts_alone"]["store_shard_s"], tar["create_s"]),
        ("crewchief `create_backup` (native + portable, fsynced)", b1["seconds"], tar["create_s"]),
        ("  part alone: `export_collection` (portable)",
         res["parts_alone"]["export_collection_s"], None),
        ("`tar -xf` (reference)", tar["extract_s"], tar["extract_s"]),
        ("crewchief `restore_backup` of the native-only backup", native["restore"]["seconds"],
         tar["extract_s"]),
        ("  the same, format 2 (before: the archive restored, checked, extracted)",
         res["format_2"]["restore"]["seconds"], tar["extract_s"]),
        ("crewchief `restore_backup`, native snapshot", r["native"]["seconds"], tar["extract_s"]),
        ("crewchief `restore_backup`, portable export", r["portable"]["seconds"],
         tar["extract_s"]),
    ]  # fmt: skip
    for label, s, ref in rows:
        ratio = f"{ref / s:.2f}" if ref else "-"
        lines.append(f"| {label} | {s:.2f} | {shard / MB / s:,.1f} | {n / s:,.0f} | {ratio} |")
    lines += [
        "",
        f"After a portable restore, the new collection needed {r['portable']['then_green_s']:.1f}"
        f" s more to turn green ({r['portable']['indexed']:,} of {r['portable']['points']:,} "
        f"indexed); after a native one {r['native']['then_green_s']:.1f} s "
        f"({r['native']['indexed']:,} indexed).",
        "",
        "| backup | seconds | native: referenced / new MB | portable: referenced / new MB "
        "| new MB (manifest) | repository growth MB (% of #1) | dedup ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    first = res["backups"][0]["repo_growth"]
    for b in res["backups"]:
        p, st = b["parts"], b["stats"]
        ratio = f"{st['dedup_ratio']:,.1f}" if st["dedup_ratio"] else "inf (nothing new)"
        lines.append(
            f"| {b['label']} | {b['seconds']:.1f} | {p['native']['referenced'] / MB:,.1f} / "
            f"{p['native']['new'] / MB:,.2f} | {p['portable']['referenced'] / MB:,.1f} / "
            f"{p['portable']['new'] / MB:,.2f} | {st['bytes_new'] / MB:,.2f} | "
            f"{b['repo_growth'] / MB:,.2f} ({b['repo_growth'] / first:.1%}) | {ratio} |"
        )
    lines.append(f"\nRepository after three backups: {res['repo']['disk'] / MB:,.1f} MB on disk.")
    return "\n".join(lines)


def main() -> None:
    args = benchlib.options(__doc__, OPTIONS)
    res: dict = dict(points=args.points, dim=args.dim, machine=machine_info())
    tmp = Path(tempfile.mkdtemp(prefix="crewchief-bench-backup-"))
    try:
        res |= run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    benchlib.finish(res, report, args.json)


if __name__ == "__main__":
    main()
