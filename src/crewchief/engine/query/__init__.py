"""The Query API for the edge: every query kind, prefetch trees, ids as vectors, lookup_from.

    kinds.py     models.Query variants -> Edge scoring queries (Qdrant's average vector too)
    formula.py   score boosting: expressions and decays -> Edge Formula
    prefetch.py  the request as a tree of stages, Qdrant's checks, Edge Prefetch stages
    resolve.py   point ids (and lookup_from) -> the vectors they name; examples excluded
    params.py    SearchParams -> Edge SearchParams
    request.py   the whole Edge QueryRequest, the edge's refusals, the answer's points

Pure: the engine (engine/api/query.py) reads the referenced points and runs the query.
This package imports nothing of its own at import time, so `engine.requests` can use it.
"""
