"""Snapshots: one checksummed file, sparse, refused when corrupt or malicious."""

from __future__ import annotations

import functools
import http.server
import io
import shutil
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import models

from crewchief import Engine
from crewchief.errors import CollectionNotFound, InvalidInput, SnapshotCorrupt, SnapshotNotFound
from crewchief.fsutil import sha256_file
from tests.helpers import fill


def test_snapshot_roundtrip_into_new_name(engine: Engine) -> None:
    vectors = fill(engine, "v1", n=300, dim=8)
    engine.create_payload_index("v1", "genre", field_schema=models.PayloadSchemaType.KEYWORD)
    snap = engine.create_snapshot("v1")
    path = engine.snapshot_file("v1", snap.name)
    assert snap.checksum == sha256_file(path)
    assert path.with_name(path.name + ".checksum").read_text() == snap.checksum
    assert [s.name for s in engine.list_snapshots("v1")] == [snap.name]

    engine.recover_snapshot("copy", path.as_uri(), checksum=snap.checksum)
    assert engine.count("copy").count == 300
    q = vectors[5].tolist()
    assert [p.id for p in engine.query_points("copy", query=q).points] == [
        p.id for p in engine.query_points("v1", query=q).points
    ]
    assert engine.retrieve("copy", [7])[0].payload == engine.retrieve("v1", [7])[0].payload
    assert "genre" in engine.get_collection("copy").payload_schema


def test_snapshot_does_not_store_the_wal_zeros(engine: Engine) -> None:
    fill(engine, "small", n=10, dim=4)
    snap = engine.create_snapshot("small")
    # the shard preallocates a 32 MiB WAL segment; the snapshot keeps it as a hole
    assert snap.size is not None and snap.size < 2 * 1024 * 1024


def test_recover_replaces_existing_collection(engine: Engine) -> None:
    fill(engine, "v1", n=50, dim=4)
    snap = engine.create_snapshot("v1")
    engine.upsert("v1", [models.PointStruct(id=1000, vector=[1, 0, 0, 0])])
    engine.recover_snapshot("v1", str(engine.snapshot_file("v1", snap.name)))
    assert engine.count("v1").count == 50


def test_snapshots_survive_collection_delete_and_can_be_deleted(engine: Engine) -> None:
    fill(engine, "gone", n=5, dim=2)
    snap = engine.create_snapshot("gone")
    engine.delete_collection("gone")
    assert [s.name for s in engine.list_snapshots("gone")] == [snap.name]
    engine.recover_snapshot("gone", str(engine.snapshot_file("gone", snap.name)))
    assert engine.count("gone").count == 5
    engine.delete_snapshot("gone", snap.name)
    assert engine.list_snapshots("gone") == []
    with pytest.raises(SnapshotNotFound):
        engine.delete_snapshot("gone", snap.name)
    with pytest.raises(CollectionNotFound):
        engine.list_snapshots("never-existed")


def _state(engine: Engine) -> tuple[list[str], list[models.AliasDescription]]:
    return [c.name for c in engine.get_collections().collections], engine.get_aliases().aliases


def test_wrong_checksum_and_corrupt_file_change_nothing(engine: Engine, tmp_path: Path) -> None:
    fill(engine, "v1", n=20, dim=4)
    snap = engine.create_snapshot("v1")
    path = engine.snapshot_file("v1", snap.name)
    before = _state(engine)
    with pytest.raises(SnapshotCorrupt, match="checksum mismatch") as exc:
        engine.recover_snapshot("x", str(path), checksum="0" * 64)
    assert exc.value.hint
    truncated = tmp_path / "truncated.snapshot"
    truncated.write_bytes(path.read_bytes()[: snap.size // 3 if snap.size else 10])
    with pytest.raises(SnapshotCorrupt):
        engine.recover_snapshot("x", str(truncated))
    garbage = tmp_path / "garbage.snapshot"
    garbage.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(SnapshotCorrupt):
        engine.recover_snapshot("x", str(garbage))
    with pytest.raises(SnapshotCorrupt):
        engine.recover_snapshot("x", str(tmp_path / "missing.snapshot"))
    assert _state(engine) == before
    assert engine.count("v1").count == 20


def test_recover_without_checksum_verifies_the_sidecar(engine: Engine, tmp_path: Path) -> None:
    fill(engine, "v1", n=20, dim=4)
    snap = engine.create_snapshot("v1")
    path = engine.snapshot_file("v1", snap.name)
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    shutil.copy(path.with_name(path.name + ".checksum"), copy.with_name(copy.name + ".checksum"))
    with tarfile.open(copy) as tar:  # a byte of file data: tar has no checksum over it
        at = tar.getmember("version.info").offset_data
    data = bytearray(copy.read_bytes())
    data[at] ^= 0x01
    copy.write_bytes(bytes(data))
    engine.upsert("v1", [models.PointStruct(id=500, vector=[1, 0, 0, 0])])
    before = _state(engine)
    for name in ("v1", "new"):  # replacing a collection, and creating one
        with pytest.raises(SnapshotCorrupt, match="checksum mismatch") as exc:
            engine.recover_snapshot(name, str(copy))
        assert exc.value.hint
    assert _state(engine) == before
    assert engine.count("v1").count == 21


def _evil_tar(path: Path, kind: str) -> Path:
    with tarfile.open(path, "w") as tar:
        if kind == "traversal":
            info = tarfile.TarInfo("../evil.txt")
        elif kind == "absolute":
            info = tarfile.TarInfo("/tmp/evil.txt")
        elif kind == "symlink":
            info = tarfile.TarInfo("0")
            info.type, info.linkname = tarfile.SYMTYPE, "/etc"
        elif kind == "hardlink":
            info = tarfile.TarInfo("config.json")
            info.type, info.linkname = tarfile.LNKTYPE, "/etc/passwd"
        else:
            info = tarfile.TarInfo("dev")
            info.type = tarfile.CHRTYPE
        data = b"boom"
        if info.isreg():
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        else:
            tar.addfile(info)
    return path


@pytest.mark.parametrize("kind", ["traversal", "absolute", "symlink", "hardlink", "device"])
def test_malicious_archives_are_refused(engine: Engine, tmp_path: Path, kind: str) -> None:
    fill(engine, "v1", n=5, dim=2)
    before = _state(engine)
    evil = _evil_tar(tmp_path / f"{kind}.snapshot", kind)
    with pytest.raises(SnapshotCorrupt):
        engine.recover_snapshot("v1", str(evil))
    assert _state(engine) == before
    assert engine.count("v1").count == 5
    assert not (tmp_path / "evil.txt").exists() and not (engine.path / "evil.txt").exists()


def test_snapshot_of_other_vector_size_does_not_replace(engine: Engine) -> None:
    fill(engine, "four", n=5, dim=4)
    fill(engine, "two", n=5, dim=2)
    snap = engine.create_snapshot("two")
    with pytest.raises(Exception, match="differ"):
        engine.recover_snapshot("four", str(engine.snapshot_file("two", snap.name)))
    assert engine.get_collection("four").points_count == 5


def test_full_snapshot_restores_everything_elsewhere(engine: Engine, tmp_path: Path) -> None:
    fill(engine, "v1", n=30, dim=4, seed=1)
    fill(engine, "v2", n=40, dim=4, seed=2)
    engine.update_collection_aliases(
        [
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name="v2", alias_name="prod")
            )
        ]
    )
    full = engine.create_full_snapshot()
    assert [s.name for s in engine.list_full_snapshots()] == [full.name]
    assert engine.list_snapshots("v1") == []  # parts live only inside the full snapshot
    copy = tmp_path / "full.snapshot"
    shutil.copy(engine.full_snapshot_file(full.name), copy)
    with Engine(tmp_path / "elsewhere") as other:
        assert sorted(other.recover_full_snapshot(str(copy), checksum=full.checksum)) == [
            "v1",
            "v2",
        ]
        assert other.count("prod").count == 40
        assert other.count("v1").count == 30
    engine.delete_full_snapshot(full.name)
    assert engine.list_full_snapshots() == []


KEYS_SEEN: list[str | None] = []  # the api-key header of each request to http_dir


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on localhost, and its base URL."""
    served = tmp_path / "served"
    served.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            KEYS_SEEN.append(self.headers.get("api-key"))
            super().do_GET()

    handler = functools.partial(Handler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_recover_from_an_http_location(engine: Engine, http_dir: tuple[Path, str]) -> None:
    served, url = http_dir
    fill(engine, "web", n=20, dim=4)
    snap = engine.create_snapshot("web")
    shutil.copyfile(engine.snapshot_file("web", snap.name), served / snap.name)
    KEYS_SEEN.clear()
    engine.recover_snapshot("from_web", f"{url}/{snap.name}", checksum=snap.checksum)
    assert engine.count("from_web").count == 20
    engine.recover_snapshot("keyed", f"{url}/{snap.name}", api_key="s3cret")
    assert engine.count("keyed").count == 20
    assert KEYS_SEEN == [None, "s3cret"]  # sent as Qdrant's api-key header, only when given
    with pytest.raises(InvalidInput, match="HTTP 404"):
        engine.recover_snapshot("missing", f"{url}/nothing.snapshot")
    assert not engine.collection_exists("missing")
    assert not any(engine.tmp_dir.glob("recover-*"))
