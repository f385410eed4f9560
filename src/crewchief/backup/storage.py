"""Where a backup repository keeps its objects: a local directory or an S3 bucket.

The interface is deliberately tiny (litestream/restic style): put, get (whole or a
byte range), exists, size, list, delete of whole objects under '/'-separated keys.  Everything a
repository needs (content addressing, manifests written last, pruning) is built
on top of it, and one contract test suite runs unchanged against every backend.

Both backends make a put atomic: a reader sees the old object or the new one,
never a part.  Locally that is a temp file + fsync + rename; in S3 it is what
PutObject and a completed multipart upload already guarantee.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from crewchief.errors import InvalidInput, NotFound, StorageError
from crewchief.fsutil import atomic_copy, fsync_dir

TEMP_PREFIX = ".crewchief-tmp-"  # in-flight local writes; never listed, never a key part
MAX_KEY_BYTES = 1024  # S3's limit, applied everywhere so backends accept the same keys
MAX_PART_BYTES = 255  # a file name's limit on common file systems
IOV_MAX = 1024  # buffers per writev (Linux's limit)
KEY_HINT = "Keys are relative '/'-separated paths like objects/ab/abcd... (no '..' or '\\')"


def _bad_key(key: object, why: str) -> InvalidInput:
    return InvalidInput(f"Invalid storage key {key!r}: {why}", hint=KEY_HINT)


def validate_key(key: object) -> str:
    """Return `key` if it is a safe relative path with non-empty parts, else InvalidInput."""
    if not isinstance(key, str) or not key:
        raise _bad_key(key, "it is empty")
    if any(ord(c) < 32 or c == "\\" for c in key):
        raise _bad_key(key, "it contains a backslash, NUL or control character")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise _bad_key(key[:40] + "...", f"it is longer than {MAX_KEY_BYTES} bytes")
    if key.startswith("/"):
        raise _bad_key(key, "it starts with '/'")
    for part in key.split("/"):
        if part in ("", ".", ".."):
            raise _bad_key(key, "it has an empty, '.' or '..' part")
        if part.startswith(TEMP_PREFIX) or len(part.encode("utf-8")) > MAX_PART_BYTES:
            raise _bad_key(key, f"a part is reserved or longer than {MAX_PART_BYTES} bytes")
    return key


def validate_prefix(prefix: str) -> str:
    """A list prefix: "" or any start of a valid key (it may end with '/')."""
    if prefix:
        validate_key(prefix.rstrip("/") + "/x" if prefix.endswith("/") else prefix + "x")
    return prefix


class Storage(ABC):
    """Whole objects under '/'-separated keys; see the module docstring."""

    url: str  # as given, for display (never includes secrets)

    @abstractmethod
    def put(self, key: str, data: bytes | bytearray | memoryview) -> None:
        """Store `data` under `key` atomically, replacing any previous object."""

    def put_parts(self, key: str, parts: Sequence[bytes | bytearray | memoryview]) -> None:
        """Like put, of the parts one after the other (locally written without joining them)."""
        self.put(key, b"".join(parts))

    @abstractmethod
    def put_file(self, key: str, path: Path) -> None:
        """Like put, streaming from the local file `path`."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The object's bytes; NotFound if there is none."""

    @abstractmethod
    def get_range(self, key: str, offset: int, length: int) -> bytes:
        """`length` bytes from `offset` (fewer at the object's end); NotFound if none."""

    @abstractmethod
    def get_file(self, key: str, path: Path) -> None:
        """Download the object to the local file `path` (created or replaced whole)."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def size(self, key: str) -> int:
        """The object's size in bytes; NotFound if there is none."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with `prefix` (a plain string prefix), sorted, at any depth."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""

    def close(self) -> None:  # noqa: B027 - optional hook, local storage holds nothing
        """Release connections."""

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


def _write_durably(path: Path, parts: Sequence[bytes | bytearray | memoryview]) -> None:
    """The parts as the file `path`: a temp file written straight from the buffers (gathered
    writes, no joined copy), fsynced, renamed into place, the folder fsynced."""
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=path.parent)
    views = [memoryview(p).cast("B") for p in parts]
    try:
        try:
            while views:
                written = os.writev(fd, views[:IOV_MAX])
                while views and written >= len(views[0]):
                    written -= len(views.pop(0))
                if written:  # a short write: the rest of that part next time
                    views[0] = views[0][written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _check_range(offset: int, length: int) -> None:
    if offset < 0 or length < 0:
        raise InvalidInput(f"Invalid byte range offset={offset} length={length}")


def _local_file(path: Path) -> Path:
    if not Path(path).is_file():
        raise InvalidInput(f"Not a file: {path}", hint="Pass an existing local file")
    return Path(path)


def not_found(storage: Storage, key: str) -> NotFound:
    return NotFound(
        f"No object `{key}` in {storage.url}",
        hint="Check the repository URL; a backup may have been forgotten or pruned",
    )


class LocalStorage(Storage):
    """A directory: one file per key, written by temp file + fsync + rename."""

    def __init__(self, root: Path | str, url: str | None = None) -> None:
        self.root = Path(root)
        self.url = url if url is not None else str(root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    @contextlib.contextmanager
    def _os_errors(self, key: str, reading: bool = True) -> Iterator[None]:
        """A missing file is NotFound when reading; any other OS error is a StorageError."""
        try:
            yield
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            if not reading:
                raise StorageError(
                    f"Cannot write `{key}` in {self.url}: {exc.strerror or exc}",
                    hint="A key cannot be both an object and a folder of other keys",
                ) from None
            raise not_found(self, key) from None
        except OSError as exc:
            raise StorageError(
                f"Cannot access `{key}` in {self.url}: {exc.strerror or exc}",
                hint="Check that the repository directory exists, is writable and has space",
            ) from None

    def _make_dirs(self, directory: Path) -> None:
        """Create `directory` and its missing parents, fsyncing each new entry."""
        missing: list[Path] = []
        while not directory.is_dir():
            missing.append(directory)
            directory = directory.parent
        for new in reversed(missing):
            with contextlib.suppress(FileExistsError):
                new.mkdir()
                fsync_dir(new.parent)

    def put(self, key: str, data: bytes | bytearray | memoryview) -> None:
        self.put_parts(key, [data])

    def put_parts(self, key: str, parts: Sequence[bytes | bytearray | memoryview]) -> None:
        target = self._path(key)
        with self._os_errors(key, reading=False):
            self._make_dirs(target.parent)
            _write_durably(target, parts)

    def put_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        with open(_local_file(path), "rb") as src, self._os_errors(key, reading=False):
            self._make_dirs(target.parent)
            atomic_copy(target, src, prefix=TEMP_PREFIX)

    def get(self, key: str) -> bytes:
        with self._os_errors(key):
            return self._path(key).read_bytes()

    def get_range(self, key: str, offset: int, length: int) -> bytes:
        _check_range(offset, length)
        with self._os_errors(key), open(self._path(key), "rb") as f:
            return os.pread(f.fileno(), length, offset) if length else b""

    def get_file(self, key: str, path: Path) -> None:
        with self._os_errors(key):
            src = open(self._path(key), "rb")  # noqa: SIM115 - closed below
        with src, self._os_errors(key, reading=False):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            atomic_copy(Path(path), src, durable=False, prefix=TEMP_PREFIX)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        with self._os_errors(key):
            status = self._path(key).stat()
        if not stat.S_ISREG(status.st_mode):
            raise not_found(self, key)
        return status.st_size

    def list(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        folder = prefix.rpartition("/")[0]
        start = self.root.joinpath(*folder.split("/")) if folder else self.root
        keys: list[str] = []
        for dirpath, _dirs, files in os.walk(start):
            base = Path(dirpath).relative_to(self.root).as_posix()
            for name in files:
                key = name if base == "." else f"{base}/{name}"
                if not name.startswith(TEMP_PREFIX) and key.startswith(prefix):
                    keys.append(key)
        yield from sorted(keys)

    def delete(self, key: str) -> None:
        path = self._path(key)
        gone = (FileNotFoundError, NotADirectoryError, IsADirectoryError)
        with self._os_errors(key, reading=False), contextlib.suppress(*gone):
            path.unlink()


class S3Storage(Storage):
    """Objects in an S3 (or S3-compatible) bucket under an optional key prefix."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        url: str | None = None,
    ) -> None:
        import boto3  # imported here: a local repository never pays for boto3
        import botocore.session
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = validate_prefix(prefix.strip("/"))
        self._base = f"{self.prefix}/" if self.prefix else ""
        self.url = url or f"s3://{bucket}/{self.prefix}".rstrip("/")
        core = botocore.session.get_session()  # fresh: sees the current AWS_* environment
        core.register_component("data_loader", _shared_loader())  # 10x faster clients
        session = boto3.session.Session(botocore_session=core)
        custom = {  # S3-compatible stores: path-style URLs, checksums only when required
            "s3": {"addressing_style": "path"},
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
        }
        config = Config(
            region_name=region or session.region_name or "us-east-1",
            retries={"mode": "standard"},  # 3 attempts; AWS_MAX_ATTEMPTS changes it
            connect_timeout=10,
            read_timeout=120,
            **(custom if endpoint_url else {}),
        )
        self._client = session.client("s3", endpoint_url=endpoint_url, config=config)

    @contextlib.contextmanager
    def _s3_errors(self, action: str, key: str) -> Iterator[None]:
        """Turn boto errors into NotFound / StorageError with a hint, never with secrets."""
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            if code in ("NoSuchKey", "404", "NotFound"):
                raise not_found(self, key) from None
            detail = f"{code}: {error.get('Message', '')}".rstrip(": ")
            raise StorageError(
                f"S3 {action} `{key}` in {self.url} failed ({detail})", hint=_s3_hint(code)
            ) from None
        except (BotoCoreError, Boto3Error) as exc:
            raise StorageError(
                f"S3 {action} `{key}` in {self.url} failed: {exc}",
                hint=_s3_hint(type(exc).__name__),
            ) from None

    def _key(self, key: str) -> str:
        return self._base + validate_key(key)

    def put(self, key: str, data: bytes | bytearray | memoryview) -> None:
        with self._s3_errors("put", key):
            self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=bytes(data))

    def put_file(self, key: str, path: Path) -> None:
        source = str(_local_file(path))
        with self._s3_errors("upload", key):
            self._client.upload_file(source, self.bucket, self._key(key))

    def get(self, key: str) -> bytes:
        with self._s3_errors("get", key):
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            return bytes(response["Body"].read())

    def get_range(self, key: str, offset: int, length: int) -> bytes:
        _check_range(offset, length)
        if not length:
            self.size(key)  # NotFound as for any other read
            return b""
        from botocore.exceptions import ClientError

        byte_range = f"bytes={offset}-{offset + length - 1}"
        with self._s3_errors("get", key):
            try:
                response = self._client.get_object(
                    Bucket=self.bucket, Key=self._key(key), Range=byte_range
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "InvalidRange":
                    raise
                self.size(key)
                return b""  # the range starts at or after the end
            return bytes(response["Body"].read())

    def get_file(self, key: str, path: Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with self._s3_errors("download", key):
            self._client.download_file(self.bucket, self._key(key), str(path))

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except NotFound:
            return False
        return True

    def size(self, key: str) -> int:
        with self._s3_errors("head", key):
            head = self._client.head_object(Bucket=self.bucket, Key=self._key(key))
            return int(head["ContentLength"])

    def list(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        keys: list[str] = []
        with self._s3_errors("list", prefix or "*"):
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._base + prefix
            )
            for page in pages:
                keys.extend(item["Key"][len(self._base) :] for item in page.get("Contents", []))
        yield from sorted(keys)  # S3 sorts by UTF-8 bytes; some compatible stores do not

    def delete(self, key: str) -> None:
        with self._s3_errors("delete", key):
            self._client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def close(self) -> None:
        self._client.close()


@functools.cache
def _shared_loader() -> Any:
    """botocore's loader of service models, parsed once per process instead of per client."""
    from botocore.loaders import create_loader

    return create_loader()


AUTH_ERRORS = {"403", "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
AUTH_ERRORS |= {"ExpiredToken", "NoCredentialsError", "PartialCredentialsError"}


def _s3_hint(code: str) -> str:
    if code in ("NoSuchBucket", "AllAccessDisabled"):
        return "Check the bucket name in the repository URL, or create the bucket"
    if code in AUTH_ERRORS:
        return "Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and permissions"
    return (
        "Check the endpoint (--endpoint-url, CREWCHIEF_S3_ENDPOINT or AWS_ENDPOINT_URL), "
        "the region and the network"
    )


def open_storage(url: str, endpoint_url: str | None = None, region: str | None = None) -> Storage:
    """The storage behind `url`: a path, `file:///path` or `s3://bucket/prefix`.

    For S3 the endpoint comes from `endpoint_url`, else `CREWCHIEF_S3_ENDPOINT`,
    else `AWS_ENDPOINT_URL` (none: AWS itself); credentials and region come
    from the usual AWS environment variables and config files.
    """
    if "://" not in url:
        if not url:
            raise InvalidInput("Empty repository URL", hint="Try: --repo ./backups")
        return LocalStorage(Path(url).expanduser(), url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InvalidInput(f"Remote file URL {url!r}", hint="Use file:///absolute/path")
        return LocalStorage(Path(unquote(parts.path)), url)
    if scheme == "s3":
        if "@" in parts.netloc or not parts.netloc:
            raise InvalidInput(
                "An s3:// URL needs a bucket and may not carry credentials",
                hint="Use s3://bucket/prefix with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY set",
            )
        env = os.environ.get
        endpoint = endpoint_url or env("CREWCHIEF_S3_ENDPOINT") or env("AWS_ENDPOINT_URL")
        path = unquote(parts.path)
        return S3Storage(parts.netloc, path, endpoint_url=endpoint, region=region, url=url)
    raise InvalidInput(
        f"Unsupported repository URL scheme {scheme!r}",
        hint="Use a directory path, file:///path or s3://bucket/prefix",
    )
