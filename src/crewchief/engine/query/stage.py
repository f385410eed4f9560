"""One stage of a query's tree: the request itself (the root) or one of its prefetches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qdrant_client import models


@dataclass(frozen=True)
class Stage:
    """A stage as Qdrant reads it: its query (a `models.Query` variant, or None), the vector
    it uses ("" is the unnamed one), its filter, params, threshold, limit, where its ids
    are looked up, and the stages it merges."""

    query: Any
    using: str
    filter: Any
    params: models.SearchParams | None
    score_threshold: float | None
    limit: int
    lookup_from: models.LookupLocation | None
    prefetch: list[Stage] = field(default_factory=list)
