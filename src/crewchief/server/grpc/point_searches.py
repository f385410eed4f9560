"""Groups, distance matrices and facets of the `Points` gRPC service, as routes_search.py.

The same engine calls and REST defaults: groups return no payload and no vectors
unless asked (`group_size` 3, `limit` 10), a matrix samples 10 points with 3
neighbours each, a facet counts the 10 most frequent values approximately.
"""

from __future__ import annotations

from typing import Any

from qdrant_client import grpc as pb
from qdrant_client.conversions.conversion import GrpcToRest, RestToGrpc

from crewchief.engine import Engine
from crewchief.server.grpc import convert
from crewchief.server.grpc.status import parsing, rpc

_opt = convert.optional


def _shard(req: Any) -> dict[str, Any]:
    key = convert.shard_key(req)
    return {} if key is None else {"shard_key_selector": key}


def _matrix(req: pb.SearchMatrixPoints) -> dict[str, Any]:
    sample, limit = _opt(req, "sample"), _opt(req, "limit")
    return {
        "query_filter": _opt(req, "filter", GrpcToRest.convert_filter),
        "limit": 3 if limit is None else limit,
        "sample": 10 if sample is None else sample,
        "using": _opt(req, "using"),
        **_shard(req),
    }


class PointSearches:
    """The Points RPCs of routes_search.py (mixed into PointsService)."""

    engine: Engine

    @rpc
    def Facet(self, request: pb.FacetCounts, context: Any) -> Any:
        with parsing():
            options = convert.read_options(request)
            limit = _opt(request, "limit")
            kwargs = {
                "key": request.key,
                "facet_filter": _opt(request, "filter", GrpcToRest.convert_filter),
                "limit": 10 if limit is None else limit,
                "exact": bool(_opt(request, "exact")),
                **_shard(request),
            }
        result = self.engine.facet(request.collection_name, **kwargs, **options)
        return pb.FacetResponse(hits=[RestToGrpc.convert_facet_value_hit(h) for h in result.hits])

    @rpc
    def SearchMatrixPairs(self, request: pb.SearchMatrixPoints, context: Any) -> Any:
        with parsing():
            options = convert.read_options(request)
            kwargs = _matrix(request)
        result = self.engine.search_matrix_pairs(request.collection_name, **kwargs, **options)
        return pb.SearchMatrixPairsResponse(result=RestToGrpc.convert_search_matrix_pairs(result))

    @rpc
    def SearchMatrixOffsets(self, request: pb.SearchMatrixPoints, context: Any) -> Any:
        with parsing():
            options = convert.read_options(request)
            kwargs = _matrix(request)
        result = self.engine.search_matrix_offsets(request.collection_name, **kwargs, **options)
        return pb.SearchMatrixOffsetsResponse(
            result=RestToGrpc.convert_search_matrix_offsets(result)
        )

    @rpc
    def QueryGroups(self, request: pb.QueryPointGroups, context: Any) -> Any:
        with parsing():
            options = convert.read_options(request)
            limit, size = _opt(request, "limit"), _opt(request, "group_size")
            with_payload = _opt(request, "with_payload", GrpcToRest.convert_with_payload_selector)
            with_vectors = _opt(request, "with_vectors", GrpcToRest.convert_with_vectors_selector)
            kwargs = {
                "group_by": request.group_by,
                "query": _opt(request, "query", GrpcToRest.convert_query),
                "using": _opt(request, "using"),
                "prefetch": [GrpcToRest.convert_prefetch_query(p) for p in request.prefetch]
                or None,
                "query_filter": _opt(request, "filter", GrpcToRest.convert_filter),
                "search_params": _opt(request, "params", GrpcToRest.convert_search_params),
                "limit": 10 if limit is None else limit,
                "group_size": 3 if size is None else size,
                "with_payload": False if with_payload is None else with_payload,
                "with_vectors": False if with_vectors is None else with_vectors,
                "score_threshold": _opt(request, "score_threshold"),
                "with_lookup": _opt(request, "with_lookup", GrpcToRest.convert_with_lookup),
                "lookup_from": _opt(request, "lookup_from", GrpcToRest.convert_lookup_location),
                **_shard(request),
            }
        result = self.engine.query_points_groups(request.collection_name, **kwargs, **options)
        return pb.QueryGroupsResponse(result=RestToGrpc.convert_groups_result(result))
