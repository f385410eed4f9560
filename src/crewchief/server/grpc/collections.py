"""Qdrant's `Collections` gRPC service: collections and aliases, as the REST routes.

Every RPC converts its request (convert.py) and calls the `Engine` method its
REST route calls (routes_collections.py), so both APIs answer alike;
`CollectionClusterInfo` answers as `GET /collections/{name}/cluster` does on this
standalone node (routes_cluster.py).  The RPCs without a REST route (cluster
setup, shard keys) answer UNIMPLEMENTED, naming themselves.
"""

from __future__ import annotations

from typing import Any

from qdrant_client import grpc as pb
from qdrant_client.conversions.conversion import GrpcToRest, RestToGrpc
from qdrant_client.http import models

from crewchief.engine import Engine
from crewchief.server.grpc import convert
from crewchief.server.grpc.status import fill_unimplemented, parsing, rpc
from crewchief.server.routes_cluster import cluster_info
from crewchief.server.routes_collections import create_collection_kwargs, update_collection_kwargs


def _aliases(result: Any) -> pb.ListAliasesResponse:
    return pb.ListAliasesResponse(
        aliases=[RestToGrpc.convert_alias_description(a) for a in result.aliases]
    )


def _timeout(req: Any) -> dict[str, Any]:
    timeout = convert.optional(req, "timeout")
    return {} if timeout is None else {"timeout": timeout}


@fill_unimplemented("Collections", pb.CollectionsServicer)
class CollectionsService(pb.CollectionsServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @rpc
    def List(self, request: pb.ListCollectionsRequest, context: Any) -> Any:
        result = self.engine.get_collections()
        return pb.ListCollectionsResponse(
            collections=[RestToGrpc.convert_collection_description(c) for c in result.collections]
        )

    @rpc
    def Get(self, request: pb.GetCollectionInfoRequest, context: Any) -> Any:
        info = self.engine.get_collection(request.collection_name)
        return pb.GetCollectionInfoResponse(result=RestToGrpc.convert_collection_info(info))

    @rpc
    def CollectionExists(self, request: pb.CollectionExistsRequest, context: Any) -> Any:
        exists = bool(self.engine.collection_exists(request.collection_name))
        return pb.CollectionExistsResponse(result=pb.CollectionExists(exists=exists))

    @rpc
    def Create(self, request: pb.CreateCollection, context: Any) -> Any:
        with parsing():
            kwargs = create_collection_kwargs(convert.create_collection(request))
            kwargs.update(_timeout(request))
        done = self.engine.create_collection(request.collection_name, **kwargs)
        return pb.CollectionOperationResponse(result=bool(done))

    @rpc
    def Update(self, request: pb.UpdateCollection, context: Any) -> Any:
        with parsing():
            body = GrpcToRest.convert_update_collection(request)
        done = self.engine.update_collection(
            request.collection_name,
            **update_collection_kwargs(body),
            **_timeout(request),
        )
        return pb.CollectionOperationResponse(result=bool(done))

    @rpc
    def Delete(self, request: pb.DeleteCollection, context: Any) -> Any:
        done = self.engine.delete_collection(request.collection_name, **_timeout(request))
        return pb.CollectionOperationResponse(result=bool(done))

    @rpc
    def UpdateAliases(self, request: pb.ChangeAliases, context: Any) -> Any:
        with parsing():
            actions = convert.alias_actions(request)
        # one engine call: every client sees all of these actions or none of them
        done = self.engine.update_collection_aliases(
            change_aliases_operations=actions, **_timeout(request)
        )
        return pb.CollectionOperationResponse(result=bool(done))

    @rpc
    def ListAliases(self, request: pb.ListAliasesRequest, context: Any) -> Any:
        return _aliases(self.engine.get_aliases())

    @rpc
    def ListCollectionAliases(self, request: pb.ListCollectionAliasesRequest, context: Any) -> Any:
        return _aliases(self.engine.get_collection_aliases(request.collection_name))

    @rpc
    def CollectionClusterInfo(self, request: pb.CollectionClusterInfoRequest, context: Any) -> Any:
        info = self.engine.get_collection(request.collection_name)
        body = models.CollectionClusterInfo.model_validate(cluster_info(self.engine, info))
        return RestToGrpc.convert_collection_cluster_info(body)
