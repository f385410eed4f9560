"""`search_params`: every SearchParams field Qdrant 1.19 has, for the edge; and where the
edge's `indexed_only` cannot answer as Qdrant's does."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from crewchief.core.indexing import unindexed_vectors
from crewchief.engine.convert.filters import edge_filter
from crewchief.errors import InvalidInput

# KB: Qdrant's default indexing and full-scan thresholds, and the size above which Edge
# 0.9.0's `indexed_only` skips an unindexed segment, whatever the collection's thresholds
EDGE_INDEXED_ONLY_KB = 10_000


def search_params(params: models.SearchParams | None) -> edge.SearchParams | None:
    """hnsw_ef, exact, quantization (ignore, rescore, oversampling), indexed_only, ACORN and
    the IDF corpus of sparse vectors with the IDF modifier."""
    if params is None:
        return None
    if isinstance(params, dict):
        params = models.SearchParams.model_validate(params)
    q = params.quantization
    quantization = None
    if q is not None:
        quantization = edge.QuantizationSearchParams(
            ignore=bool(q.ignore), rescore=q.rescore, oversampling=q.oversampling
        )
    acorn = None
    if params.acorn is not None:
        acorn = edge.AcornSearchParams(
            enable=bool(params.acorn.enable), max_selectivity=params.acorn.max_selectivity
        )
    idf = None  # None and "global": collection-wide statistics
    if isinstance(params.idf, models.IdfCorpusParams):
        idf = edge.IdfParams(corpus=edge_filter(params.idf.corpus))
    return edge.SearchParams(
        hnsw_ef=params.hnsw_ef,
        exact=bool(params.exact),
        quantization=quantization,
        indexed_only=bool(params.indexed_only),
        acorn=acorn,
        idf=idf,
    )


def check_indexed_only(col: Any, params: Iterable[Any]) -> None:
    """Refuse `indexed_only` where the edge's answer could differ from Qdrant's.

    Qdrant skips each unindexed segment whose vectors take more than the larger of the
    collection's indexing_threshold and full_scan_threshold (KB); the edge skips those over
    10,000 KB.  Where the two cuts differ, they agree while every unindexed segment is under
    both: the unindexed dense vectors, 4 bytes a dimension, bound each one's size (a
    multi-vector's is unknown, so any unindexed vector is too many then)."""
    if not any(_indexed_only(p) for p in params):
        return
    config = col.config
    threshold = config.optimizer_config.indexing_threshold
    if threshold is None:
        threshold = EDGE_INDEXED_ONLY_KB
    cut = max(threshold, config.hnsw_config.full_scan_threshold)
    if cut == EDGE_INDEXED_ONLY_KB:
        return
    sizes = col.sizes
    points, indexed, _segments, _schema = col.counts()
    unindexed = unindexed_vectors(points, sizes.per_point, indexed)
    bound_kb = unindexed * max(sizes.values(), default=0) * 4 / 1024
    if unindexed == 0 or (not sizes.multi and bound_kb <= min(cut, EDGE_INDEXED_ONLY_KB)):
        return
    raise InvalidInput(
        f"indexed_only cannot be answered as Qdrant would: this collection lets a search "
        f"read unindexed segments up to {cut} KB (the larger of indexing_threshold and "
        f"full_scan_threshold), the engine up to {EDGE_INDEXED_ONLY_KB} KB, and up to "
        f"{bound_kb:.0f} KB of vectors are not indexed",
        hint="Leave indexed_only out, or make the larger of the two thresholds "
        f"{EDGE_INDEXED_ONLY_KB} KB (Qdrant's default), where the two agree",
    )


def _indexed_only(params: models.SearchParams | dict[str, Any] | None) -> bool:
    if isinstance(params, dict):
        return bool(params.get("indexed_only"))
    return params is not None and bool(params.indexed_only)
