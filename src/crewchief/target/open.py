"""`open_target`: from what the user typed (a URL or a directory) to a Target of the
right kind, decided once, here."""

from __future__ import annotations

import os
from pathlib import Path

from crewchief.engine.lock import read_owner
from crewchief.errors import NotFound
from crewchief.target.base import Target
from crewchief.target.embedded import EmbeddedTarget
from crewchief.target.endpoint import is_url, parse_endpoint
from crewchief.target.qdrant import QdrantTarget
from crewchief.target.remote import RemoteTarget, reach
from crewchief.target.serve import ServeTarget, is_crewchief_serve

DEFAULT_TARGET = "./crewchief-data"


def connect(url: str, api_key: str | None = None, timeout: float = 60.0) -> RemoteTarget:
    """The server at `url` (http(s):// or grpc(s)://: endpoint.py), as a `ServeTarget` if
    it is `crewchief serve` (it says so at `GET /`), else as a `QdrantTarget`."""
    endpoint = parse_endpoint(url)
    http, root = reach(endpoint.rest_url, api_key, timeout)
    kind = ServeTarget if is_crewchief_serve(root.text) else QdrantTarget
    return kind(endpoint.location, api_key, timeout, http=http)


def open_target(
    spec: str | None = None, api_key: str | None = None, create: bool = False
) -> Target:
    """`spec`: an http(s):// or grpc(s):// URL, or a data directory (default ./crewchief-data or
    $CREWCHIEF_TARGET).  A directory owned by a running `crewchief serve` is reached
    through that server instead.  A missing directory is an error unless `create`
    (a typo must not silently make a new, empty engine)."""
    spec = spec or os.environ.get("CREWCHIEF_TARGET") or DEFAULT_TARGET
    api_key = api_key or os.environ.get("QDRANT_API_KEY") or None
    if is_url(spec):
        return connect(spec, api_key)
    path = Path(spec)
    if not path.is_dir() and not create:
        raise NotFound(
            f"No data directory at {path}",
            hint="Check --target (or $CREWCHIEF_TARGET); `crewchief demo --data DIR` makes one",
        )
    owner = read_owner(path) if path.exists() else None
    if owner and owner.get("url"):
        return connect(owner["url"], api_key)
    return EmbeddedTarget(path)
