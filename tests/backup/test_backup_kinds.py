"""Backups of a collection with dense (every datatype), multi and sparse vectors, a
quantization config and payload indexes: native and portable, embedded and through a real
`crewchief serve`, on a local and an S3 repository, restore equal and verify in full."""

from __future__ import annotations

from pathlib import Path

import pytest

from crewchief.backup.backups import create_backup, probe_vector, restore_backup, verify_backup
from crewchief.backup.repository import Repository
from crewchief.target import EmbeddedTarget
from tests.backup.test_portable import open_kind
from tests.vector_kinds import DENSE, assert_same, make_kinds, state


@pytest.mark.parametrize(
    "source,destination,fmt",
    [
        ("embedded", "embedded", "native"),
        ("embedded", "served", "native"),
        ("embedded", "served", "portable"),
        ("served", "embedded", "native"),
        ("served", "embedded", "portable"),
    ],
)
def test_every_vector_kind_restores_equal(
    tmp_path: Path, source: str, destination: str, fmt: str
) -> None:
    repo = Repository.open(str(tmp_path / "repo"), create=True)
    with open_kind(source, tmp_path / "src") as src:
        make_kinds(src.client)
        info = src.client.get_collection("hybrid")
        assert probe_vector(info.config) == DENSE
        manifest = create_backup(src, repo, ["hybrid"])
        before = state(src.client, "hybrid")
    probes = manifest.collections["hybrid"].probes
    assert len(probes) == 5 and {p.using for p in probes} == {DENSE}
    assert repo.manifest(manifest.id).collections["hybrid"].probes == probes  # stored
    with open_kind(destination, tmp_path / "dst") as dst:
        restored = restore_backup(repo, manifest.id, dst, fmt=fmt)
        assert restored == {"hybrid": "hybrid"}
        assert_same(before, state(dst.client, "hybrid"))
    result = verify_backup(repo, manifest.id, full=True)
    assert result["ok"], result["problems"]


def test_verify_notices_a_changed_answer_on_a_named_vector(tmp_path: Path) -> None:
    """The probes query the named dense vector: a restore that answers differently fails."""
    repo = Repository.open(str(tmp_path / "repo"), create=True)
    with EmbeddedTarget(tmp_path / "src") as src:
        make_kinds(src.client)
        manifest = create_backup(src, repo, native=False)
    tampered = repo.manifest(manifest.id)
    probe = tampered.collections["hybrid"].probes[0]
    probe.ids = list(reversed(probe.ids))[:-1] + [999]
    repo.put_manifest(tampered)
    result = verify_backup(repo, manifest.id, full=True)
    assert not result["ok"] and "probe query 0" in result["problems"][0]


def test_sparse_only_collection_backs_up_on_s3(tmp_path: Path, s3_url: tuple[str, str]) -> None:
    from qdrant_client import models

    url, endpoint = s3_url
    repo = Repository.open(f"{url}/kinds", create=True, endpoint_url=endpoint)
    with EmbeddedTarget(tmp_path / "src") as src:
        src.client.create_collection(
            "words", vectors_config={}, sparse_vectors_config={"w": models.SparseVectorParams()}
        )
        sv = models.SparseVector(indices=[1, 7], values=[0.5, 2.0])
        src.client.upsert("words", [models.PointStruct(id=i, vector={"w": sv}) for i in range(9)])
        assert probe_vector(src.client.get_collection("words").config) is None
        manifest = create_backup(src, repo)
        assert manifest.collections["words"].probes == []
        assert verify_backup(repo, manifest.id, full=True)["ok"]
        for fmt in ("native", "portable"):
            new = restore_backup(repo, manifest.id, src, as_name=f"w_{fmt}", fmt=fmt)
            got = src.client.retrieve(new["words"], [3], with_vectors=True)[0]
            assert got.vector == {"w": sv}
