"""What only the local backend does: temp files, crash leftovers, URLs and OS errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from crewchief.backup.storage import TEMP_PREFIX, LocalStorage, S3Storage, open_storage
from crewchief.errors import InvalidInput, StorageError


def test_root_is_created_on_first_put_not_before(tmp_path: Path) -> None:
    storage = open_storage(str(tmp_path / "a" / "b" / "repo"))
    assert list(storage.list()) == []
    assert not (tmp_path / "a").exists()
    storage.put("objects/ab/abcd", b"x")
    assert (tmp_path / "a" / "b" / "repo" / "objects" / "ab" / "abcd").read_bytes() == b"x"


def test_leftover_temp_files_are_not_listed(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("objects/ab/abcd", b"x")
    (tmp_path / "objects" / "ab" / f"{TEMP_PREFIX}crashed").write_bytes(b"half")
    (tmp_path / f"{TEMP_PREFIX}other").write_bytes(b"half")
    assert list(storage.list()) == ["objects/ab/abcd"]


def test_put_leaves_no_temp_file(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("a/b", b"1")
    storage.put("a/b", b"2")
    storage.put_file("a/c", tmp_path / "a" / "b")
    storage.get_file("a/c", tmp_path / "out" / "c")
    names = sorted(p.name for p in tmp_path.rglob("*"))
    assert names == ["a", "b", "c", "c", "out"]


def test_a_key_cannot_be_object_and_folder(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("a", b"file")
    with pytest.raises(StorageError):
        storage.put("a/b", b"under a file")
    storage.put("c/d", b"x")
    with pytest.raises(StorageError):
        storage.put("c", b"over a folder")


def test_unwritable_root_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_bytes(b"")
    storage = LocalStorage(tmp_path / "not-a-dir" / "repo")
    with pytest.raises(StorageError) as err:
        storage.put("k", b"x")
    assert err.value.hint


def test_put_file_needs_a_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        LocalStorage(tmp_path).put_file("k", tmp_path / "missing")


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("relative/repo", "relative/repo"),
        ("/abs/repo", "/abs/repo"),
        ("file:///abs/repo", "/abs/repo"),
        ("file://localhost/abs/my%20repo", "/abs/my repo"),
    ],
)
def test_open_storage_local_urls(url: str, root: str) -> None:
    storage = open_storage(url)
    assert isinstance(storage, LocalStorage)
    assert storage.root == Path(root)
    assert storage.url == url


def test_open_storage_s3_url_is_lazy_and_displayed_plainly() -> None:
    storage = open_storage("s3://bucket/some/prefix/", endpoint_url="http://127.0.0.1:9")
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix) == ("bucket", "some/prefix")
    assert storage.url == "s3://bucket/some/prefix/"
    storage.close()


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://host/x",
        "file://otherhost/x",
        "s3://",
        "s3://key:secret@bucket/x",
        "s3://b/a/../c",
    ],
)
def test_open_storage_refuses_bad_urls(url: str) -> None:
    with pytest.raises(InvalidInput) as err:
        open_storage(url)
    assert "secret" not in str(err.value)
