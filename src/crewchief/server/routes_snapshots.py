"""Collection snapshots and full snapshots: Qdrant's snapshot REST routes.

`wait=false` answers 202 `accepted` (as Qdrant does) and finishes the work in
a background task.  Recovery accepts a `file://` location, a local path, an
`http(s)://` URL (downloaded first) or a multipart upload; uploaded and
downloaded files live in the engine's upload folder only until the engine has
recovered from them (or refused them: nothing changes then).

A `file://` location must name a file inside the data directory (403 Forbidden
otherwise, as Qdrant answers for one outside its snapshots directory).

The shard snapshot API (`/collections/{name}/shards/{shard_id}/snapshots...`) works
for shard 0, the only shard a crewchief collection has: a shard snapshot *is* the
collection's snapshot (the same file, listed under both), and recovering one
replaces the collection's data as Qdrant replaces the shard's.  Other shard ids are
404, as in a Qdrant collection of one shard.
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path
from typing import Any

from qdrant_client.http import models
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from crewchief.server.dispatch import call, drop_none, engine_of, spawn
from crewchief.server.envelope import (
    ApiError,
    accepted,
    ok,
    parse_body,
    query_bool,
    query_enum,
    query_str,
)
from crewchief.server.uploads import download_snapshot, receive_snapshot_part


def _collection(request: Request) -> str:
    if "shard_id" in request.path_params:
        _shard_zero(request)
    return str(request.path_params["collection_name"])


def _shard_zero(request: Request) -> None:
    raw = str(request.path_params["shard_id"])
    if not raw.isdigit():
        raise ApiError(400, f"Deserialize error in path parameters: can not parse {raw!r} to a u32")
    if int(raw) != 0:
        name = request.path_params["collection_name"]
        raise ApiError(404, f"Not found: Shard {raw} of collection {name} does not exist")


def _checksum(value: str | None, where: str) -> str | None:
    """Qdrant validates a checksum's form before touching any file."""
    if value is not None and not _SHA256.fullmatch(value):
        raise ApiError(422, f"Validation error in {where}: [checksum: invalid_sha256_hash]")
    return value


_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def _wait(request: Request) -> bool:
    return query_bool(request, "wait", True)


def _counted_create(request: Request, collection: str | None) -> Any:
    """The engine's create call that also bumps `snapshot_created_total`."""
    engine, metrics = engine_of(request), request.app.state.metrics

    def create() -> Any:
        if collection is None:
            result = engine.create_full_snapshot(wait=True)
            for description in engine.get_collections().collections:  # one snapshot each
                metrics.snapshot_created(description.name)
        else:
            result = engine.create_snapshot(collection, wait=True)
            metrics.snapshot_created(collection)
        return result

    return create


async def create_snapshot(request: Request) -> Response:
    create = _counted_create(request, _collection(request))
    if not _wait(request):
        spawn(request, "snapshot", create)
        return accepted(request)
    return ok(request, await run_in_threadpool(create))


async def list_snapshots(request: Request) -> Response:
    return ok(request, await call(engine_of(request).list_snapshots, _collection(request)))


async def delete_snapshot(request: Request) -> Response:
    engine, name = engine_of(request), request.path_params["snapshot_name"]
    if not _wait(request):
        spawn(request, "snapshot delete", engine.delete_snapshot, _collection(request), name)
        return accepted(request)
    return ok(request, await call(engine.delete_snapshot, _collection(request), name))


async def download_snapshot_file(request: Request) -> Response:
    name = request.path_params["snapshot_name"]
    path = await call(engine_of(request).snapshot_file, _collection(request), name)
    return FileResponse(path, media_type="application/octet-stream", filename=name)


async def _recover(
    request: Request, collection: str, path: str, checksum: str | None, cleanup: Path | None
) -> Response:
    engine = engine_of(request)

    def recover() -> Any:
        try:
            result = engine.recover_snapshot(collection, path, **drop_none(checksum=checksum))
            return True if result is None else result
        finally:
            if cleanup is not None:
                cleanup.unlink(missing_ok=True)

    if not _wait(request):
        spawn(request, "snapshot recovery", recover)
        return accepted(request)
    return ok(request, await run_in_threadpool(recover))


async def recover_snapshot(request: Request) -> Response:
    collection = _collection(request)
    if "shard_id" in request.path_params:  # a shard is recovered into its collection
        await call(engine_of(request).get_collection, collection)
    body: models.SnapshotRecover = await parse_body(request, models.SnapshotRecover)
    _checksum(body.checksum, "JSON body")
    location, cleanup = body.location, None
    if location.startswith(("http://", "https://")):
        upload_dir = await call(engine_of(request).upload_dir)
        cleanup = await download_snapshot(
            location, upload_dir, request.app.state.max_upload_bytes, body.api_key
        )
        location = str(cleanup)
    elif location.startswith("file:"):
        location = _local_file(engine_of(request).path, location)
    elif not _inside(Path(location), engine_of(request).path):  # a path: the server's own
        raise ApiError(
            400,
            f"Bad request: Snapshot location {location!r} is outside the server's data "
            "directory: upload the file instead (POST /collections/{name}/snapshots/upload)",
        )
    return await _recover(request, collection, location, body.checksum, cleanup)


def _inside(path: Path, data_dir: Path) -> bool:
    return path.resolve().is_relative_to(data_dir.resolve())


def _local_file(data_dir: Path, location: str) -> str:
    """A `file://` location as Qdrant checks it: absolute, existing, and inside the
    server's own files (the server must not read arbitrary files of its host)."""
    parsed = urllib.parse.urlparse(location)
    if parsed.netloc not in ("", "localhost") or not parsed.path.startswith("/"):
        raise ApiError(
            400, "Bad request: Invalid snapshot URI, file path must be absolute or on localhost"
        )
    path = Path(urllib.parse.unquote(parsed.path))
    if not path.exists():
        raise ApiError(400, f'Bad request: Snapshot file "{path}" does not exist')
    if not _inside(path, data_dir):
        raise ApiError(
            403,
            "Forbidden: Snapshot file path must be inside the snapshots directory "
            f'"{data_dir.resolve()}"',
        )
    return str(path.resolve())


async def upload_snapshot(request: Request) -> Response:
    collection = _collection(request)
    _wait(request)  # validate query parameters before reading the body
    query_enum(request, "priority", models.SnapshotPriority)  # one replica: ignored
    checksum = _checksum(query_str(request, "checksum"), "query parameters")
    upload_dir = await call(engine_of(request).upload_dir)
    path = await receive_snapshot_part(request, upload_dir, request.app.state.max_upload_bytes)
    return await _recover(request, collection, str(path), checksum, path)


async def create_full_snapshot(request: Request) -> Response:
    create = _counted_create(request, None)
    if not _wait(request):
        spawn(request, "full snapshot", create)
        return accepted(request)
    return ok(request, await run_in_threadpool(create))


async def list_full_snapshots(request: Request) -> Response:
    return ok(request, await call(engine_of(request).list_full_snapshots))


async def delete_full_snapshot(request: Request) -> Response:
    engine, name = engine_of(request), request.path_params["snapshot_name"]
    if not _wait(request):
        spawn(request, "full snapshot delete", engine.delete_full_snapshot, name)
        return accepted(request)
    return ok(request, await call(engine.delete_full_snapshot, name))


async def download_full_snapshot_file(request: Request) -> Response:
    name = request.path_params["snapshot_name"]
    path = await call(engine_of(request).full_snapshot_file, name)
    return FileResponse(path, media_type="application/octet-stream", filename=name)


async def stream_shard_snapshot(request: Request) -> Response:
    """A fresh snapshot of shard 0, streamed, and not kept (Qdrant's `/shards/0/snapshot`)."""
    collection = _collection(request)
    engine = engine_of(request)
    created = await call(engine.create_snapshot, collection, wait=True)
    path = await call(engine.snapshot_file, collection, created.name)

    def forget() -> None:
        engine.delete_snapshot(collection, created.name)

    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=created.name,
        background=BackgroundTask(forget),
    )


_S = "/collections/{collection_name}/snapshots"
_SHARD = "/collections/{collection_name}/shards/{shard_id}"
routes = [
    Route(_S, create_snapshot, methods=["POST"]),
    Route(_S, list_snapshots, methods=["GET"]),
    Route(_S + "/recover", recover_snapshot, methods=["PUT"]),
    Route(_S + "/upload", upload_snapshot, methods=["POST"]),
    Route(_S + "/{snapshot_name}", download_snapshot_file, methods=["GET"]),
    Route(_S + "/{snapshot_name}", delete_snapshot, methods=["DELETE"]),
    Route(_SHARD + "/snapshot", stream_shard_snapshot, methods=["GET"]),
    Route(_SHARD + "/snapshots", create_snapshot, methods=["POST"]),
    Route(_SHARD + "/snapshots", list_snapshots, methods=["GET"]),
    Route(_SHARD + "/snapshots/recover", recover_snapshot, methods=["PUT"]),
    Route(_SHARD + "/snapshots/upload", upload_snapshot, methods=["POST"]),
    Route(_SHARD + "/snapshots/{snapshot_name}", download_snapshot_file, methods=["GET"]),
    Route(_SHARD + "/snapshots/{snapshot_name}", delete_snapshot, methods=["DELETE"]),
    Route("/snapshots", create_full_snapshot, methods=["POST"]),
    Route("/snapshots", list_full_snapshots, methods=["GET"]),
    Route("/snapshots/{snapshot_name}", download_full_snapshot_file, methods=["GET"]),
    Route("/snapshots/{snapshot_name}", delete_full_snapshot, methods=["DELETE"]),
]
