"""What only the S3 backend does: endpoints from the environment, network and bucket errors."""

from __future__ import annotations

import socket
import uuid

import pytest

from crewchief.backup.storage import S3Storage, open_storage
from crewchief.errors import StorageError

SECRET = "dont-print-this-secret"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_endpoint_from_environment(
    s3_url: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, endpoint = s3_url
    monkeypatch.setenv("CREWCHIEF_S3_ENDPOINT", endpoint)
    with open_storage(f"{url}/{uuid.uuid4().hex}") as storage:
        storage.put("k", b"v")
        assert storage.get("k") == b"v"


def test_unreachable_endpoint_is_a_storage_error_without_secrets(
    s3_url: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    storage = open_storage("s3://bucket/x", endpoint_url=f"http://127.0.0.1:{closed_port()}")
    calls = [lambda: storage.get("k"), lambda: storage.put("k", b"v"), lambda: list(storage.list())]
    for call in calls:
        with pytest.raises(StorageError) as err:
            call()
        assert SECRET not in str(err.value) and SECRET not in (err.value.hint or "")
        assert "endpoint" in (err.value.hint or "")
    storage.close()


def test_missing_bucket_is_a_storage_error(s3_url: tuple[str, str]) -> None:
    _url, endpoint = s3_url
    with S3Storage("no-such-bucket-here", "p", endpoint_url=endpoint) as storage:
        with pytest.raises(StorageError) as err:
            storage.put("k", b"v")
        assert "NoSuchBucket" in str(err.value)
        assert "bucket" in (err.value.hint or "")
        with pytest.raises(StorageError):
            list(storage.list())
