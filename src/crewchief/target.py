"""One interface over "an embedded data directory" and "a Qdrant server at a URL".

The ops layer (health, aliases, deploy, gc, backups) is written once against
`Target`.  `target.client` speaks `QdrantClient`'s API in both cases (the
embedded `Engine` mirrors it); the few things qdrant-client has no call for
(alias history, compare-and-set, snapshot download/upload, explicit index
builds, Prometheus metrics) are methods here, implemented for both kinds.

Compare-and-set alias batches are atomic on the embedded engine and on
`crewchief serve` (`POST /crewchief/aliases`: the engine checks and applies under
one lock).  A plain Qdrant server has no conditional alias update: there the
check is made just before the batch, and a writer in between goes unnoticed.

Alias history lives where the aliases live:
- embedded: the engine's `alias-history.jsonl` in the data directory;
- `crewchief serve`: the same journal, read over `GET /crewchief/alias-history`;
- any other Qdrant server: a small collection `crewchief_alias_history` on the
  server itself, so every operator sees the same history.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from crewchief.core.client import QdrantAPI
from crewchief.core.metrics import collect_engine_state, render_engine_state
from crewchief.engine.catalog import (
    AliasChange,
    AliasOp,
    check_expected,
    now_iso,
    plan_alias_changes,
)
from crewchief.engine.lock import read_owner
from crewchief.errors import (
    CrewchiefError,
    EngineFailure,
    InvalidInput,
    NotFound,
    Refused,
    Unreachable,
)

DEFAULT_TARGET = "./crewchief-data"
HISTORY_COLLECTION = "crewchief_alias_history"
INTERNAL_PREFIX = "crewchief_"


class Target(ABC):
    """Where the collections are.  `client` is QdrantClient-compatible."""

    kind: str
    native_kind: str  # the kind of snapshot file it makes and recovers
    location: str
    client: QdrantAPI

    def collection_names(self) -> list[str]:
        """User collections (crewchief's own bookkeeping collections left out)."""
        names = [c.name for c in self.client.get_collections().collections]
        return sorted(n for n in names if not n.startswith(INTERNAL_PREFIX))

    def aliases(self) -> dict[str, str]:
        return {a.alias_name: a.collection_name for a in self.client.get_aliases().aliases}

    def update_aliases(
        self, operations: Sequence[AliasOp], expect: dict[str, str | None] | None = None
    ) -> list[AliasChange]:
        """Apply an alias batch; with `expect`, refuse if any alias is not where expected.

        This default checks, then changes: best effort, for servers with no
        conditional alias update (plain Qdrant).  The other targets override it."""
        current = self.aliases()
        check_expected(current, expect)
        _new, changes = plan_alias_changes(current, set(self.collection_names()), operations)
        self.client.update_collection_aliases(list(operations))
        return self._record(changes)

    @abstractmethod
    def _record(self, changes: list[tuple[str, str | None, str | None, str]]) -> list[AliasChange]:
        """Record alias changes in the history (where the target keeps it)."""

    @abstractmethod
    def alias_history(self, alias: str | None = None) -> list[AliasChange]:
        """Alias changes, oldest first."""

    @abstractmethod
    def optimize(self, collection: str) -> None:
        """Ask for the index to be built now (a server does this by itself)."""

    @abstractmethod
    def download_snapshot(self, collection: str, snapshot: str, dest: Path) -> Path:
        """Copy a collection snapshot file to `dest` (a file path)."""

    @abstractmethod
    def upload_snapshot(self, collection: str, path: Path, checksum: str | None = None) -> None:
        """Recover `collection` from a local snapshot file."""

    @abstractmethod
    def metrics(self) -> str:
        """The target's state in Prometheus text format (what a server's /metrics says)."""

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EmbeddedTarget(Target):
    kind = "embedded"
    native_kind = "crewchief-edge"  # what its snapshots are, and what it can recover

    def __init__(self, path: str | Path) -> None:
        from crewchief.engine import Engine

        self.location = str(path)
        self.engine = Engine(path)
        self.client = self.engine
        self._owns_engine = True

    @classmethod
    def around(cls, engine: Any) -> EmbeddedTarget:
        """A target over an engine someone else opened and will close (`crewchief serve`):
        the engine owns the data directory's lock, so it cannot be opened twice."""
        target = cls.__new__(cls)
        target.location = str(getattr(engine, "path", ""))
        target.engine = engine
        target.client = engine
        target._owns_engine = False
        return target

    def close(self) -> None:
        if self._owns_engine:
            super().close()

    def update_aliases(
        self, operations: Sequence[AliasOp], expect: dict[str, str | None] | None = None
    ) -> list[AliasChange]:
        return self.engine.change_aliases(operations, expect)

    def _record(self, changes: list[tuple[str, str | None, str | None, str]]) -> list[AliasChange]:
        raise AssertionError("the engine journals its own alias changes")  # pragma: no cover

    def alias_history(self, alias: str | None = None) -> list[AliasChange]:
        return self.engine.alias_history(alias)

    def optimize(self, collection: str) -> None:
        # This process owns the engine: if it returned before the build finished and
        # exited, the build would be abandoned.  So wait here.
        self.engine.optimize(collection, wait=True)

    def download_snapshot(self, collection: str, snapshot: str, dest: Path) -> Path:
        import shutil

        shutil.copyfile(self.engine.snapshot_file(collection, snapshot), dest)
        return dest

    def upload_snapshot(self, collection: str, path: Path, checksum: str | None = None) -> None:
        self.engine.recover_snapshot(collection, str(path), checksum=checksum)

    def metrics(self) -> str:
        """What `crewchief serve` renders from its engine, without its request counters."""
        from crewchief import __version__

        return render_engine_state(collect_engine_state(self.engine), __version__)


class RemoteTarget(Target):
    kind = "remote"

    def __init__(self, url: str, api_key: str | None = None, timeout: float = 60.0) -> None:
        self.location = url.rstrip("/")
        headers = {"api-key": api_key} if api_key else {}
        self.http = httpx.Client(base_url=self.location, headers=headers, timeout=timeout)
        try:
            root = self.http.get("/")
        except httpx.HTTPError as exc:
            raise Unreachable(
                f"No Qdrant server answers at {self.location}: {exc}",
                hint="Check the URL and that the server runs (crewchief serve --data DIR)",
            ) from exc
        self.is_crewchief = "crewchief" in root.text
        self.native_kind = "crewchief-edge" if self.is_crewchief else "qdrant"
        self.client = QdrantClient(
            url=self.location, api_key=api_key, timeout=int(timeout), check_compatibility=False
        )

    def close(self) -> None:
        self.http.close()
        super().close()

    # -- aliases -----------------------------------------------------------------------------------

    def update_aliases(
        self, operations: Sequence[AliasOp], expect: dict[str, str | None] | None = None
    ) -> list[AliasChange]:
        """On crewchief serve: one request, checked and applied under the engine's lock."""
        if not self.is_crewchief:
            return super().update_aliases(operations, expect)
        body = {
            "actions": [op.model_dump(mode="json", exclude_none=True) for op in operations],
            "expect": expect or {},
        }
        resp = self.http.post("/crewchief/aliases", json=body)
        _raise_for(resp, hint="Look at the aliases now: crewchief alias list, alias history")
        return [AliasChange(**rec) for rec in resp.json()["result"]]

    def _record(self, changes: list[tuple[str, str | None, str | None, str]]) -> list[AliasChange]:
        """Plain Qdrant only (crewchief serve's engine journals its own changes)."""
        self._ensure_history_collection()
        seq = time.time_ns()
        recorded = [AliasChange(seq, now_iso(), a, o, n, op) for a, o, n, op in changes]
        if recorded:
            self.client.upsert(
                HISTORY_COLLECTION,
                [
                    models.PointStruct(id=str(uuid.uuid4()), vector=[1.0], payload=c.to_json())
                    for c in recorded
                ],
            )
        return recorded

    def _ensure_history_collection(self) -> None:
        if self.client.collection_exists(HISTORY_COLLECTION):
            return
        try:
            self.client.create_collection(
                HISTORY_COLLECTION,
                vectors_config=models.VectorParams(size=1, distance=models.Distance.DOT),
            )
        except UnexpectedResponse as exc:
            if exc.status_code != 409:  # 409: another operator made it meanwhile
                raise

    def alias_history(self, alias: str | None = None) -> list[AliasChange]:
        if self.is_crewchief:
            params = {"alias": alias} if alias else {}
            resp = self.http.get("/crewchief/alias-history", params=params)
            _raise_for(resp)
            return [AliasChange(**rec) for rec in resp.json()["result"]]
        if not self.client.collection_exists(HISTORY_COLLECTION):
            return []
        flt = None
        if alias:
            flt = models.Filter(
                must=[models.FieldCondition(key="alias", match=models.MatchValue(value=alias))]
            )
        out: list[AliasChange] = []
        offset = None
        while True:
            page, offset = self.client.scroll(
                HISTORY_COLLECTION, scroll_filter=flt, limit=256, offset=offset
            )
            out.extend(AliasChange(**p.payload) for p in page if p.payload)
            if offset is None:
                break
        return sorted(out, key=lambda c: (c.seq, c.time))

    # -- the rest --------------------------------------------------------------------------------

    def optimize(self, collection: str) -> None:
        """A Qdrant server indexes by itself; crewchief serve is asked explicitly."""
        if self.is_crewchief:
            _raise_for(self.http.post(f"/crewchief/collections/{collection}/optimize"))

    def download_snapshot(self, collection: str, snapshot: str, dest: Path) -> Path:
        with self.http.stream("GET", f"/collections/{collection}/snapshots/{snapshot}") as resp:
            _raise_for(resp)
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
        _raise_for(resp)

    def metrics(self) -> str:
        resp = self.http.get("/metrics")
        _raise_for(resp)
        return resp.text


def _raise_for(resp: httpx.Response, hint: str | None = None) -> None:
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
    if isinstance(exc, ResponseHandlingException | httpx.HTTPError):
        return Unreachable(
            f"The target stopped answering: {exc}", hint="Is the Qdrant server up? Check --target"
        )
    return None


def open_target(
    spec: str | None = None, api_key: str | None = None, create: bool = False
) -> Target:
    """`spec`: an http(s) URL, or a data directory (default ./crewchief-data or
    $CREWCHIEF_TARGET).  A directory owned by a running `crewchief serve` is reached
    through that server instead.  A missing directory is an error unless `create`
    (a typo must not silently make a new, empty engine)."""
    spec = spec or os.environ.get("CREWCHIEF_TARGET") or DEFAULT_TARGET
    api_key = api_key or os.environ.get("QDRANT_API_KEY") or None
    if spec.startswith(("http://", "https://")):
        return RemoteTarget(spec, api_key)
    path = Path(spec)
    if not path.is_dir() and not create:
        raise NotFound(
            f"No data directory at {path}",
            hint="Check --target (or $CREWCHIEF_TARGET); `crewchief demo --data DIR` makes one",
        )
    owner = read_owner(path) if path.exists() else None
    if owner and owner.get("url"):
        return RemoteTarget(owner["url"], api_key)
    return EmbeddedTarget(path)
