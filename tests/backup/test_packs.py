"""Repository format 2: chunks in packs, an index, prune that drops and rewrites packs, and
format-1 repositories (written by crewchief before packs) still restoring."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import models

from crewchief.backup import packs
from crewchief.backup.backups import create_backup, restore_backup, verify_backup
from crewchief.backup.forget import REPACK_BELOW, forget, prune
from crewchief.backup.manifest import BackupManifest
from crewchief.backup.packs import Index, PackWriter, digest_of, pack_key, pack_table
from crewchief.backup.policy import Policy
from crewchief.backup.repository import FORMAT, FORMAT_1, Repository
from crewchief.errors import SnapshotCorrupt
from crewchief.target import EmbeddedTarget
from tests.helpers import fill

# made by crewchief at format 1 (objects/ per chunk, SHA-256): collection `c`, 40 points
# with payloads, alias `shop`; native snapshot and portable (zstd Parquet) export
REPO_V1 = Path(__file__).parent / "data" / "repo-v1"


def pack_keys(repo: Repository) -> list[str]:
    return list(repo.storage.list("packs/"))


def test_a_backup_writes_few_packs_an_index_and_no_loose_objects(tmp_path: Path) -> None:
    repo = Repository.open(str(tmp_path / "repo"), create=True)
    with EmbeddedTarget(tmp_path / "data") as tgt:
        fill(tgt.client, "c", n=3000, dim=64)
        manifest = create_backup(tgt, repo, ["c"])
    assert json.loads(repo.storage.get("config.json"))["format"] == FORMAT
    assert list(repo.storage.list("objects/")) == []
    keys = pack_keys(repo)
    stats = manifest.stats
    assert stats.chunks_new > 10 * len(keys)  # many chunks per stored object (one fsync each)
    index = Index.load(repo.storage)
    assert set(index.entries) == manifest.referenced_digests()
    for key in keys:  # each pack: named by its hash, its table is what the index says
        data = repo.storage.get(key)
        pack = key.rsplit("/", 1)[-1]
        assert digest_of(data) == pack
        assert pack_table(data) == index.packs()[pack]
    raw = json.loads(repo.storage.get(f"backups/{manifest.id}.json"))
    assert raw["format"] == 3  # the native copy is the shard's files
    assert isinstance(raw["collections"]["c"]["portable"][0]["chunks"], str)
    assert isinstance(raw["collections"]["c"]["native"]["files"][0]["chunks"], str)
    assert repo.manifest(manifest.id) == manifest  # the packed chunk lists read back


def test_a_killed_backup_leaves_nothing_that_prune_does_not_remove(tmp_path: Path) -> None:
    repo = Repository.open(str(tmp_path / "repo"), create=True)
    with EmbeddedTarget(tmp_path / "data") as tgt:
        fill(tgt.client, "c", n=500, dim=16)
        kept = create_backup(tgt, repo, ["c"])
        objects, stored = set(repo.object_digests()), set(pack_keys(repo))
        fill(tgt.client, "d", n=500, dim=16, seed=4)
        snap = tgt.client.create_snapshot("d")
        file = tgt.engine.snapshot_file("d", snap.name)
    # killed after its packs were stored, before their index: packs no index names
    writer = PackWriter(repo.storage)
    writer.add(digest_of(b"stray"), b"stray")
    writer._seal()
    writer.close()
    # killed after the index, before the manifest: indexed chunks no manifest names
    from crewchief.backup.manifest import UploadStats

    repo.store_file(file, "d.snapshot", UploadStats())
    repo.commit_pending()
    assert len(pack_keys(repo)) > len(stored) and set(repo.object_digests()) > objects
    removed, skipped = prune(repo)
    assert skipped is None and removed > 0
    assert set(pack_keys(repo)) == stored and set(repo.object_digests()) == objects
    assert verify_backup(repo, kept.id, full=True)["ok"]


def test_prune_rewrites_mostly_unused_packs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packs, "PACK_TARGET", 256 * 1024)  # many small packs
    repo = Repository.open(str(tmp_path / "repo"), create=True)
    with EmbeddedTarget(tmp_path / "data") as tgt:
        fill(tgt.client, "c", n=2000, dim=32)
        first = create_backup(tgt, repo, ["c"], native=False)
        vectors = np.random.default_rng(1).normal(size=(2000, 32)).tolist()
        points = [
            models.PointStruct(id=i, vector=vectors[i], payload={"i": i}) for i in range(0, 2000, 3)
        ]
        tgt.client.upsert("c", points)  # a third of the points change
        second = create_backup(tgt, repo, ["c"], native=False)
    before = set(pack_keys(repo))
    wanted = second.referenced_digests()
    index = Index.load(repo.storage)
    mixed = [
        p
        for p, es in index.packs().items()
        if any(e[0] in wanted for e in es) and not all(e[0] in wanted for e in es)
    ]
    assert mixed  # packs holding chunks of both backups, some only the first's
    result = forget(repo, Policy(last=1))
    assert result.removed == [first.id] and result.pruned_objects > 0
    after = set(pack_keys(repo))
    assert after - before  # new packs (the live chunks of rewritten ones)
    assert set(repo.object_digests()) == wanted
    for pack, entries in Index.load(repo.storage).packs().items():
        data = repo.storage.get(pack_key(pack))
        used = sum(e[2] for e in entries) / sum(e[2] for e in pack_table(data))
        assert used >= REPACK_BELOW  # nothing mostly dead is left
    assert len(list(repo.storage.list("index/"))) <= 2  # the old index files were replaced
    assert verify_backup(repo, second.id, full=True)["ok"]
    assert prune(repo) == (0, None)  # nothing more to do: nothing changes
    assert set(pack_keys(repo)) == after


def test_a_format_1_repository_restores_verifies_and_takes_new_backups(tmp_path: Path) -> None:
    shutil.copytree(REPO_V1, tmp_path / "repo")
    repo = Repository.open(str(tmp_path / "repo"))
    assert repo.format == FORMAT_1
    [old] = repo.manifests()
    assert old.format == 1 and old.collections["c"].points == 40
    assert verify_backup(repo, old.id)["ok"]
    with EmbeddedTarget(tmp_path / "data") as tgt:
        for fmt in ("native", "portable"):
            restore_backup(repo, old.id, tgt, as_name=f"c_{fmt}", fmt=fmt)
            got = tgt.client.retrieve(f"c_{fmt}", [0, 39], with_payload=True, with_vectors=True)
            assert [p.payload for p in got] == [{"n": 0, "tag": "t0"}, {"n": 39, "tag": "t0"}]
        assert verify_backup(repo, old.id, full=True)["ok"]
        new = create_backup(tgt, repo, ["c_native"])  # into the old repository: upgraded
    assert json.loads(repo.storage.get("config.json"))["format"] == FORMAT
    assert new.format == 3 and repo.backup_ids() == [old.id, new.id]
    again = Repository.open(str(tmp_path / "repo"))
    assert verify_backup(again, old.id, full=True)["ok"] and verify_backup(again, new.id)["ok"]
    forget(again, Policy(last=1))  # both series are kept: each is its collection's last
    assert again.backup_ids() == [old.id, new.id]
    again.delete_manifest(old.id)
    prune(again)
    assert list(again.storage.list("objects/")) == []  # the old loose objects went
    assert verify_backup(again, new.id, full=True)["ok"]


def test_a_format_1_object_that_rotted_is_found(tmp_path: Path) -> None:
    shutil.copytree(REPO_V1, tmp_path / "repo")
    repo = Repository.open(str(tmp_path / "repo"))
    [old] = repo.manifests()
    key = next(iter(repo.storage.list("objects/")))
    repo.storage.put(key, b"rot")
    report = verify_backup(repo, old.id)
    assert not report["ok"] and key.rsplit("/", 1)[-1][:12] in report["problems"][0]


def test_manifests_of_an_unknown_format_and_bad_packs_are_refused() -> None:
    raw = json.loads(next((REPO_V1 / "backups").iterdir()).read_bytes())
    with pytest.raises(SnapshotCorrupt, match="format 4"):
        BackupManifest.from_json({**raw, "format": 4})
    with pytest.raises(SnapshotCorrupt):
        pack_table(b"short")
    with pytest.raises(SnapshotCorrupt):
        pack_table(b"x" * 100)
