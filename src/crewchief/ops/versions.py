"""Version names: `my_app_v1`, `my_app_v2`, `movies-3` belong to one family each.

Deploy, gc and health all need to know which collections are versions of the
same thing and which is newest; this is that rule, in one place.
"""

from __future__ import annotations

import re
from collections import defaultdict

_VERSION = re.compile(r"^(?P<base>.+?)[_-]v?(?P<n>\d+)$")


def parse_version(name: str) -> tuple[str, int] | None:
    """`my_app_v2` -> ("my_app", 2); a name without a version suffix -> None."""
    m = _VERSION.match(name)
    return (m["base"], int(m["n"])) if m else None


def families(names: list[str]) -> dict[str, list[str]]:
    """Family base -> its collection names, newest version first."""
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for name in names:
        parsed = parse_version(name)
        if parsed:
            groups[parsed[0]].append((parsed[1], name))
    return {base: [n for _, n in sorted(v, reverse=True)] for base, v in groups.items()}
