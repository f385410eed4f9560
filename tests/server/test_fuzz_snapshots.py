"""Malicious and damaged snapshot archives uploaded over HTTP: refused, nothing written.

test_snapshots.py covers `..`, absolute paths, symlinks, hardlinks, character
devices, garbage and a wrong checksum.  This adds what it lacks: huge declared
sizes (a plain member and a GNU sparse one), truncated archives, FIFOs and block
devices, and random damage (hypothesis flips bytes of a real snapshot).

"Nothing written" means: the target collection keeps its points, no collection
appears, no collection folder appears, and the staging area is empty again.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qdrant_client import QdrantClient

from tests.server.data import make_collection, points
from tests.server.serverproc import ServerProcess

SNAP_POINTS = 30
FLIPS = max(5, int(os.environ.get("CREWCHIEF_FUZZ_EXAMPLES", "150")) // 10)


def world(client: QdrantClient, data: Path) -> dict[str, Any]:
    """What a refused upload must leave as it was."""
    names = sorted(c.name for c in client.get_collections().collections)
    tmp = data / "tmp"
    return {
        "collections": names,
        "counts": {n: client.count(n).count for n in names},
        "folders": sorted(p.name for p in (data / "collections").iterdir()),
        "staging": sorted(str(p) for p in tmp.rglob("*") if p.is_file()) if tmp.exists() else [],
    }


def upload(http: httpx.Client, collection: str, archive: bytes) -> httpx.Response:
    return http.post(
        f"/collections/{collection}/snapshots/upload?wait=true",
        files={"snapshot": ("evil.snapshot", archive, "application/octet-stream")},
    )


@pytest.fixture(scope="module")
def real_snapshot(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a real collection snapshot (30 points)."""
    client = QdrantClient(url=server.url, check_compatibility=False)
    make_collection(client, "fuzz_snap_source", n=SNAP_POINTS, dim=4)
    snap = client.create_snapshot("fuzz_snap_source")
    assert snap is not None
    r = httpx.get(f"{server.url}/collections/fuzz_snap_source/snapshots/{snap.name}", timeout=60)
    assert r.status_code == 200
    client.close()
    return r.content


@pytest.fixture(scope="module")
def victim(client: QdrantClient) -> str:
    """An existing collection the uploads try to overwrite."""
    make_collection(client, "fuzz_snap_victim", n=12, dim=4)
    client.upsert("fuzz_snap_victim", points(3, 4, seed=9, start=500))
    return "fuzz_snap_victim"


def members_end(archive: bytes) -> int:
    """Offset just after the last member's data (where the end-of-archive blocks start)."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
        tar.getmembers()
        return int(tar.offset)


def with_member(
    archive: bytes, info: tarfile.TarInfo, data: bytes = b"", close: bool = True
) -> bytes:
    """The archive with one more member (header as given, then `data`), closed or not."""
    out = archive[: members_end(archive)] + info.tobuf(format=tarfile.GNU_FORMAT) + data
    if data:
        out += b"\0" * (-len(data) % tarfile.BLOCKSIZE)
    return out + (b"\0" * tarfile.BLOCKSIZE * 2 if close else b"")


def special(name: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    return info


def huge_sparse_member(tmp: Path, archive: bytes) -> bytes:
    """The archive plus `0/huge`: a GNU sparse file declaring 1 TiB (a few bytes of data)."""
    folder = tmp / "sparse"
    (folder / "0").mkdir(parents=True)
    huge = folder / "0" / "huge"
    with open(huge, "wb") as f:
        f.write(b"x")
        f.truncate(1 << 40)
    evil = tmp / "sparse.snapshot"
    evil.write_bytes(archive)
    subprocess.run(
        ["tar", "--format=gnu", "--sparse", "-rf", str(evil), "-C", str(folder), "0/huge"],
        check=True,
        capture_output=True,
    )
    return evil.read_bytes()


def evil_archives(archive: bytes, tmp: Path) -> Iterator[tuple[str, bytes]]:
    huge = tarfile.TarInfo("0/huge-declared")
    huge.size = 1 << 40
    yield "huge declared size, data missing", with_member(archive, huge, b"x" * 4096, close=False)
    yield "huge sparse file", huge_sparse_member(tmp, archive)
    yield "fifo", with_member(archive, special("0/evil-fifo", tarfile.FIFOTYPE))
    block = special("0/evil-block", tarfile.BLKTYPE)
    block.devmajor, block.devminor = 7, 0
    yield "block device", with_member(archive, block)
    yield "cut inside a member's data", archive[: cut_points(archive)["data"]]
    yield "cut inside a sparse member's data", archive[: cut_points(archive)["sparse data"]]
    yield "empty file", b""
    yield "only the end-of-archive blocks", b"\0" * 1024


@pytest.mark.parametrize("target", ["victim", "new"])
def test_malicious_archives_are_refused_before_anything_is_written(
    client: QdrantClient,
    http: httpx.Client,
    data_dir: Path,
    real_snapshot: bytes,
    victim: str,
    tmp_path: Path,
    target: str,
) -> None:
    collection = victim if target == "victim" else "fuzz_snap_new"
    before = world(client, data_dir)
    refused = []
    for label, archive in evil_archives(real_snapshot, tmp_path):
        r = upload(http, collection, archive)
        body = r.json()
        if r.status_code != 400 or not body["status"]["error"]:
            refused.append(f"{label}: {r.status_code} {r.text[:200]}")
        assert world(client, data_dir) == before, f"{label}: the upload changed something"
    assert not refused, "\n".join(refused)
    assert not (data_dir / "tmp" / "uploads" / "0").exists()


def cut_points(archive: bytes) -> dict[str, int]:
    """Where to cut a real snapshot: inside a plain member's data, inside a header, between
    two members, inside the first sparse member's data."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
        members = tar.getmembers()
    plain = next(m for m in members if m.isreg() and not m.issparse() and m.size > 100)
    middle = members[len(members) // 2]
    sparse = next(m for m in members if m.issparse())
    return {
        "data": plain.offset_data + 50,
        "header": middle.offset + 100,
        "boundary": middle.offset,
        "sparse data": sparse.offset_data + 10,
    }


@pytest.mark.parametrize("where", ["header", "boundary"])
def test_a_truncated_archive_is_refused(
    client: QdrantClient, http: httpx.Client, real_snapshot: bytes, victim: str, where: str
) -> None:
    before = client.count(victim).count
    r = upload(http, victim, real_snapshot[: cut_points(real_snapshot)[where]])
    after = client.count(victim).count
    if after != before:  # put the victim back for the other tests
        client.upsert(victim, points(12, 4) + points(3, 4, seed=9, start=500))
    assert r.status_code == 400, f"accepted: `{victim}` went from {before} to {after} points"
    assert after == before


@settings(
    max_examples=FLIPS,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_damaged_snapshots_never_crash_the_server(
    server: ServerProcess,
    client: QdrantClient,
    http: httpx.Client,
    data_dir: Path,
    real_snapshot: bytes,
    data: st.DataObject,
) -> None:
    """Random bytes of a real snapshot changed: refused (400) or loaded, never a 5xx or a crash;
    with its checksum given, always refused."""
    damaged = bytearray(real_snapshot)
    for _ in range(data.draw(st.integers(1, 8), label="flips")):
        at = data.draw(st.integers(0, len(damaged) - 1), label="at")
        damaged[at] ^= data.draw(st.integers(1, 255), label="xor")
    r = upload(http, "fuzz_snap_damaged", bytes(damaged))
    assert server.proc.poll() is None, f"the server died:\n{server.stderr[-3000:]}"
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:
        client.count("fuzz_snap_damaged")  # whatever was installed answers
        client.delete_collection("fuzz_snap_damaged")
    else:
        assert r.json()["status"]["error"]
    assert not client.collection_exists("fuzz_snap_damaged")
    tmp = data_dir / "tmp"
    assert not [p for p in tmp.rglob("*") if p.is_file()]
