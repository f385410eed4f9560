"""Payload, vector and batch updates of the `Points` gRPC service, as routes_payload.py.

Each RPC reads its request into the REST body (convert.py: ids win over a filter,
as in Qdrant) and calls the same `Engine` method the REST route calls; the engine
refuses an empty selection, no points to update or no vector names with its typed
errors, so both APIs refuse alike.  `wait` and the acknowledged answer as Upsert.
Named vectors (`CreateVectorName`, `DeleteVectorName`) as routes_collections.py's
`/collections/{name}/vectors/{vector}` routes.
"""

from __future__ import annotations

from typing import Any

from qdrant_client import grpc as pb
from qdrant_client.conversions.conversion import RestToGrpc
from qdrant_client.http import models

from crewchief.engine import Engine
from crewchief.server.grpc import convert
from crewchief.server.grpc.status import parsing, rpc


def updated(options: dict[str, Any], result: models.UpdateResult) -> pb.PointsOperationResponse:
    if not options["wait"]:
        result = result.model_copy(update={"status": models.UpdateStatus.ACKNOWLEDGED})
    return pb.PointsOperationResponse(result=RestToGrpc.convert_update_result(result))


class PointUpdates:
    """The Points RPCs that change payloads and vectors (mixed into PointsService)."""

    engine: Engine

    @rpc
    def SetPayload(self, request: pb.SetPayloadPoints, context: Any) -> Any:
        with parsing():
            options = convert.write_options(request)
            payload, selector = convert.set_payload(request)
        key = convert.optional(request, "key")
        result = self.engine.set_payload(
            request.collection_name, payload=payload, points=selector, key=key, **options
        )
        return updated(options, result)

    @rpc
    def OverwritePayload(self, request: pb.SetPayloadPoints, context: Any) -> Any:
        with parsing():
            options = convert.write_options(request)
            payload, selector = convert.set_payload(request)
        result = self.engine.overwrite_payload(
            request.collection_name, payload=payload, points=selector, **options
        )  # Qdrant ignores `key` here, as over REST
        return updated(options, result)

    @rpc
    def DeletePayload(self, request: pb.DeletePayloadPoints, context: Any) -> Any:
        with parsing():
            options = convert.write_options(request)
            selector = convert.payload_selector(request)
        result = self.engine.delete_payload(
            request.collection_name, keys=list(request.keys), points=selector, **options
        )
        return updated(options, result)

    @rpc
    def ClearPayload(self, request: pb.ClearPayloadPoints, context: Any) -> Any:
        with parsing():
            options = convert.write_options(request)
            selector = convert.points_selector(request)
        result = self.engine.clear_payload(
            request.collection_name, points_selector=selector, **options
        )
        return updated(options, result)

    @rpc
    def UpdateVectors(self, request: pb.UpdatePointVectors, context: Any) -> Any:
        with parsing():
            options = convert.write_options(request)
            body = convert.update_vectors(request)
        result = self.engine.update_vectors(
            request.collection_name,
            points=body.points,
            update_filter=body.update_filter,
            **options,
        )
        return updated(options, result)

    @rpc
    def DeleteVectors(self, request: pb.DeletePointVectors, context: Any) -> Any:
        with parsing():
            options = convert.write_options(request)
            body = convert.delete_vectors(request)
        # by filter, then by ids, when the body has both (as the REST route): one engine call
        results = self.engine.batch_update_points(
            request.collection_name,
            update_operations=[models.DeleteVectorsOperation(delete_vectors=body)],
            **options,
        )
        return updated(options, results[0])

    @rpc
    def UpdateBatch(self, request: pb.UpdateBatchPoints, context: Any) -> Any:
        with parsing():
            options = convert.write_options(request)
            operations = convert.update_operations(request)
        results = self.engine.batch_update_points(
            request.collection_name, update_operations=operations, **options
        )
        if not options["wait"]:
            status = models.UpdateStatus.ACKNOWLEDGED
            results = [r.model_copy(update={"status": status}) for r in results]
        return pb.UpdateBatchResponse(result=[RestToGrpc.convert_update_result(r) for r in results])

    @rpc
    def CreateVectorName(self, request: pb.CreateVectorNameRequest, context: Any) -> Any:
        with parsing():
            config = convert.vector_name_config(request)
            options = convert.write_options(request)
        result = self.engine.create_vector_name(
            request.collection_name, request.vector_name, config, **options
        )
        return updated(options, result)

    @rpc
    def DeleteVectorName(self, request: pb.DeleteVectorNameRequest, context: Any) -> Any:
        with parsing():
            options = convert.write_options(request)
        result = self.engine.delete_vector_name(
            request.collection_name, request.vector_name, **options
        )  # a vector the collection lacks: no error, as in Qdrant
        return updated(options, result)
