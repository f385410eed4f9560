"""Where a server is: its REST URL and, when the target speaks gRPC, its gRPC port.

    grpc://db.internal:6334               gRPC on 6334, REST on 6333 (Qdrant's pair)
    grpc://127.0.0.1:41518?rest_port=41517  gRPC and REST on ports of their own
    grpcs://db.example.com:6334           the same over TLS (https for REST)
    http://db.internal:6333               REST only; with CREWCHIEF_PREFER_GRPC=1 gRPC
                                          too, on CREWCHIEF_GRPC_PORT or the REST port + 1

Over gRPC, `target.client` is `QdrantClient(prefer_grpc=True)`; what gRPC has no
call for (snapshot download and upload, /metrics, crewchief's own routes) goes
to REST on the same host, so a gRPC target needs both ports reachable.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass

from crewchief.errors import InvalidInput

GRPC_SCHEMES = ("grpc", "grpcs")
REST_SCHEMES = ("http", "https")
QDRANT_REST, QDRANT_GRPC = 6333, 6334


@dataclass(frozen=True)
class Endpoint:
    location: str  # what the user gave, for display
    rest_url: str  # http(s)://host:port[/prefix]
    grpc_port: int | None  # None: REST only

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.rest_url).hostname or "localhost"

    @property
    def rest_port(self) -> int:
        parts = urllib.parse.urlsplit(self.rest_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def https(self) -> bool:
        return self.rest_url.startswith("https://")


def is_url(spec: str) -> bool:
    return spec.split("://", 1)[0].lower() in GRPC_SCHEMES + REST_SCHEMES and "://" in spec


def _truthy(raw: str | None) -> bool:
    return (raw or "").strip().lower() in ("1", "true", "yes", "on")


def _port(raw: str | None, what: str, spec: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise InvalidInput(f"{what} {raw!r} in {spec!r} is not a port number")
    return int(raw)


def parse_endpoint(spec: str) -> Endpoint:
    """`spec` (a grpc(s):// or http(s):// URL) as an Endpoint; InvalidInput if malformed."""
    location = spec.rstrip("/")
    parts = urllib.parse.urlsplit(location)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        raise InvalidInput(f"Bad port in {spec!r}") from None
    if scheme in REST_SCHEMES:
        grpc_port: int | None = None
        if _truthy(os.environ.get("CREWCHIEF_PREFER_GRPC")):
            rest_at = port or (443 if scheme == "https" else 80)
            env_port = _port(os.environ.get("CREWCHIEF_GRPC_PORT"), "CREWCHIEF_GRPC_PORT", spec)
            grpc_port = env_port or rest_at + 1
        return Endpoint(location, location, grpc_port)
    if scheme not in GRPC_SCHEMES or not parts.hostname:
        raise InvalidInput(
            f"Not a server URL: {spec!r}",
            hint="Use http(s)://host:6333 or grpc://host:6334 (REST on the same host)",
        )
    query = urllib.parse.parse_qs(parts.query)
    unknown = set(query) - {"rest_port"}
    if unknown:
        raise InvalidInput(
            f"Unknown option(s) {sorted(unknown)} in {spec!r}",
            hint="grpc://host:GRPC_PORT takes one option: ?rest_port=PORT",
        )
    grpc_at = port or QDRANT_GRPC
    rest_port = _port((query.get("rest_port") or [""])[0], "rest_port", spec)
    if rest_port is None:
        rest_port = QDRANT_REST if grpc_at == QDRANT_GRPC else grpc_at - 1
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    rest_scheme = "https" if scheme == "grpcs" else "http"
    return Endpoint(location, f"{rest_scheme}://{shown}:{rest_port}", grpc_at)
