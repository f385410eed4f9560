"""Backups end to end on real parts: engine, server, repository (local and S3)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from qdrant_client import models

from crewchief.backup.backups import create_backup, restore_backup, verify_backup
from crewchief.backup.forget import forget
from crewchief.backup.policy import Policy
from crewchief.backup.repository import Repository
from crewchief.errors import InvalidInput, SnapshotCorrupt
from crewchief.ops import aliases
from crewchief.target import EmbeddedTarget, ServeTarget, Target
from tests.backup.rot import lose_pack_of, rot_chunk
from tests.helpers import fill
from tests.server.serverproc import start_server


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Target]:
    tgt = EmbeddedTarget(tmp_path / "source")
    fill(tgt.client, "shop_v1", n=600, dim=16, seed=3)
    tgt.client.create_payload_index("shop_v1", "genre", models.PayloadSchemaType.KEYWORD)
    aliases.execute_switch(tgt, aliases.plan_switch(tgt, "shop", "shop_v1"))
    yield tgt
    tgt.close()


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    return Repository.open(str(tmp_path / "repo"), create=True)


def same_data(a: Target, a_name: str, b: Target, b_name: str) -> None:
    assert a.client.count(a_name).count == b.client.count(b_name).count
    ids = list(range(0, 600, 37))
    ra = {r.id: r for r in a.client.retrieve(a_name, ids, with_vectors=True)}
    rb = {r.id: r for r in b.client.retrieve(b_name, ids, with_vectors=True)}
    assert ra.keys() == rb.keys()
    for i in ra:
        assert ra[i].payload == rb[i].payload
        assert ra[i].vector == pytest.approx(rb[i].vector, rel=1e-6)
    q = ra[ids[3]].vector
    exact = models.SearchParams(exact=True)
    hits_a = a.client.query_points(a_name, query=q, limit=10, search_params=exact).points
    hits_b = b.client.query_points(b_name, query=q, limit=10, search_params=exact).points
    assert [h.id for h in hits_a] == [h.id for h in hits_b]


@pytest.mark.parametrize("fmt", ["native", "portable"])
def test_embedded_to_embedded_under_a_new_name(source: Target, repo: Repository, fmt: str) -> None:
    manifest = create_backup(source, repo, ["shop_v1"])
    assert repo.backup_ids() == [manifest.id]
    assert manifest.aliases == {"shop": "shop_v1"}
    restored = restore_backup(repo, manifest.id, source, fmt=fmt)
    new = restored["shop_v1"]
    assert new.startswith("shop_v1_restored_")  # the name was taken: a new one by default
    same_data(source, "shop_v1", source, new)
    assert "genre" in source.client.get_collection(new).payload_schema


@pytest.mark.parametrize("fmt", ["auto", "portable"])
def test_embedded_to_served_through_qdrant_client(
    source: Target, repo: Repository, tmp_path: Path, fmt: str
) -> None:
    manifest = create_backup(source, repo, ["shop_v1"])
    server = start_server(tmp_path / "served")
    try:
        dest = ServeTarget(server.url)
        restored = restore_backup(repo, manifest.id, dest, with_aliases=True, fmt=fmt)
        assert restored == {"shop_v1": "shop_v1"}
        same_data(source, "shop_v1", dest, "shop_v1")
        assert dest.aliases() == {"shop": "shop_v1"}
        dest.close()
    finally:
        server.stop()


def test_served_to_embedded(repo: Repository, tmp_path: Path) -> None:
    server = start_server(tmp_path / "served")
    try:
        src = ServeTarget(server.url)
        fill(src.client, "shop_v1", n=600, dim=16, seed=3)
        manifest = create_backup(src, repo)
        with EmbeddedTarget(tmp_path / "elsewhere") as dest:
            restore_backup(repo, manifest.id, dest)
            same_data(src, "shop_v1", dest, "shop_v1")
        src.close()
    finally:
        server.stop()


@pytest.fixture
def indexed(tmp_path: Path) -> Iterator[Target]:
    """3000 points in `c`, the bulk of them in an indexed, immutable segment."""
    with EmbeddedTarget(tmp_path / "big") as source:
        fill(
            source.client,
            "c",
            n=3000,
            dim=16,
            optimizers_config=models.OptimizersConfigDiff(indexing_threshold=50),
        )
        source.optimize("c")
        yield source


def change_one_percent(target: Target) -> None:
    """Re-upsert 30 of the 3000 points of `c` with new vectors and payloads."""
    target.client.upsert(
        "c",
        [
            models.PointStruct(id=i * 100, vector=[0.5] * 16, payload={"changed": True})
            for i in range(30)
        ],
    )


def test_second_backup_stores_only_what_changed(indexed: Target, repo: Repository) -> None:
    source = indexed
    first = create_backup(source, repo, ["c"])
    distinct = {h: n for e in first.collections.values() for f in e.files() for h, n in f.chunks}
    assert first.stats.bytes_new == sum(distinct.values())  # all new (a file twice: once)
    unchanged = create_backup(source, repo, ["c"])
    assert unchanged.stats.bytes_new == 0  # deterministic snapshots and exports
    change_one_percent(source)
    changed = create_backup(source, repo, ["c"])
    s = changed.stats
    assert 0 < s.bytes_new < 0.7 * s.bytes_total, s
    assert verify_backup(repo, changed.id, full=True)["ok"]


def test_native_only_backups_are_incremental_and_restore_onto_the_same_engine(
    indexed: Target, repo: Repository
) -> None:
    source = indexed
    first = create_backup(source, repo, ["c"], portable=False)
    assert first.collections["c"].portable is None
    change_one_percent(source)
    second = create_backup(source, repo, ["c"], portable=False)
    s = second.stats
    assert 0 < s.bytes_new < 0.5 * s.bytes_total, s  # 100k points: 3.4% (bench)
    assert verify_backup(repo, second.id, full=True)["ok"]
    with pytest.raises(InvalidInput, match="no portable export") as exc:
        restore_backup(repo, second.id, source, fmt="portable")
    assert exc.value.hint
    assert source.collection_names() == ["c"]
    restored = restore_backup(repo, second.id, source)
    same = source.client.retrieve(restored["c"], [0, 100, 2999], with_vectors=True)
    assert [r.vector for r in same] == [
        r.vector for r in source.client.retrieve("c", [0, 100, 2999], with_vectors=True)
    ]
    with pytest.raises(InvalidInput, match="needs the native snapshot, the portable"):
        create_backup(source, repo, ["c"], native=False, portable=False)
    assert len(repo.backup_ids()) == 2


def test_verify_quick_and_full_and_corruption(source: Target, repo: Repository) -> None:
    manifest = create_backup(source, repo, ["shop_v1"])
    assert verify_backup(repo, manifest.id)["ok"]
    full = verify_backup(repo, manifest.id, full=True)
    assert full["ok"] and full["mode"] == "full"
    assert repo.record(f"verify/{manifest.id}.json")["mode"] == "full"  # type: ignore[index]
    digest = manifest.collections["shop_v1"].portable[0].chunks[0][0]
    rot_chunk(repo, digest)
    bad = verify_backup(repo, manifest.id)
    assert not bad["ok"] and digest[:12] in bad["problems"][0]
    assert any("checksum does not match its name" in p for p in bad["problems"])  # the pack
    with pytest.raises(SnapshotCorrupt, match=f"{digest[:12]}.*corrupt"):
        restore_backup(repo, manifest.id, source, as_name="rotten", fmt="portable")
    lose_pack_of(repo, digest)
    lost = verify_backup(repo, manifest.id)
    assert not lost["ok"] and any("cannot be read" in p for p in lost["problems"])


def test_forget_keeps_by_policy_and_prunes(source: Target, repo: Repository) -> None:
    ids = []
    for step in range(3):  # a change between backups gives each objects of its own
        point = models.PointStruct(id=step, vector=[float(step)] * 16, payload={"step": step})
        source.client.upsert("shop_v1", [point])
        ids.append(create_backup(source, repo, ["shop_v1"]).id)
    with pytest.raises(InvalidInput, match="No retention policy"):
        forget(repo, Policy())
    dry = forget(repo, Policy(last=1), dry_run=True)
    assert [d.keep for d in dry.decisions] == [True, False, False]
    assert repo.backup_ids() == ids  # dry run changed nothing
    objects_before = len(list(repo.object_digests()))
    manifests = {i: repo.manifest(i) for i in ids}
    still_wanted = manifests[ids[2]].referenced_digests()
    only_in_removed = (
        manifests[ids[0]].referenced_digests() | manifests[ids[1]].referenced_digests()
    ) - still_wanted
    assert only_in_removed  # each backup saw other points: it has objects of its own
    result = forget(repo, Policy(last=1))
    assert result.removed == ids[:2][::-1] or sorted(result.removed) == sorted(ids[:2])
    assert repo.backup_ids() == [ids[2]]
    assert len(list(repo.object_digests())) < objects_before
    assert result.pruned_objects == len(only_in_removed) == objects_before - len(still_wanted)
    assert set(repo.object_digests()) == still_wanted  # exactly what the kept backup uses
    assert verify_backup(repo, ids[2], full=True)["ok"]  # what is left still restores


def test_last_backup_of_a_collection_is_never_removed(source: Target, repo: Repository) -> None:
    fill(source.client, "other", n=20, dim=4)
    only_other = create_backup(source, repo, ["other"]).id
    create_backup(source, repo, ["shop_v1"])
    create_backup(source, repo, ["shop_v1"])
    result = forget(repo, Policy(last=1))
    kept = {d.id: d.reasons for d in result.decisions if d.keep}
    assert only_other in kept  # its own series keeps it anyway (last 1)
    left = repo.backup_ids()
    objects = set(repo.object_digests())
    # the safety net: no policy would remove every backup; refused, changing nothing,
    # dry run or not; -1 (unlimited, as restic) keeps everything
    for dry_run in (True, False):
        with pytest.raises(InvalidInput, match="No retention policy"):
            forget(repo, Policy(), dry_run=dry_run)
        assert repo.backup_ids() == left and set(repo.object_digests()) == objects
    assert forget(repo, Policy(daily=-1)).removed == []
    assert repo.backup_ids() == left and set(repo.object_digests()) == objects
    # unless explicitly allowed
    gone = forget(repo, Policy(), allow_remove_all=True)
    assert sorted(gone.removed) == left and repo.backup_ids() == []
    assert gone.pruned_objects == len(objects) and list(repo.object_digests()) == []


def test_policy_buckets_are_pure_and_explained() -> None:
    from crewchief.backup.policy import BackupRef, plan_forget

    t0 = datetime(2026, 11, 24, 12, tzinfo=UTC)
    refs = [BackupRef(f"b{h}", t0 - timedelta(hours=h), frozenset({"c"})) for h in range(0, 72, 6)]
    decisions = plan_forget(refs, Policy(last=2, daily=3))
    kept = [d.id for d in decisions if d.keep]
    assert kept[:2] == ["b0", "b6"]
    assert {d.id for d in decisions if any(r.startswith("daily") for r in d.reasons)} == {
        "b0",
        "b18",
        "b42",
    }  # the newest backup of each day
    assert all(d.reasons for d in decisions)
    gone = plan_forget(refs, Policy(last=1), allow_remove_all=False)
    assert sum(d.keep for d in gone) == 1


def test_policy_refuses_an_empty_policy_and_reads_minus_one_as_unlimited() -> None:
    from crewchief.backup.policy import BackupRef, plan_forget

    t0 = datetime(2026, 11, 24, 12, tzinfo=UTC)
    refs = [
        *(BackupRef(f"c{h}", t0 - timedelta(hours=h), frozenset({"c"})) for h in range(3)),
        BackupRef("d0", t0 - timedelta(hours=5), frozenset({"d"})),
    ]
    with pytest.raises(InvalidInput, match="No retention policy") as empty:
        plan_forget(refs, Policy())
    assert empty.value.hint and "--unsafe-allow-remove-all" in empty.value.hint
    with pytest.raises(InvalidInput, match="No retention policy"):
        plan_forget([], Policy())  # refused even with nothing to remove
    everything = plan_forget(refs, Policy(), allow_remove_all=True)
    assert [d.keep for d in everything] == [False] * 4
    unlimited = plan_forget(refs, Policy(last=-1))
    assert all(d.keep for d in unlimited) and unlimited[0].reasons == ["last all (#1)"]
    assert [d.id for d in plan_forget(refs, Policy(hourly=-1)) if d.keep] == [
        "c0",
        "c1",
        "c2",
        "d0",
    ]  # one an hour, every hour
    with pytest.raises(InvalidInput, match="--keep-weekly -2 is not a count") as bad:
        Policy(weekly=-2)
    assert bad.value.hint and "-1 for unlimited" in bad.value.hint
    kept = plan_forget(refs, Policy(last=1))  # the newest of each group: nothing to refuse
    assert [d.id for d in kept if d.keep] == ["c0", "d0"]
