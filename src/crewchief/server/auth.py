"""The server's key and JWT middleware: `crewchief.core.keys` rules, Qdrant's answers.

    Middleware(ApiKeyMiddleware, keys=DashboardKeys(api_key, ro_key, jwt_rbac=True),
               value_exists=engine_value_exists(engine))

Every HTTP request is judged before it reaches a route, from its method and
path (`keys.need`) and the key or token it presents (`keys.authenticate`):

- a refused key or token (none, wrong, expired, badly signed, a `value_exists`
  that no longer holds) answers as Qdrant's auth layer does: 401 or 403 with the
  message as plain text (under `/dashboard/` in Qdrant's JSON error format,
  which the dashboard's page reads);
- a request beyond the access answers 403 in Qdrant's JSON error format with
  Qdrant's text ("Forbidden: Global manage access is required", ...);
- for a per-collection token, a query body naming another collection
  (`lookup_from`, `with_lookup`) is refused unless the token names it too, and
  listings (collections, aliases, telemetry, issues) are trimmed to its
  collections, as Qdrant trims them.

The rules themselves (public paths, each route's needs, constant-time key
comparison, token decoding) live in `crewchief.core`, so the dashboard can
extend them without importing the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from qdrant_client import models
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crewchief.core.access import (
    Access,
    filter_answer,
    filters_answer,
    lookup_refusal,
    reads_other_collections,
)
from crewchief.core.keys import STATEFUL_FAILED, ApiKeys, ValueExists, presented_key
from crewchief.engine import Engine
from crewchief.errors import CollectionNotFound, CrewchiefError
from crewchief.server.envelope import error_body

ValueCheck = Callable[[ValueExists], bool]  # True: a matching point exists


def engine_value_exists(engine: Engine) -> ValueCheck:
    """A token's `value_exists` checked as Qdrant checks it: scroll for one matching point."""

    def exists(check: ValueExists) -> bool:
        conditions: list[models.Condition] = [
            models.FieldCondition(key=key, match=models.MatchValue(value=value))
            for key, value in check.matches
        ]
        points, _ = engine.scroll(
            check.collection,
            scroll_filter=models.Filter(must=conditions),
            limit=1,
            with_payload=False,
            with_vectors=False,
        )
        return bool(points)

    return exists


class ApiKeyMiddleware:
    def __init__(self, app: ASGIApp, keys: ApiKeys, value_exists: ValueCheck | None = None) -> None:
        self.app = app
        self.keys = keys
        self.value_exists = value_exists

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keys.enabled:
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        required = self.keys.need(method, path)
        if required.public:
            await self.app(scope, receive, send)
            return
        who = self.keys.authenticate(presented_key(scope.get("headers", [])))
        if isinstance(who, tuple):
            await self._refuse_key(scope, receive, send, *who)
            return
        if who.value_exists is not None:
            refusal = await self._stateful(who.value_exists)
            if refusal is not None:
                await self._refuse_key(scope, receive, send, *refusal)
                return
        message = who.access.refusal(required)
        if message is not None:
            await self._forbid(scope, receive, send, message)
            return
        access = who.access
        if not access.is_global and reads_other_collections(method, path):
            receive, body = await _buffered(receive)
            message = lookup_refusal(access, _json(body))
            if message is not None:
                await self._forbid(scope, receive, send, message)
                return
        if not access.is_global and filters_answer(method, path):
            send = _filtering(send, access, path)
        await self.app(scope, receive, send)

    async def _stateful(self, check: ValueExists) -> tuple[int, str] | None:
        assert self.value_exists is not None, "a value_exists token needs the engine"
        try:
            exists = await run_in_threadpool(self.value_exists, check)
        except CollectionNotFound:
            return 403, STATEFUL_FAILED
        except CrewchiefError as exc:
            return exc.http_status, exc.message
        return None if exists else (401, STATEFUL_FAILED)

    async def _refuse_key(
        self, scope: Scope, receive: Receive, send: Send, status: int, message: str
    ) -> None:
        response: Response
        if scope["path"].startswith("/dashboard"):
            response = JSONResponse(error_body(message, scope.get("crewchief.started")), status)
        else:  # Qdrant's auth layer answers plain text
            response = PlainTextResponse(message, status_code=status)
        await response(scope, receive, send)

    async def _forbid(self, scope: Scope, receive: Receive, send: Send, message: str) -> None:
        body = error_body(message, scope.get("crewchief.started"))
        await JSONResponse(body, status_code=403)(scope, receive, send)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None  # the route answers the bad body


async def _buffered(receive: Receive) -> tuple[Receive, bytes]:
    """Read the whole request body; a `receive` that hands it to the app again."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay, body


def _filtering(send: Send, access: Access, path: str) -> Send:
    """A `send` that trims a JSON answer to what the collection token may see."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def filtered(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        body = b"".join(chunks)
        if start.get("status") == 200:
            try:
                answer = filter_answer(access, path, json.loads(body))
                body = json.dumps(answer, separators=(",", ":")).encode()
            except ValueError:
                pass  # not JSON: pass it on as it is
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return filtered
