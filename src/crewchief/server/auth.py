"""The server's API-key middleware: `crewchief.core.keys` rules, Qdrant's error format.

    Middleware(ApiKeyMiddleware, keys=DashboardKeys(api_key, read_only_api_key))

Every HTTP request is judged by `keys.check` (which key it presents, from the
`api-key` header or a bearer token); a refusal answers 401 or 403 with Qdrant's
error body before the request reaches a route.  The rules themselves (public
paths, what the read-only key may do, constant-time comparison) live in
`crewchief.core.keys`, so the dashboard can extend them without importing the
server.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from crewchief.core.keys import ApiKeys, presented_key
from crewchief.server.envelope import error_body


class ApiKeyMiddleware:
    def __init__(self, app: ASGIApp, keys: ApiKeys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        presented = presented_key(scope.get("headers", []))
        refusal = self.keys.check(scope["method"], scope["path"], presented)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, message = refusal
        started = scope.get("crewchief.started")
        response = JSONResponse(error_body(message, started), status_code=status)
        await response(scope, receive, send)
