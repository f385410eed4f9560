"""Native copies as the shard's own files (manifest format 3): holes skipped and restored
as holes, every chunk checked on restore, writes held while the files are read (queries
not), and format-2 backups (a snapshot archive) written before still restoring."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from qdrant_client import models

from crewchief.backup import shardfiles
from crewchief.backup.backups import create_backup, restore_backup, verify_backup
from crewchief.backup.forget import prune
from crewchief.backup.manifest import FileEntry
from crewchief.backup.repository import Repository
from crewchief.errors import SnapshotCorrupt
from crewchief.target import EmbeddedTarget
from tests.helpers import fill

# made by crewchief at manifest format 2 (the native copy one snapshot archive, chunks in
# packs): collection `c`, 40 points of 8 dims, payloads {"n": i, "tag": "t0"}, alias `shop`
REPO_V2 = Path(__file__).parent / "data" / "repo-v2"


def shard_files(target: EmbeddedTarget, name: str) -> dict[str, os.stat_result]:
    root = target.engine.collection(name).shard_dir
    return {p.relative_to(root).as_posix(): p.stat() for p in root.rglob("*") if p.is_file()}


def test_data_extents_leave_holes_out(tmp_path: Path) -> None:
    path = tmp_path / "sparse"
    with open(path, "wb") as f:
        f.truncate(64 * 1024 * 1024)
        f.seek(16 * 1024 * 1024)
        f.write(b"x" * 8192)
        f.seek(40 * 1024 * 1024)
        f.write(b"y" * 100)
    fd = os.open(path, os.O_RDONLY)
    try:
        extents = shardfiles.data_extents(fd, path.stat().st_size)
        assert sum(n for _o, n in extents) <= 2 * 1024 * 1024  # a few blocks, not 64 MiB
        for offset, length in extents:
            data = os.pread(fd, length, offset)
            assert data.strip(b"\0") in (b"x" * 8192, b"y" * 100, b"")
        covered = b"".join(os.pread(fd, n, o) for o, n in extents)
        assert covered.count(b"x") == 8192 and covered.count(b"y") == 100
        assert shardfiles.data_extents(fd, 0) == []
    finally:
        os.close(fd)


def test_native_copy_is_the_shard_files_and_restores_them_sparse(tmp_path: Path) -> None:
    repo = Repository.open(str(tmp_path / "repo"), create=True)
    with EmbeddedTarget(tmp_path / "data") as tgt:
        fill(tgt.client, "c", n=2000, dim=32)
        manifest = create_backup(tgt, repo, ["c"], portable=False)
        native = manifest.collections["c"].native
        assert manifest.format == 3 and native is not None and native.files is not None
        assert native.file is None and "segments" in native.dirs
        source = shard_files(tgt, "c")
        assert {f.path for f in native.files} == set(source)
        sparse = [f for f in native.files if sum(n for _o, n in f.extents or []) < f.size / 2]
        assert sparse  # the preallocated WAL segments, at least
        restored = restore_backup(repo, manifest.id, tgt, as_name="back")["c"]
        copy = shard_files(tgt, restored)
        assert copy.keys() == source.keys()
        for rel, st in copy.items():
            assert st.st_size == source[rel].st_size, rel
        for f in sparse:  # holes stay holes: no more blocks than the data needs
            assert copy[f.path].st_blocks * 512 <= sum(n for _o, n in f.extents or []) + 65536
        apparent = sum(st.st_size for st in copy.values())
        assert sum(st.st_blocks * 512 for st in copy.values()) < apparent / 2
        ids = list(range(0, 2000, 97))
        assert tgt.client.retrieve(restored, ids, with_vectors=True) == tgt.client.retrieve(
            "c", ids, with_vectors=True
        )
        assert tgt.client.count(restored).count == 2000
    assert verify_backup(repo, manifest.id, full=True)["ok"]


def test_a_flipped_byte_in_a_pack_is_found_and_nothing_is_restored(tmp_path: Path) -> None:
    repo = Repository.open(str(tmp_path / "repo"), create=True)
    with EmbeddedTarget(tmp_path / "data") as tgt:
        fill(tgt.client, "c", n=500, dim=16)
        manifest = create_backup(tgt, repo, ["c"], portable=False)
        [key] = list(repo.storage.list("packs/"))
        data = bytearray(repo.storage.get(key))
        data[len(data) // 3] ^= 0x01
        repo.storage.put(key, bytes(data))
        with pytest.raises(SnapshotCorrupt, match="corrupt"):
            restore_backup(repo, manifest.id, tgt, as_name="back")
        assert tgt.collection_names() == ["c"]  # nothing half restored
        assert not list((tgt.engine.path / "tmp").glob("recover-*"))  # staging removed
    report = verify_backup(repo, manifest.id)
    assert not report["ok"] and any(key.rsplit("/", 1)[-1][:12] in p for p in report["problems"])


def test_a_manifest_whose_chunks_do_not_fill_the_extents_is_refused() -> None:
    entry = FileEntry("f", 100, [("a" * 64, 10)], [(0, 20)])
    with pytest.raises(SnapshotCorrupt, match="extents"):
        shardfiles._placed(entry)
    entry = FileEntry("f", 100, [("a" * 64, 10), ("b" * 64, 10)], [(0, 10), (50, 10)])
    assert shardfiles._placed(entry) == [(0, 10), (50, 10)]
    with pytest.raises(SnapshotCorrupt, match="extents"):  # past the file's end
        shardfiles._placed(FileEntry("f", 15, [("a" * 64, 20)], [(0, 20)]))


def test_writes_wait_while_the_files_are_read_and_queries_go_on(tmp_path: Path) -> None:
    with EmbeddedTarget(tmp_path / "data") as tgt:
        fill(tgt.client, "c", n=300, dim=8)
        col = tgt.engine.collection("c")
        wrote = threading.Event()

        def write() -> None:
            point = models.PointStruct(id=5000, vector=[1.0] * 8, payload={})
            tgt.client.upsert("c", [point])
            wrote.set()

        with col.held_still() as root:
            before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
            writer = threading.Thread(target=write)
            writer.start()
            time.sleep(0.3)
            assert not wrote.is_set()  # the write waits
            assert tgt.client.count("c").count == 300  # reads go on
            hits = tgt.client.query_points("c", query=[1.0] * 8, limit=3).points
            assert len(hits) == 3
            assert {p: p.stat().st_mtime_ns for p in before} == before
        writer.join(10)
        assert wrote.is_set() and tgt.client.count("c").count == 301


def test_a_format_2_backup_restores_verifies_and_prunes_with_new_ones(tmp_path: Path) -> None:
    shutil.copytree(REPO_V2, tmp_path / "repo")
    repo = Repository.open(str(tmp_path / "repo"))
    [old] = repo.manifests()
    native = old.collections["c"].native
    assert old.format == 2 and native is not None and native.file is not None
    assert verify_backup(repo, old.id)["ok"]
    with EmbeddedTarget(tmp_path / "data") as tgt:
        for fmt in ("native", "portable"):
            restore_backup(repo, old.id, tgt, as_name=f"c_{fmt}", fmt=fmt)
            got = tgt.client.retrieve(f"c_{fmt}", [0, 39], with_payload=True)
            assert [p.payload for p in got] == [{"n": 0, "tag": "t0"}, {"n": 39, "tag": "t0"}]
        assert verify_backup(repo, old.id, full=True)["ok"]
        new = create_backup(tgt, repo, ["c_native"])
    raw = json.loads(repo.storage.get(f"backups/{new.id}.json"))
    assert raw["format"] == 3 and "files" in raw["collections"]["c_native"]["native"]
    prune(repo)  # both formats' chunks are kept
    assert verify_backup(repo, old.id, full=True)["ok"]
    assert verify_backup(repo, new.id, full=True)["ok"]
