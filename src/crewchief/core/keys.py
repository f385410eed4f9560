"""API keys the way Qdrant checks them: pure rules, no web framework.

    keys = ApiKeys(api_key="secret", read_only_api_key="peek")
    keys.check("POST", "/collections/c/points/delete", presented_key(headers))
    # -> None (allowed) or (status, message) to refuse with

A key arrives in the `api-key` header or as `Authorization: Bearer <key>`.
With no key configured every request passes.  Otherwise:

- `/`, `/healthz`, `/livez`, `/readyz` need no key (probes, version check);
- the full key may do everything;
- the read-only key may read: any GET/HEAD, and the POSTs that only read
  points (retrieve, scroll, count, query, search, recommend, discover, facet);
- no key answers 401, a wrong key 401, a read-only key on a write 403.

Keys are compared with `hmac.compare_digest`, against both keys every time.
The server's middleware (`crewchief.server.auth`) answers refusals in Qdrant's
error format; the dashboard (`crewchief.dashboard.auth`) adds its own paths on
top by subclassing `ApiKeys`.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable

PUBLIC_PATHS = frozenset({"/", "/healthz", "/livez", "/readyz"})

_READ_POST = re.compile(
    r"^/collections/[^/]+/("
    r"points"
    r"|points/(scroll|count|query|query/batch|query/groups)"
    r"|points/search(/batch|/groups|/matrix/pairs|/matrix/offsets)?"
    r"|points/recommend(/batch|/groups)?"
    r"|points/discover(/batch)?"
    r"|facet"
    r")$"
)

NO_KEY = "Must provide an API key or an Authorization bearer token"
BAD_KEY = "Invalid API key or JWT"
READ_ONLY = "Forbidden: the read-only API key cannot perform this write operation"

Refusal = tuple[int, str]  # (HTTP status, message)


def is_read_only_request(method: str, path: str) -> bool:
    """True when the read-only key may make this request."""
    if method in ("GET", "HEAD"):
        return True
    return method == "POST" and _READ_POST.match(path) is not None


def presented_key(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The key a request carries (ASGI header pairs): `api-key` wins over a bearer token."""
    api_key = None
    bearer = None
    for name, value in headers:
        if name == b"api-key":
            api_key = value.decode("latin-1")
        elif name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                bearer = token.strip()
    return api_key if api_key is not None else bearer


def _matches(presented: str, expected: str | None) -> bool:
    if not expected:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


class ApiKeys:
    """The full key and the read-only key (either may be unset) and what each may do."""

    def __init__(self, api_key: str | None = None, read_only_api_key: str | None = None) -> None:
        self.api_key = api_key or None
        self.read_only_api_key = read_only_api_key or None

    @property
    def enabled(self) -> bool:
        return bool(self.api_key or self.read_only_api_key)

    def check(self, method: str, path: str, presented: str | None) -> Refusal | None:
        """None when allowed, else the (status, message) to refuse with."""
        if not self.enabled or path in PUBLIC_PATHS:
            return None
        if presented is None:
            return 401, NO_KEY
        full = _matches(presented, self.api_key)
        read_only = _matches(presented, self.read_only_api_key)
        if full:
            return None
        if not read_only:
            return 401, BAD_KEY
        if is_read_only_request(method, path):
            return None
        return 403, READ_ONLY
