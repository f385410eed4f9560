"""`search_params`: every SearchParams field Qdrant 1.19 has, for the edge."""

from __future__ import annotations

import qdrant_edge as edge
from qdrant_client import models

from crewchief.engine.convert.filters import edge_filter


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
