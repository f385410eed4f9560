"""The typed backup manifest reads what repositories already hold, byte for byte."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crewchief.backup.manifest import BackupManifest
from crewchief.backup.repository import Repository
from crewchief.errors import SnapshotCorrupt

# written by crewchief before the manifest was typed (trimmed: fewer probes and chunks)
FIXTURE = Path(__file__).parent / "data" / "manifest-crewchief-repo-1.json"


def test_a_stored_manifest_reads_typed_and_writes_the_same_bytes(tmp_path: Path) -> None:
    raw = FIXTURE.read_bytes()
    manifest = BackupManifest.from_json(json.loads(raw))
    c, d = manifest.collections["c"], manifest.collections["d"]
    assert manifest.aliases == {"shop": "c"} and c.aliases == ["shop"]
    assert c.native is not None and c.native.kind == "crewchief-edge" and c.portable
    assert d.native is None and d.portable  # taken with --no-native
    assert c.points == 50 and len(c.probes) == 1 and len(c.probes[0].ids) == 10
    assert manifest.stats.bytes_new == 4187 and manifest.stats.to_json()["dedup_ratio"] == 30.822
    assert manifest.time.tzinfo is not None
    chunks = {h for f in [*c.portable, c.native.file, *d.portable] for h, _ in f.chunks}
    assert manifest.referenced_digests() == chunks
    # through a repository: read from an existing one, written into a new one, same bytes
    old = Repository.open(str(tmp_path / "old"), create=True)
    (tmp_path / "old" / "backups").mkdir()
    shutil.copy(FIXTURE, tmp_path / "old" / "backups" / f"{manifest.id}.json")
    assert old.manifests() == [manifest]
    new = Repository.open(str(tmp_path / "new"), create=True)
    new.put_manifest(old.manifest(manifest.id))
    assert (tmp_path / "new" / "backups" / f"{manifest.id}.json").read_bytes() == raw


def test_a_malformed_manifest_is_corrupt_not_a_crash() -> None:
    data = json.loads(FIXTURE.read_bytes())
    del data["collections"]["c"]["points"]
    with pytest.raises(SnapshotCorrupt, match=f"manifest {data['id']} is malformed") as exc:
        BackupManifest.from_json(data)
    assert exc.value.hint
