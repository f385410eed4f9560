"""`RemoteTarget`: what every server at a URL shares, whatever kind it is.

`client` is a real `QdrantClient` (over gRPC for a `grpc://` target: endpoint.py);
beside it an `httpx.Client` with the same key reaches, over REST, what
qdrant-client has no call for: snapshot files (download, upload) and `/metrics`.
The kinds differ in aliases and index builds:
`crewchief.target.serve.ServeTarget` (`crewchief serve`) and
`crewchief.target.qdrant.QdrantTarget` (any other Qdrant server).
`open_target` asks the server once which kind it is.

A server's refusals become crewchief's typed errors here (`http_error`,
`as_crewchief_error`).
"""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import httpx
from qdrant_client import QdrantClient
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from crewchief.core.client import QdrantAPI
from crewchief.errors import (
    CrewchiefError,
    EngineFailure,
    InvalidInput,
    NotFound,
    Refused,
    Unreachable,
)
from crewchief.target.base import Target
from crewchief.target.endpoint import Endpoint, parse_endpoint


def reach(url: str, api_key: str | None, timeout: float) -> tuple[httpx.Client, httpx.Response]:
    """An HTTP client for the server at `url`, and its answer to `GET /` (which says what
    kind of server it is); Unreachable when nothing answers."""
    headers = {"api-key": api_key} if api_key else {}
    http = httpx.Client(base_url=url, headers=headers, timeout=timeout)
    try:
        return http, http.get("/")
    except httpx.HTTPError as exc:
        http.close()
        raise Unreachable(
            f"No Qdrant server answers at {url}: {exc}",
            hint="Check the URL and that the server runs (crewchief serve --data DIR)",
        ) from exc


class RemoteTarget(Target):
    kind = "remote"

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        *,
        http: httpx.Client | None = None,
    ) -> None:
        """Reach the server at `url` (Unreachable if nothing answers); `http`: a client
        for its REST API that has already had its answer (`open_target` asked which kind
        it is).  A `grpc://` URL: the client speaks gRPC, `http` REST on the same host."""
        self.endpoint: Endpoint = parse_endpoint(url)
        self.location = self.endpoint.location
        if http is None:
            http, _root = reach(self.endpoint.rest_url, api_key, timeout)
        self.http = http
        grpc_port = self.endpoint.grpc_port
        self.client: QdrantAPI = QdrantClient(  # mypy checks QdrantClient against QdrantAPI
            url=self.endpoint.rest_url,
            api_key=api_key,
            timeout=int(timeout),
            check_compatibility=False,
            prefer_grpc=grpc_port is not None,
            grpc_port=grpc_port or 6334,
        )

    def close(self) -> None:
        self.http.close()
        super().close()

    def download_snapshot(self, collection: str, snapshot: str, dest: Path) -> Path:
        with self.http.stream("GET", f"/collections/{collection}/snapshots/{snapshot}") as resp:
            raise_for(resp)
            with open(dest, "wb") as out:
                for block in resp.iter_bytes(1 << 20):
                    out.write(block)
        return dest

    def upload_snapshot(self, collection: str, path: Path, checksum: str | None = None) -> None:
        params = {"wait": "true", **({"checksum": checksum} if checksum else {})}
        with open(path, "rb") as f:
            resp = self.http.post(
                f"/collections/{collection}/snapshots/upload",
                params=params,
                files={"snapshot": (path.name, f, "application/octet-stream")},
                timeout=None,
            )
        raise_for(resp)

    def metrics(self) -> str:
        resp = self.http.get("/metrics")
        raise_for(resp)
        return resp.text


def raise_for(resp: httpx.Response, hint: str | None = None) -> None:
    if resp.status_code < 400:
        return
    resp.read()
    raise http_error(resp.status_code, resp.content, hint)


def http_error(status: int, body: bytes, hint: str | None = None) -> CrewchiefError:
    """A server's refusal as crewchief's typed error (a key refused or a conflict:
    `Refused`).  The error keeps the server's status, so whoever relays it (the
    dashboard) says 403 when the server said 403."""
    try:
        message = str(json.loads(body)["status"]["error"])
    except Exception:
        message = body.decode("utf-8", "replace")[:200]
    if status in (401, 403):
        hint = "Pass a key that may do this: --api-key (or QDRANT_API_KEY)"
    by_status: dict[int, type[CrewchiefError]] = {
        404: NotFound,
        401: Refused,
        403: Refused,
        409: Refused,
    }
    cls = by_status.get(status, InvalidInput if status < 500 else EngineFailure)
    error = cls(f"{status}: {message}", hint=hint)
    error.http_status = status
    return error


def as_crewchief_error(exc: Exception) -> CrewchiefError | None:
    """What qdrant-client or httpx raised talking to a target, as a typed error; None
    for anything else (a bug, to be reported with its traceback)."""
    if isinstance(exc, CrewchiefError):
        return exc
    if isinstance(exc, UnexpectedResponse):  # the server said no (401, 403, 404, ...)
        return http_error(exc.status_code or 502, exc.content)
    if isinstance(exc, grpc.RpcError):  # the same, over gRPC
        return rpc_error(exc)
    if isinstance(exc, ResponseHandlingException | httpx.HTTPError):
        return Unreachable(
            f"The target stopped answering: {exc}", hint="Is the Qdrant server up? Check --target"
        )
    return None


_GRPC_AS_HTTP = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.UNIMPLEMENTED: 501,
}


def rpc_error(exc: grpc.RpcError) -> CrewchiefError:
    """A gRPC refusal as the typed error its REST twin would give (`http_error`)."""
    code = exc.code() if callable(getattr(exc, "code", None)) else None
    details = exc.details() if callable(getattr(exc, "details", None)) else str(exc)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return Unreachable(
            f"The target stopped answering over gRPC: {details}",
            hint="Is the server up, and its gRPC port the one in --target (grpc://host:PORT)?",
        )
    status = _GRPC_AS_HTTP.get(code, 500) if isinstance(code, grpc.StatusCode) else 500
    body = json.dumps({"status": {"error": details}}).encode()
    return http_error(status, body)
