"""docs/compatibility.md tells the truth about what is served: each of Qdrant 1.19's REST
operations is marked served (or partly) exactly when `crewchief serve` has its route, and
each `QdrantClient` method exactly when the embedded `Engine` has it."""

from __future__ import annotations

import re
from pathlib import Path

from qdrant_client import QdrantClient
from starlette.routing import BaseRoute, Mount, Route

from crewchief import Engine
from crewchief.server.app import create_app

DOC = (Path(__file__).resolve().parent.parent / "docs" / "compatibility.md").read_text()
STATUSES = {"served", "partly", "not served"}
OURS = ("/dashboard", "/crewchief")  # crewchief's own routes, not Qdrant's


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", DOC, re.S | re.M)
    assert match is not None, f"docs/compatibility.md has no section `## {title}`"
    return match.group(1)


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def _routes(routes: list[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for r in routes:
        if isinstance(r, Route):
            out |= {(m, _shape(prefix + r.path)) for m in r.methods or () if m != "HEAD"}
        elif isinstance(r, Mount):
            out |= _routes(r.routes, prefix + r.path)
    return out


def test_rest_operations_are_marked_as_served(tmp_path: Path) -> None:
    with Engine(tmp_path / "data") as engine:
        served = {r for r in _routes(create_app(engine=engine).routes) if not r[1].startswith(OURS)}
    rows = re.findall(r"^\| [^|]+ \| `(\w+) (\S+)` \| [^|]+ \| ([^|]+?) \|", _section("REST"), re.M)
    assert rows, "no REST operation rows"
    wrong = [
        (method, path, status)
        for method, path, status in rows
        if status not in STATUSES or (status != "not served") != ((method, _shape(path)) in served)
    ]
    assert wrong == []
    listed = {(m, _shape(p)) for m, p, _ in rows}
    assert served - listed == set(), "served routes missing from the table"


def test_client_methods_are_marked_as_served() -> None:
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+?) \|", _section("QdrantClient"), re.M))
    public = {
        m for m in dir(QdrantClient) if not m.startswith("_") and callable(getattr(QdrantClient, m))
    }
    assert set(rows) == public
    wrong = {
        m: s
        for m, s in rows.items()
        if s not in STATUSES or (s != "not served") != hasattr(Engine, m)
    }
    assert wrong == {}
