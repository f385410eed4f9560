"""The API-key rules (`crewchief.core.keys`), with the two things a dashboard needs on top.

- The page itself (`/dashboard`, its HTML, JS and CSS) loads without a key: it
  holds no data, and a browser cannot send a header when it opens a URL.  The
  user types the key into the page, which sends it with every API call.
- The search tester posts its vector (too long for a URL), yet only reads:
  the read-only key may use it, as it may use Qdrant's own search POSTs.

Everything else is `ApiKeys`'s: reads (GET) for either key, actions (POST) for
the full key only, 401/403.  `crewchief serve` applies these rules with its key
middleware (`crewchief.server.auth`); this module imports nothing of the server.
"""

from __future__ import annotations

import re

from crewchief.core.keys import ApiKeys, Refusal

_SHELL = re.compile(r"^/dashboard(/|/static/[A-Za-z0-9_./-]*)?$")
_READ_POST = re.compile(r"^/dashboard/api/collections/[^/]+/search$")


def is_public(method: str, path: str) -> bool:
    """The page and its assets: no key needed."""
    return method in ("GET", "HEAD") and _SHELL.match(path) is not None and ".." not in path


def is_read_post(method: str, path: str) -> bool:
    """A dashboard POST that only reads (the search tester)."""
    return method == "POST" and _READ_POST.match(path) is not None


class DashboardKeys(ApiKeys):
    """`ApiKeys` that also know the dashboard's public and read-only paths."""

    def check(self, method: str, path: str, presented: str | None) -> Refusal | None:
        if is_public(method, path):
            return None
        if is_read_post(method, path):
            method = "GET"  # judged as the read it is
        return super().check(method, path, presented)
