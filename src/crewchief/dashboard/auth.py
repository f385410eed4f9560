"""The API-key rules (`crewchief.core.keys`), with the things a dashboard needs on top.

- The page itself (`/dashboard`, its HTML, JS and CSS) loads without a key: it
  holds no data, and a browser cannot send a header when it opens a URL.  The
  user types the key (or a JWT) into the page, which sends it with every API call.
- The dashboard shows and changes the whole server (every collection, alias,
  snapshot and backup), so its JSON API needs global access: reads (GET, and
  the search tester's POST, which only reads) global read access (the
  read-only key, a global `r` token), its actions (POST) global manage access
  (the full key, a global `m` token).  A per-collection token is refused with
  Qdrant's "Global access is required".

`crewchief serve` applies these rules with its key middleware
(`crewchief.server.auth`); this module imports nothing of the server.
"""

from __future__ import annotations

import re

from crewchief.core.access import Need
from crewchief.core.keys import ApiKeys

_SHELL = re.compile(r"^/dashboard(/|/static/[A-Za-z0-9_./-]*)?$")
_READ_POST = re.compile(r"^/dashboard/api/collections/[^/]+/search$")


def is_public(method: str, path: str) -> bool:
    """The page and its assets: no key needed."""
    return method in ("GET", "HEAD") and _SHELL.match(path) is not None and ".." not in path


def is_read_post(method: str, path: str) -> bool:
    """A dashboard POST that only reads (the search tester)."""
    return method == "POST" and _READ_POST.match(path) is not None


class DashboardKeys(ApiKeys):
    """`ApiKeys` that also know the dashboard's public, read and manage paths."""

    def need(self, method: str, path: str) -> Need:
        if is_public(method, path):
            return Need(public=True)
        if path == "/dashboard" or path.startswith("/dashboard/"):
            if method in ("GET", "HEAD") or is_read_post(method, path):
                return Need()  # global read
            return Need(manage=True)  # global manage
        return super().need(method, path)
