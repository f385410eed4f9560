"""Embedding functions for deploy tests (`--embed tests.ops.embedders:NAME`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from crewchief.datasets import embedding_like

_TABLE = embedding_like(2000, 24, rank=6, seed=42)
calls = {"n": 0, "fail_after": None}


def by_year(payloads: list[dict[str, Any]]) -> list[list[float]]:
    """A "better model": a 24-d vector looked up from each payload's year and title."""
    out = []
    for p in payloads:
        key = int(p["year"]) * 31 + len(str(p["title"]))
        out.append(_TABLE[key % len(_TABLE)].tolist())
    return out


def flaky(payloads: list[dict[str, Any]]) -> list[list[float]]:
    """Like by_year, but raises after `calls["fail_after"]` calls (an interrupted deploy)."""
    calls["n"] += 1
    if calls["fail_after"] is not None and calls["n"] > calls["fail_after"]:
        raise RuntimeError("embedding service went away")
    return by_year(payloads)


def wrong_count(payloads: list[dict[str, Any]]) -> list[list[float]]:
    return [np.zeros(24).tolist()]


def by_n(payloads: list[dict[str, Any]]) -> list[list[float]]:
    """An 8-d vector from each payload's `n` (tests.vector_kinds), for its `dense` vector."""
    return [_TABLE[int(p.get("n", 0)) % len(_TABLE)][:8].tolist() for p in payloads]
