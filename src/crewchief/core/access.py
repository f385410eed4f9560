"""Who may do what, as Qdrant's RBAC decides it: access rights, each route's needs, refusals.

    access = Access.collections({"books": "r"})     # from a JWT's `access` claim
    access.refusal(need("POST", "/collections/books/points/delete"))
    # -> "Forbidden: Write access to collection books is required"

An `Access` is global (`r`: read everything, `m`: manage everything) or a list
of collections with a mode each (`r` read, `rw` read and write, `prw` points
only), exactly Qdrant's `storage::rbac::Access`; the full API key is global `m`,
the read-only key global `r`.  `need(method, path)` is what a request requires,
from its method and path alone (Qdrant's `AccessRequirements` per route: global
or a collection; write, manage, "extras" such as snapshots and indexes), so a
route added later is judged by its pattern, or by the safe default: a GET needs
read access, anything else global manage.  The collection is the name in the
path as given: an alias is its own name, as in Qdrant (a token naming
collection `c` does not open alias `a -> c`).

Refusals are Qdrant's texts (403, `Forbidden: ...`).  For collection tokens a
few answers are filtered as Qdrant filters them (`filter_answer`: the
collection list, aliases, telemetry, issues), and references to other
collections inside a query body (`lookup_from`, `with_lookup`) need access too
(`lookup_collections`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

GLOBAL_ONLY = "Global access is required"
GLOBAL_MANAGE = "Global manage access is required"
NEED_COLLECTION = "Access to collection {} is required"
NEED_WRITE = "Write access to collection {} is required"
NEED_MANAGE = "Manage access for this operation is required"
POINTS_ONLY = "Only points access is allowed for collection {}"

GLOBAL_MODES = ("r", "m")
COLLECTION_MODES = ("r", "rw", "prw")


@dataclass(frozen=True)
class Need:
    """What a request requires.  `collection` None: a global operation."""

    collection: str | None = None
    write: bool = False
    manage: bool = False
    extras: bool = False
    anyone: bool = False  # any valid key or token (a listing, filtered for collection tokens)
    public: bool = False  # no key at all


@dataclass(frozen=True)
class Access:
    """Global `r`/`m` (`mode`), or per-collection modes (`mode` None)."""

    mode: str | None = "m"
    modes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def full(cls) -> Access:
        return cls("m")

    @classmethod
    def read_only(cls) -> Access:
        return cls("r")

    @classmethod
    def collections(cls, modes: Mapping[str, str]) -> Access:
        return cls(None, dict(modes))

    @property
    def is_global(self) -> bool:
        return self.mode is not None

    def allows(self, collection: str) -> bool:
        """The collection is in the list (global access: every collection)."""
        return self.is_global or collection in self.modes

    def refusal(self, need: Need) -> str | None:
        """None when allowed, else Qdrant's message (403)."""
        if need.public or need.anyone:
            return None
        if self.mode is not None:
            if (need.write or need.manage) and self.mode != "m":
                return "Forbidden: " + GLOBAL_MANAGE
            return None
        if need.collection is None:
            return "Forbidden: " + GLOBAL_ONLY
        name = need.collection
        mode = self.modes.get(name)
        if mode is None:
            return "Forbidden: " + NEED_COLLECTION.format(name)
        if need.extras and mode == "prw":
            return "Forbidden: " + POINTS_ONLY.format(name)
        if need.write and mode == "r":
            return "Forbidden: " + NEED_WRITE.format(name)
        if need.manage:
            return "Forbidden: " + NEED_MANAGE
        return None


# -- each route's needs ---------------------------------------------------------------------------
# (methods, path pattern, kind). {c} is the collection; kinds:
#   public  no key        any  any key or token (filtered)   gr/gm  global read / manage
#   cr  collection read   cre  read + extras    cw  write    cwe  write + extras
#   cm  write + manage + extras (only global `m` passes)
_C = "/collections/{c}"
_ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/", "public"),
    ("GET", "/healthz", "public"),
    ("GET", "/livez", "public"),
    ("GET", "/readyz", "public"),
    ("GET", "/metrics", "gr"),
    ("GET", "/telemetry", "any"),
    ("GET", "/issues", "any"),
    ("DELETE", "/issues", "gm"),
    ("GET", "/cluster", "gr"),
    ("GET", "/cluster/telemetry", "gr"),
    ("POST", "/cluster/recover", "gm"),
    ("DELETE", "/cluster/peer/{x}", "gm"),
    ("GET", "/cluster/metadata/keys", "gr"),
    ("GET", "/cluster/metadata/keys/{x}", "gr"),
    ("PUT|DELETE", "/cluster/metadata/keys/{x}", "gm"),
    ("GET", "/quotas", "gr"),
    ("PUT", "/quotas", "gm"),
    ("GET", "/logger", "gr"),
    ("POST", "/logger", "gm"),
    ("GET", "/collections", "any"),
    ("GET", "/aliases", "any"),
    ("POST", "/collections/aliases", "gm"),
    ("GET", "/snapshots", "gr"),
    ("GET", "/snapshots/{x}", "gr"),
    ("POST", "/snapshots", "gm"),
    ("DELETE", "/snapshots/{x}", "gm"),
    ("GET", _C, "cr"),
    ("PUT|PATCH|DELETE", _C, "gm"),
    ("GET", _C + "/exists", "cr"),
    ("GET", _C + "/aliases", "cr"),
    ("GET", _C + "/optimizations", "cr"),
    ("GET", _C + "/cluster", "cre"),
    ("POST", _C + "/cluster", "cm"),
    ("GET", _C + "/shards", "cr"),
    ("PUT", _C + "/shards", "gm"),
    ("POST", _C + "/shards/delete", "gm"),
    ("PUT", _C + "/index", "cwe"),
    ("DELETE", _C + "/index/{x}", "cwe"),
    ("PUT|DELETE", _C + "/vectors/{x}", "cm"),  # vector name operations need manage
    ("GET", _C + "/snapshots", "cre"),
    ("POST", _C + "/snapshots", "cwe"),
    ("PUT", _C + "/snapshots/recover", "gm"),
    ("POST", _C + "/snapshots/upload", "gm"),
    ("GET", _C + "/snapshots/{x}", "cre"),
    ("DELETE", _C + "/snapshots/{x}", "cwe"),
    ("GET", _C + "/shards/{x}/snapshots", "cre"),
    ("POST", _C + "/shards/{x}/snapshots", "cwe"),
    ("PUT", _C + "/shards/{x}/snapshots/recover", "gm"),
    ("POST", _C + "/shards/{x}/snapshots/upload", "gm"),
    ("GET", _C + "/shards/{x}/snapshots/{x}", "cre"),
    ("DELETE", _C + "/shards/{x}/snapshots/{x}", "cwe"),
    ("GET", _C + "/shards/{x}/snapshot", "cwe"),
    ("GET", _C + "/points/{x}", "cr"),
    ("POST", _C + "/points", "cr"),
    ("POST", _C + "/points/scroll", "cr"),
    ("POST", _C + "/points/count", "cr"),
    ("POST", _C + "/points/query", "cr"),
    ("POST", _C + "/points/query/batch", "cr"),
    ("POST", _C + "/points/query/groups", "cr"),
    ("POST", _C + "/points/search", "cr"),
    ("POST", _C + "/points/search/batch", "cr"),
    ("POST", _C + "/points/search/groups", "cr"),
    ("POST", _C + "/points/search/matrix/pairs", "cr"),
    ("POST", _C + "/points/search/matrix/offsets", "cr"),
    ("POST", _C + "/points/recommend", "cr"),
    ("POST", _C + "/points/recommend/batch", "cr"),
    ("POST", _C + "/points/recommend/groups", "cr"),
    ("POST", _C + "/points/discover", "cr"),
    ("POST", _C + "/points/discover/batch", "cr"),
    ("POST", _C + "/facet", "cr"),
    ("PUT", _C + "/points", "cw"),
    ("POST", _C + "/points/batch", "cw"),
    ("POST", _C + "/points/delete", "cw"),
    ("PUT", _C + "/points/vectors", "cw"),
    ("POST", _C + "/points/vectors/delete", "cw"),
    ("POST|PUT", _C + "/points/payload", "cw"),
    ("POST", _C + "/points/payload/delete", "cw"),
    ("POST", _C + "/points/payload/clear", "cw"),
    # crewchief's own: reads need global read, changes global manage
    ("GET", "/crewchief/{rest}", "gr"),
    ("POST|PUT|PATCH|DELETE", "/crewchief/{rest}", "gm"),
]

_KINDS: dict[str, dict[str, bool]] = {
    "public": {"public": True},
    "any": {"anyone": True},
    "gr": {},
    "gm": {"manage": True},
    "cr": {},
    "cre": {"extras": True},
    "cw": {"write": True},
    "cwe": {"write": True, "extras": True},
    "cm": {"write": True, "manage": True, "extras": True},
}


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.escape(template)
    pattern = pattern.replace(r"\{c\}", "(?P<c>[^/]+)").replace(r"\{x\}", "[^/]+")
    pattern = pattern.replace(r"\{rest\}", ".+")
    return re.compile(f"^{pattern}/?$" if template != "/" else "^/$")


_TABLE = [
    (frozenset(methods.split("|")), _compile(template), kind, template)
    for methods, template, kind in _ROUTES
]
_UNDER_COLLECTION = re.compile(r"^/collections/(?P<c>[^/]+)/")


def _make(kind: str, collection: str | None) -> Need:
    scoped = kind.startswith("c")
    return Need(collection=collection if scoped else None, **_KINDS[kind])


def route_of(method: str, path: str) -> tuple[str, str] | None:
    """(kind, template) of the route a request matches, None when no rule names it."""
    method = "GET" if method == "HEAD" else method
    for methods, pattern, kind, template in _TABLE:
        if method in methods and pattern.match(path):
            return kind, template
    return None


def need(method: str, path: str) -> Need:
    """What a request requires (unknown routes: GET read, anything else global manage)."""
    method = "GET" if method == "HEAD" else method
    for methods, pattern, kind, _ in _TABLE:
        if method in methods:
            match = pattern.match(path)
            if match:
                groups = match.groupdict()
                return _make(kind, groups.get("c"))
    under = _UNDER_COLLECTION.match(path)
    if method == "GET":
        return _make("cre", under.group("c")) if under else _make("gr", None)
    return _make("gm", None)


# -- query bodies that name other collections -----------------------------------------------------


_LOOKUP_POST = re.compile(r"^/collections/[^/]+/points/(query|recommend|discover|search)")


def reads_other_collections(method: str, path: str) -> bool:
    """A read POST whose body may name more collections (Qdrant checks those too)."""
    if method != "POST":
        return False
    return _LOOKUP_POST.match(path) is not None


def lookup_collections(body: Any) -> list[str]:
    """Collections a query body reads besides its own: `lookup_from` (also inside
    prefetches and batches) and `with_lookup` of group requests."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        lookup = node.get("lookup_from")
        if isinstance(lookup, dict) and isinstance(lookup.get("collection"), str):
            found.append(lookup["collection"])
        with_lookup = node.get("with_lookup")
        if isinstance(with_lookup, str):
            found.append(with_lookup)
        elif isinstance(with_lookup, dict) and isinstance(with_lookup.get("collection"), str):
            found.append(with_lookup["collection"])
        for key in ("prefetch", "searches"):
            if key in node:
                walk(node[key])

    walk(body)
    return found


def lookup_refusal(access: Access, body: Any) -> str | None:
    """Qdrant's refusal when a query body names a collection the token lacks."""
    if access.is_global:
        return None
    for name in lookup_collections(body):
        if not access.allows(name):
            return "Forbidden: " + NEED_COLLECTION.format(name)
    return None


# -- answers filtered for collection tokens -------------------------------------------------------

_ALIASES_OF = re.compile(r"^/collections/[^/]+/aliases/?$")


def filters_answer(method: str, path: str) -> bool:
    """Answers Qdrant trims to the collections a collection token names."""
    if method not in ("GET", "HEAD"):
        return False
    path = path.rstrip("/") or "/"
    return path in ("/collections", "/aliases", "/telemetry", "/issues") or bool(
        _ALIASES_OF.match(path)
    )


def filter_answer(access: Access, path: str, body: Any) -> Any:
    """`body` (a Qdrant answer) as a collection token may see it."""
    if access.is_global or not isinstance(body, dict):
        return body
    result = body.get("result")
    if not isinstance(result, dict):
        return body
    path = path.rstrip("/")
    if path == "/collections" and isinstance(result.get("collections"), list):
        result["collections"] = [
            c for c in result["collections"] if access.allows(str(c.get("name")))
        ]
    elif path == "/aliases" and isinstance(result.get("aliases"), list):
        result["aliases"] = [
            a
            for a in result["aliases"]
            if access.allows(str(a.get("collection_name")))
            and access.allows(str(a.get("alias_name")))
        ]
    elif _ALIASES_OF.match(path) and isinstance(result.get("aliases"), list):
        result["aliases"] = [
            a for a in result["aliases"] if access.allows(str(a.get("alias_name")))
        ]
    elif path == "/issues" and isinstance(result.get("issues"), list):
        result["issues"] = [
            i
            for i in result["issues"]
            if isinstance(i, dict)
            and isinstance(i.get("related_collection"), str)
            and access.allows(i["related_collection"])
        ]
    elif path == "/telemetry":
        body["result"] = _telemetry_for(access, result)
    return body


def _telemetry_for(access: Access, result: dict[str, Any]) -> dict[str, Any]:
    """What Qdrant's telemetry shows a collection token: its collections, no global sections."""
    kept: dict[str, Any] = {k: result[k] for k in ("id", "app") if k in result}
    collections = result.get("collections")
    if isinstance(collections, dict):
        collections = dict(collections)
        listed = collections.get("collections")
        if isinstance(listed, list):
            mine = [c for c in listed if isinstance(c, dict) and access.allows(str(c.get("id")))]
            collections["collections"] = mine
            collections["number_of_collections"] = len(mine)
        kept["collections"] = collections
    return kept
