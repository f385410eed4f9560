"""One storage contract, run unchanged against every backend.

`storage` is a LocalStorage in a temporary directory or an S3Storage on a real
S3 API (moto's server in a subprocess, see conftest.py), each in a fresh,
empty place.  Anything a backup repository relies on is stated here once.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crewchief.backup.storage import LocalStorage, S3Storage, Storage, open_storage
from crewchief.errors import InvalidInput, NotFound

MakeStorage = Callable[[str], Storage]


@pytest.fixture(params=["local", "s3"])
def make_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeStorage]:
    """Open storages at sub-locations (like `some/prefix`) of one fresh, empty place."""
    if request.param == "local":
        base = str(tmp_path / "repo")
        endpoint = None
    else:
        bucket_url, endpoint = request.getfixturevalue("s3_url")
        base = f"{bucket_url}/{uuid.uuid4().hex}"
    opened: list[Storage] = []

    def make(sub: str = "") -> Storage:
        storage = open_storage(f"{base}/{sub}" if sub else base, endpoint_url=endpoint)
        opened.append(storage)
        return storage

    yield make
    for storage in opened:
        storage.close()


@pytest.fixture
def storage(make_storage: MakeStorage) -> Storage:
    return make_storage("")


def test_backend_kind_matches_the_url(storage: Storage) -> None:
    assert isinstance(storage, LocalStorage | S3Storage)
    assert "testing" not in storage.url and "testing" not in repr(storage)


@pytest.mark.parametrize("size", [0, 1, 1000, 5 * 1024 * 1024])
def test_put_get_round_trip(storage: Storage, size: int) -> None:
    data = os.urandom(size)
    storage.put("objects/ab/abcdef", data)
    assert storage.get("objects/ab/abcdef") == data
    assert storage.size("objects/ab/abcdef") == size
    assert storage.exists("objects/ab/abcdef")


def test_get_range_reads_part_of_an_object(storage: Storage) -> None:
    data = os.urandom(100_000)
    storage.put("packs/ab/abcdef", data)
    assert storage.get_range("packs/ab/abcdef", 0, 10) == data[:10]
    assert storage.get_range("packs/ab/abcdef", 4321, 50_000) == data[4321:54321]
    assert storage.get_range("packs/ab/abcdef", 99_990, 100) == data[99_990:]  # short at the end
    assert storage.get_range("packs/ab/abcdef", 100_000, 10) == b""
    assert storage.get_range("packs/ab/abcdef", 5, 0) == b""
    with pytest.raises(NotFound):
        storage.get_range("packs/ab/none", 0, 10)
    with pytest.raises(NotFound):
        storage.get_range("packs/ab/none", 0, 0)
    with pytest.raises(InvalidInput):
        storage.get_range("packs/ab/abcdef", -1, 10)


def test_put_file_get_file_round_trip(storage: Storage, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    data = os.urandom(9 * 1024 * 1024)  # above boto3's multipart threshold (8 MiB)
    source.write_bytes(data)
    storage.put_file("snapshots/big.snapshot", source)
    target = tmp_path / "out" / "deeper" / "copy.bin"  # parents are created
    storage.get_file("snapshots/big.snapshot", target)
    assert target.read_bytes() == data
    assert storage.get("snapshots/big.snapshot") == data
    storage.put("snapshots/big.snapshot", b"small now")
    storage.get_file("snapshots/big.snapshot", target)  # an existing file is replaced
    assert target.read_bytes() == b"small now"


def test_put_file_of_an_empty_file(storage: Storage, tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    storage.put_file("empty", tmp_path / "empty")
    assert storage.get("empty") == b"" and storage.size("empty") == 0


def test_overwrite_replaces_the_whole_object(storage: Storage, tmp_path: Path) -> None:
    storage.put("config", b"a much longer first version")
    storage.put("config", b"v2")
    assert storage.get("config") == b"v2"
    assert storage.size("config") == 2
    (tmp_path / "v3").write_bytes(b"version three")
    storage.put_file("config", tmp_path / "v3")
    assert storage.get("config") == b"version three"
    assert list(storage.list()) == ["config"]


def test_missing_keys(storage: Storage, tmp_path: Path) -> None:
    assert not storage.exists("objects/none")
    with pytest.raises(NotFound):
        storage.get("objects/none")
    with pytest.raises(NotFound):
        storage.size("objects/none")
    with pytest.raises(NotFound):
        storage.get_file("objects/none", tmp_path / "out.bin")
    assert not (tmp_path / "out.bin").exists()
    assert list(storage.list()) == []


def test_a_folder_is_not_an_object(storage: Storage) -> None:
    storage.put("objects/ab/abc", b"x")
    assert not storage.exists("objects/ab")
    with pytest.raises(NotFound):
        storage.get("objects/ab")
    storage.delete("objects/ab")  # nothing to delete: not an error, the child stays
    assert storage.get("objects/ab/abc") == b"x"


KEYS = [
    "backups/2026-01-02T03-04-05Z.json",
    "backups/2026-01-03T00-00-00Z.json",
    "config",
    "objects/ab/abcd",
    "objects/ab/abff",
    "objects/b0/b0aa",
    "objects-x",
    "objectsz/zz",
    "z/é",
]


def test_list_is_sorted_recursive_and_prefix_bound(storage: Storage) -> None:
    for key in reversed(KEYS):
        storage.put(key, key.encode())
    assert list(storage.list()) == sorted(KEYS)
    assert list(storage.list("")) == sorted(KEYS)
    assert list(storage.list("objects/")) == [
        "objects/ab/abcd",
        "objects/ab/abff",
        "objects/b0/b0aa",
    ]
    assert list(storage.list("objects/ab/ab")) == ["objects/ab/abcd", "objects/ab/abff"]
    assert list(storage.list("objects")) == [k for k in sorted(KEYS) if k.startswith("objects")]
    assert list(storage.list("backups/2026-01-03")) == ["backups/2026-01-03T00-00-00Z.json"]
    assert list(storage.list("nothing/")) == []
    assert list(storage.list("config")) == ["config"]


def test_delete_is_idempotent(storage: Storage) -> None:
    storage.put("objects/ab/abcd", b"1")
    storage.put("objects/ab/abff", b"2")
    storage.delete("objects/ab/abcd")
    storage.delete("objects/ab/abcd")
    storage.delete("never/existed")
    assert not storage.exists("objects/ab/abcd")
    assert list(storage.list()) == ["objects/ab/abff"]
    storage.put("objects/ab/abcd", b"back")  # a deleted key can be written again
    assert storage.get("objects/ab/abcd") == b"back"


def test_unicode_keys(storage: Storage) -> None:
    keys = ["backups/café-☕.json", "objects/日本/語", "z/🚀 space"]
    for key in keys:
        storage.put(key, key.encode())
    assert list(storage.list()) == sorted(keys)
    assert all(storage.get(key) == key.encode() for key in keys)
    assert list(storage.list("objects/日")) == ["objects/日本/語"]


BAD_KEYS = [
    "",
    "/abs",
    "a/../b",
    "..",
    "./a",
    "a//b",
    "a/",
    "a\\b",
    "a\0b",
    "a\nb",
    "x" * 1025,
    "a/.crewchief-tmp-1",
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_invalid_keys_are_refused(storage: Storage, key: str, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    calls: list[Callable[[], object]] = [
        lambda: storage.put(key, b"x"),
        lambda: storage.put_file(key, tmp_path / "f"),
        lambda: storage.get(key),
        lambda: storage.get_file(key, tmp_path / "g"),
        lambda: storage.exists(key),
        lambda: storage.size(key),
        lambda: storage.delete(key),
    ]
    for call in calls:
        with pytest.raises(InvalidInput):
            call()
    assert list(storage.list()) == []


@pytest.mark.parametrize("prefix", ["/abs", "a/../", "a\\", "a\0"])
def test_invalid_list_prefixes_are_refused(storage: Storage, prefix: str) -> None:
    with pytest.raises(InvalidInput):
        list(storage.list(prefix))


def test_a_prefix_isolates_data(make_storage: MakeStorage) -> None:
    inner = make_storage("some/prefix")
    sibling = make_storage("some/prefixother")
    outer = make_storage("")
    inner.put("config", b"inner")
    sibling.put("config", b"sibling")
    assert inner.get("config") == b"inner"
    assert list(inner.list()) == ["config"]
    assert list(sibling.list()) == ["config"]
    assert list(outer.list()) == ["some/prefix/config", "some/prefixother/config"]
    assert outer.get("some/prefix/config") == b"inner"
    inner.delete("config")
    assert sibling.get("config") == b"sibling"
    assert not outer.exists("some/prefix/config")
