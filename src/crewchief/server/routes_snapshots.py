"""Collection snapshots and full snapshots: Qdrant's snapshot REST routes.

`wait=false` answers 202 `accepted` (as Qdrant does) and finishes the work in
a background task.  Recovery accepts a `file://` location, a local path, an
`http(s)://` URL (downloaded first) or a multipart upload; uploaded and
downloaded files live in the engine's upload folder only until the engine has
recovered from them (or refused them: nothing changes then).
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

from qdrant_client.http import models
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from crewchief.errors import InvalidInput
from crewchief.server.dispatch import call, drop_none, engine_of, spawn
from crewchief.server.envelope import (
    accepted,
    ok,
    parse_body,
    query_bool,
    query_enum,
    query_str,
)
from crewchief.server.uploads import download_snapshot, receive_snapshot_part


def _collection(request: Request) -> str:
    return str(request.path_params["collection_name"])


def _wait(request: Request) -> bool:
    return query_bool(request, "wait", True)


def _counted_create(request: Request, collection: str | None) -> Any:
    """The engine's create call that also bumps `snapshot_created_total`."""
    engine, metrics = engine_of(request), request.app.state.metrics

    def create() -> Any:
        if collection is None:
            result = engine.create_full_snapshot(wait=True)
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
    body: models.SnapshotRecover = await parse_body(request, models.SnapshotRecover)
    location, cleanup = body.location, None
    if location.startswith(("http://", "https://")):
        upload_dir = await call(engine_of(request).upload_dir)
        cleanup = await download_snapshot(
            location, upload_dir, request.app.state.max_upload_bytes, body.api_key
        )
        location = str(cleanup)
    else:
        _check_local_location(engine_of(request).path, location)
    return await _recover(request, collection, location, body.checksum, cleanup)


def _check_local_location(data_dir: Path, location: str) -> None:
    """A client may name only files the server already keeps (its snapshots, its uploads):
    the server must not read arbitrary files of its host on a remote request."""
    parsed = urllib.parse.urlparse(location)
    raw = urllib.parse.unquote(parsed.path) if parsed.scheme == "file" else location
    if not Path(raw).resolve().is_relative_to(data_dir.resolve()):
        raise InvalidInput(
            f"Snapshot location {location!r} is outside the server's data directory",
            hint="Upload the file instead: POST /collections/{name}/snapshots/upload",
        )


async def upload_snapshot(request: Request) -> Response:
    collection = _collection(request)
    _wait(request)  # validate query parameters before reading the body
    query_enum(request, "priority", models.SnapshotPriority)  # one replica: ignored
    checksum = query_str(request, "checksum")
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


_S = "/collections/{collection_name}/snapshots"
routes = [
    Route(_S, create_snapshot, methods=["POST"]),
    Route(_S, list_snapshots, methods=["GET"]),
    Route(_S + "/recover", recover_snapshot, methods=["PUT"]),
    Route(_S + "/upload", upload_snapshot, methods=["POST"]),
    Route(_S + "/{snapshot_name}", download_snapshot_file, methods=["GET"]),
    Route(_S + "/{snapshot_name}", delete_snapshot, methods=["DELETE"]),
    Route("/snapshots", create_full_snapshot, methods=["POST"]),
    Route("/snapshots", list_full_snapshots, methods=["GET"]),
    Route("/snapshots/{snapshot_name}", download_full_snapshot_file, methods=["GET"]),
    Route("/snapshots/{snapshot_name}", delete_full_snapshot, methods=["DELETE"]),
]
