"""API keys and JWTs the way Qdrant checks them: pure rules, no web framework.

    keys = ApiKeys(api_key="secret", read_only_api_key="peek", jwt_rbac=True)
    who = keys.authenticate(presented_key(headers))   # Access, or a refusal
    keys.check("POST", "/collections/c/points/delete", presented_key(headers))
    # -> None (allowed) or (status, message) to refuse with

A key arrives in the `api-key` header or as `Authorization: Bearer <key>`.
With no key configured every request passes.  Otherwise:

- `/`, `/healthz`, `/livez`, `/readyz` need no key (probes, version check);
- the full key has global manage access, the read-only key global read access
  (`crewchief.core.access` says what each access may do, route by route);
- with `jwt_rbac`, a JWT signed HS256 with the full key grants the access its
  `access` claim names (global `r`/`m`, or per collection `r`/`rw`/`prw`;
  no claim: global manage), until `exp` (30 s leeway), and, given
  `value_exists`, only while a point matching it exists (checked by the
  server through the engine: `Authenticated.value_exists`);
- no key answers 401, a wrong key 401, an expired or badly signed token 403
  (`ExpiredSignature`, `InvalidSignature`: jsonwebtoken's words, as Qdrant
  answers them), a request beyond the access 403 with Qdrant's text.

Keys are compared with `hmac.compare_digest`, against both keys every time.
The server's middleware (`crewchief.server.auth`) answers refusals in Qdrant's
formats; the dashboard (`crewchief.dashboard.auth`) adds its own paths on top
by subclassing `ApiKeys`.
"""

from __future__ import annotations

import hmac
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt

from crewchief.core.access import COLLECTION_MODES, GLOBAL_MODES, Access, Need, need

PUBLIC_PATHS = frozenset({"/", "/healthz", "/livez", "/readyz"})

NO_KEY = "Must provide an API key or an Authorization bearer token"
BAD_KEY = "Invalid API key or JWT"
READ_ONLY = "Forbidden: Global manage access is required"  # the read-only key on a write
STATEFUL_FAILED = "Invalid JWT, stateful validation failed"
LEEWAY_SECONDS = 30
_PAYLOAD_DEPRECATED = "The 'payload' constraint is deprecated and should not be used"

Refusal = tuple[int, str]  # (HTTP status, message)


def presented_key(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The key a request carries (ASGI header pairs): `api-key` wins over a bearer token."""
    api_key = None
    bearer = None
    for name, value in headers:
        if name == b"api-key":
            api_key = value.decode("latin-1")
        elif name == b"authorization":
            text = value.decode("latin-1")
            if text.startswith("Bearer "):  # Qdrant strips exactly this prefix
                bearer = text[len("Bearer ") :]
    return api_key if api_key is not None else bearer


def _matches(presented: str, expected: str | None) -> bool:
    if not expected:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


@dataclass(frozen=True)
class ValueExists:
    """A token's `value_exists`: valid while `collection` holds a point matching every pair."""

    collection: str
    matches: tuple[tuple[str, str | int | bool], ...]


@dataclass(frozen=True)
class Authenticated:
    access: Access
    value_exists: ValueExists | None = None
    by_token: bool = False


class BadClaims(ValueError):
    """Claims that are well-formed but invalid (Qdrant: 401 with the validation message)."""


def _value_exists(raw: Any) -> ValueExists | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("collection"), str):
        raise TypeError("value_exists")
    pairs = raw.get("matches")
    if not isinstance(pairs, list):
        raise TypeError("value_exists.matches")
    matches = []
    for pair in pairs:
        if not isinstance(pair, dict) or not isinstance(pair.get("key"), str) or not pair["key"]:
            raise TypeError("value_exists.matches.key")
        value = pair.get("value")
        if not isinstance(value, str | int | bool):  # Qdrant's ValueVariants: no floats
            raise TypeError("value_exists.matches.value")
        matches.append((pair["key"], value))
    return ValueExists(raw["collection"], tuple(matches))


def _access(raw: Any) -> Access:
    if raw is None:  # Qdrant: no `access` claim gives full access
        return Access.full()
    if isinstance(raw, str):
        if raw not in GLOBAL_MODES:
            raise TypeError("access")
        return Access(raw)
    if not isinstance(raw, list):
        raise TypeError("access")
    modes: dict[str, str] = {}
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("collection"), str):
            raise TypeError("access.collection")
        if item.get("access") not in COLLECTION_MODES:
            raise TypeError("access.access")
        name = item["collection"]
        if "payload" in item and item["payload"] is not None:
            raise BadClaims(f"access[{i}].payload: {_PAYLOAD_DEPRECATED}")
        if name in modes:
            raise BadClaims(f"access[{i}].collection: Collection name should be unique")
        modes[name] = item["access"]
    return Access.collections(modes)


def decode_token(token: str, secret: str) -> Authenticated | Refusal | None:
    """A JWT's access, Qdrant's refusal (bad signature, expired, invalid claims), or None
    when `token` is not a JWT this secret could have signed (then: "Invalid API key")."""
    options: Any = {
        "verify_aud": False,
        "verify_iss": False,
        "verify_nbf": False,
        "verify_iat": False,
        "verify_sub": False,
        "verify_jti": False,
        "require": [],
    }
    try:
        with warnings.catch_warnings():  # a short key is the operator's choice, as in Qdrant
            warnings.simplefilter("ignore")
            claims = jwt.decode(
                token, secret, algorithms=["HS256"], options=options, leeway=LEEWAY_SECONDS
            )
    except jwt.ExpiredSignatureError:
        return 403, "ExpiredSignature"
    except jwt.InvalidSignatureError:
        return 403, "InvalidSignature"
    except jwt.PyJWTError:
        return None
    try:
        for name in ("sub", "subject"):
            if claims.get(name) is not None and not isinstance(claims[name], str):
                raise TypeError(name)
        exp = claims.get("exp")
        if exp is not None and (isinstance(exp, bool) or not isinstance(exp, int) or exp < 0):
            raise TypeError("exp")
        access = _access(claims.get("access"))
        value_exists = _value_exists(claims.get("value_exists"))
    except BadClaims as exc:
        return 401, str(exc)
    except TypeError:  # Qdrant cannot deserialize such claims: not a token of ours
        return None
    return Authenticated(access, value_exists, by_token=True)


class ApiKeys:
    """The full key and the read-only key (either may be unset), JWTs signed with the
    full key when `jwt_rbac`, and what each may do."""

    def __init__(
        self,
        api_key: str | None = None,
        read_only_api_key: str | None = None,
        jwt_rbac: bool = False,
    ) -> None:
        self.api_key = api_key or None
        self.read_only_api_key = read_only_api_key or None
        self.jwt_rbac = bool(jwt_rbac and self.api_key)

    @property
    def enabled(self) -> bool:
        return bool(self.api_key or self.read_only_api_key)

    def need(self, method: str, path: str) -> Need:
        """What the request requires (`crewchief.core.access.need`; the dashboard adds its own)."""
        if path in PUBLIC_PATHS:
            return Need(public=True)
        return need(method, path)

    def authenticate(self, presented: str | None) -> Authenticated | Refusal:
        """Who presents this key: full, read-only, a token's access; or the refusal."""
        if presented is None:
            return 401, NO_KEY
        full = _matches(presented, self.api_key)
        read_only = _matches(presented, self.read_only_api_key)
        if full:
            return Authenticated(Access.full())
        if read_only:
            return Authenticated(Access.read_only())
        if self.jwt_rbac and self.api_key:
            decoded = decode_token(presented, self.api_key)
            if decoded is not None:
                return decoded
        return 401, BAD_KEY

    def check(self, method: str, path: str, presented: str | None) -> Refusal | None:
        """None when allowed, else the (status, message) to refuse with.

        The stateless part: a token's `value_exists`, the collections a query body
        names and the filtering of listings are the server's (`crewchief.server.auth`)."""
        if not self.enabled:
            return None
        required = self.need(method, path)
        if required.public:
            return None
        who = self.authenticate(presented)
        if isinstance(who, tuple):
            return who
        message = who.access.refusal(required)
        return None if message is None else (403, message)
