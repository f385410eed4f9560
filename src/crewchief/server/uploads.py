"""Snapshot files arriving over the network, streamed to disk with a size limit.

Two ways in, both ending as a file in the engine's upload folder (inside the
data directory, so the engine can move it without copying across disks):

- `receive_snapshot_part`: the `snapshot` part of a multipart/form-data body
  (what qdrant-client's `recover_from_uploaded_snapshot` and curl `-F` send),
  parsed incrementally with python-multipart, never held in memory whole.
- `download_snapshot`: an `http(s)://` location given to the recover route.

A body larger than the limit is refused with 413 as soon as it crosses it;
the partial file is removed.  Validating the archive itself (links, devices,
absolute paths, `..`, checksum) is the engine's job in `recover_snapshot`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO

import httpx
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from crewchief.server.envelope import ApiError

DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024**3  # 64 GiB
UPLOAD_FIELD = "snapshot"


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"Payload too large: snapshot uploads are limited to {limit} bytes")


def _new_upload_file(upload_dir: Path) -> tuple[Path, IO[bytes]]:
    upload_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".snapshot", dir=upload_dir)
    return Path(name), os.fdopen(fd, "wb")


class _SnapshotPart:
    """python-multipart callbacks that keep only the `snapshot` part's bytes."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []
        self.found = False
        self._writing = False
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("latin-1")
        self._writing = name == UPLOAD_FIELD and not self.found
        self.found = self.found or self._writing

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._writing:
            self.pending.append(data[start:end])

    def _part_end(self) -> None:
        self._writing = False


def _check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise too_large(limit)


async def receive_snapshot_part(request: Request, upload_dir: Path, limit: int) -> Path:
    """Stream the multipart `snapshot` part into a new file; return its path."""
    content_type, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise ApiError(400, "Expected a multipart/form-data body with a `snapshot` file part")
    _check_declared_length(request, limit)
    part = _SnapshotPart()
    parser = MultipartParser(boundary, part.callbacks())  # type: ignore[arg-type]
    path, out = await run_in_threadpool(_new_upload_file, upload_dir)
    size = 0
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if part.pending:
                data = b"".join(part.pending)
                part.pending.clear()
                size += len(data)
                if size > limit:
                    raise too_large(limit)
                await run_in_threadpool(out.write, data)
        parser.finalize()
        if not part.found:
            raise ApiError(400, "The multipart body has no `snapshot` file part")
        await run_in_threadpool(out.close)
        return path
    except MultipartParseError as exc:
        _discard(path, out)
        raise ApiError(400, f"Malformed multipart body: {exc}") from None
    except ClientDisconnect:
        _discard(path, out)
        raise ApiError(400, "The client went away before the upload finished") from None
    except BaseException:
        _discard(path, out)
        raise


async def download_snapshot(
    url: str, upload_dir: Path, limit: int, api_key: str | None = None
) -> Path:
    """Fetch an http(s) snapshot location into a new file; return its path."""
    headers = {"api-key": api_key} if api_key else {}
    path, out = await run_in_threadpool(_new_upload_file, upload_dir)
    size = 0
    try:
        timeout = httpx.Timeout(30.0, read=300.0)
        async with (
            httpx.AsyncClient(follow_redirects=True, timeout=timeout) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            if response.status_code != 200:
                raise ApiError(
                    400, f"Failed to download snapshot from {url}: HTTP {response.status_code}"
                )
            async for data in response.aiter_bytes():
                size += len(data)
                if size > limit:
                    raise too_large(limit)
                await run_in_threadpool(out.write, data)
        await run_in_threadpool(out.close)
        return path
    except httpx.HTTPError as exc:
        _discard(path, out)
        raise ApiError(400, f"Failed to download snapshot from {url}: {exc}") from None
    except BaseException:
        _discard(path, out)
        raise


def _discard(path: Path, out: IO[bytes]) -> None:
    try:
        out.close()
    finally:
        path.unlink(missing_ok=True)
