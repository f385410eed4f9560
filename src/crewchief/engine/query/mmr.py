"""MMR over a sparse vector, selected here as Qdrant's collection layer does it.

Edge 0.9.0's Mmr needs a dense vector's distance and fails on a sparse one, so the
candidates come from a plain nearest query and the selection is made here:

    candidates   the request without mmr: `candidates_limit` points (default: the limit)
                 from offset 0, with the `using` vector read along
    selection    the most relevant first; then, each time, the candidate with the highest
                 lambda * relevance - (1 - lambda) * (its highest similarity to those
                 chosen), relevance and similarity being raw dot products of the sparse
                 vectors (no IDF), ties going to the last candidate, as Qdrant's
                 `max_by_key` over a set kept with `swap_remove`
    answer       the chosen points in that order, with their search scores; then the
                 offset (MMR ranks from the first candidate, so it is skipped after)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from crewchief.engine.convert.vectors import SPARSE, VectorSizes
from crewchief.engine.query.kinds import mmr_settings, nearest_query
from crewchief.engine.query.stage import Stage


@dataclasses.dataclass(frozen=True)
class SparseMmr:
    candidates: Stage  # the request as a plain nearest query for the candidates
    lambda_: float
    limit: int  # the request's own limit

    def with_vectors(self, wanted: bool | Sequence[str] | None) -> bool | list[str]:
        """The request's `with_vectors`, plus the vector MMR compares."""
        if wanted is True:
            return True
        return sorted({*(wanted or []), self.candidates.using})

    def select(
        self, query: edge.SparseVector, found: list[edge.ScoredPoint], offset: int | None
    ) -> list[edge.ScoredPoint]:
        using = self.candidates.using
        vectors = [_weights(_named(p.vector, using)) for p in found]
        q = _weights(query)
        relevance = [_dot(q, v) for v in vectors]
        pending = list(range(len(found)))
        chosen: list[int] = []
        closest = [float("-inf")] * len(found)  # highest similarity to a chosen one
        scores = [relevance[i] for i in pending]
        while pending and len(chosen) < self.limit + (offset or 0):
            pick = _swap_remove(pending, _last_argmax(scores))
            chosen.append(pick)
            for i in pending:
                closest[i] = max(closest[i], _dot(vectors[i], vectors[pick]))
            scores = [
                self.lambda_ * relevance[i] - (1.0 - self.lambda_) * closest[i] for i in pending
            ]
        return [found[i] for i in chosen][offset or 0 :]


def plan(top: Stage, sizes: VectorSizes) -> SparseMmr | None:
    """The request's MMR when it is over a sparse vector; None otherwise (the edge's own)."""
    q = top.query
    if not isinstance(q, models.NearestQuery) or q.mmr is None:
        return None
    if sizes.kind(top.using) != SPARSE:
        return None
    lambda_, pool = mmr_settings(q.mmr, top.limit)
    nearest = nearest_query(q.nearest)
    return SparseMmr(dataclasses.replace(top, query=nearest, limit=pool), lambda_, top.limit)


def _named(vector: Any, using: str) -> Any:
    return vector.get(using) if isinstance(vector, dict) else None


def _weights(v: Any) -> dict[int, float]:
    return {} if v is None else dict(zip(v.indices, v.values, strict=True))


def _dot(a: dict[int, float], b: dict[int, float]) -> float:
    if len(b) < len(a):
        a, b = b, a
    return sum(w * b[i] for i, w in a.items() if i in b)


def _last_argmax(values: list[float]) -> int:
    best = 0
    for i, v in enumerate(values):
        if v >= values[best]:
            best = i
    return best


def _swap_remove(items: list[int], position: int) -> int:
    """Remove items[position], moving the last item into its place (Rust's swap_remove)."""
    items[position], items[-1] = items[-1], items[position]
    return items.pop()
