"""Collections and aliases: Qdrant's `/collections` and `/aliases` REST routes."""

from __future__ import annotations

from typing import Any

from qdrant_client.http import models
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crewchief.server.dispatch import call, drop_none, engine_of
from crewchief.server.envelope import (
    ok,
    parse_body,
    query_bool,
    query_enum,
    query_int,
    to_jsonable,
)

# CreateCollection body field -> QdrantClient.create_collection keyword
_CREATE_KWARGS = {"vectors": "vectors_config", "sparse_vectors": "sparse_vectors_config"}


def update_collection_kwargs(body: models.UpdateCollection) -> dict[str, Any]:
    """An UpdateCollection body as `QdrantClient.update_collection` keywords (REST and gRPC)."""
    return {
        "optimizers_config": body.optimizers_config,
        "collection_params": body.params,
        "vectors_config": body.vectors,
        "hnsw_config": body.hnsw_config,
        "quantization_config": body.quantization_config,
        "sparse_vectors_config": body.sparse_vectors,
        "strict_mode_config": body.strict_mode_config,
        "metadata": body.metadata,
    }


def create_collection_kwargs(body: models.CreateCollection) -> dict[str, Any]:
    """The body's explicitly given fields as `create_collection` keywords."""
    kwargs: dict[str, Any] = {}
    for field in body.model_fields_set:
        value = getattr(body, field)
        if value is not None:
            kwargs[_CREATE_KWARGS.get(field, field)] = value
    return kwargs


async def list_collections(request: Request) -> Response:
    return ok(request, await call(engine_of(request).get_collections))


async def get_collection(request: Request) -> Response:
    name = request.path_params["collection_name"]
    info = to_jsonable(await call(engine_of(request).get_collection, name))
    info["config"].setdefault("quantization_config", None)  # Qdrant writes it, null or not
    return ok(request, info)


async def create_collection(request: Request) -> Response:
    name = request.path_params["collection_name"]
    timeout = query_int(request, "timeout")
    body = await parse_body(request, models.CreateCollection, required=False)
    kwargs = create_collection_kwargs(body) if body is not None else {}
    kwargs.update(drop_none(timeout=timeout))
    return ok(request, await call(engine_of(request).create_collection, name, **kwargs))


async def delete_collection(request: Request) -> Response:
    name = request.path_params["collection_name"]
    timeout = query_int(request, "timeout")
    return ok(
        request,
        await call(engine_of(request).delete_collection, name, **drop_none(timeout=timeout)),
    )


async def update_collection(request: Request) -> Response:
    """PATCH: each part of the UpdateCollection body as update_collection's keyword."""
    name = request.path_params["collection_name"]
    timeout = query_int(request, "timeout")
    body: models.UpdateCollection = await parse_body(request, models.UpdateCollection)
    result = await call(
        engine_of(request).update_collection,
        name,
        **update_collection_kwargs(body),
        **drop_none(timeout=timeout),
    )
    return ok(request, result)


def _vector_update(request: Request) -> tuple[str, str, bool, dict[str, Any]]:
    """(collection, vector name, wait, timeout) of a named-vector route (wait: false)."""
    query_enum(request, "ordering", models.WriteOrdering)  # validated; one replica
    wait = query_bool(request, "wait", False)
    path = request.path_params
    timeout = drop_none(timeout=query_int(request, "timeout"))
    return path["collection_name"], path["vector_name"], wait, timeout


def _vector_result(request: Request, wait: bool, result: models.UpdateResult) -> Response:
    if not wait:
        result = result.model_copy(update={"status": models.UpdateStatus.ACKNOWLEDGED})
    return ok(request, result)


async def create_vector_name(request: Request) -> Response:
    name, vector, wait, timeout = _vector_update(request)
    body = await parse_body(request, models.VectorNameConfig)
    result = await call(
        engine_of(request).create_vector_name, name, vector, body, wait=wait, **timeout
    )
    return _vector_result(request, wait, result)


async def delete_vector_name(request: Request) -> Response:
    name, vector, wait, timeout = _vector_update(request)
    result = await call(engine_of(request).delete_vector_name, name, vector, wait=wait, **timeout)
    return _vector_result(request, wait, result)


async def collection_exists(request: Request) -> Response:
    name = request.path_params["collection_name"]
    exists = await call(engine_of(request).collection_exists, name)
    return ok(request, models.CollectionExistence(exists=bool(exists)))


async def update_aliases(request: Request) -> Response:
    timeout = query_int(request, "timeout")
    body: models.ChangeAliasesOperation = await parse_body(request, models.ChangeAliasesOperation)
    # one engine call: every client sees all of these actions or none of them
    result = await call(
        engine_of(request).update_collection_aliases,
        change_aliases_operations=body.actions,
        **drop_none(timeout=timeout),
    )
    return ok(request, result)


async def list_aliases(request: Request) -> Response:
    return ok(request, await call(engine_of(request).get_aliases))


async def collection_aliases(request: Request) -> Response:
    name = request.path_params["collection_name"]
    return ok(request, await call(engine_of(request).get_collection_aliases, name))


routes = [
    Route("/collections", list_collections, methods=["GET"]),
    Route("/collections/aliases", update_aliases, methods=["POST"]),
    Route("/aliases", list_aliases, methods=["GET"]),
    Route("/collections/{collection_name}", get_collection, methods=["GET"]),
    Route("/collections/{collection_name}", create_collection, methods=["PUT"]),
    Route("/collections/{collection_name}", delete_collection, methods=["DELETE"]),
    Route("/collections/{collection_name}", update_collection, methods=["PATCH"]),
    Route(
        "/collections/{collection_name}/vectors/{vector_name}",
        create_vector_name,
        methods=["PUT"],
    ),
    Route(
        "/collections/{collection_name}/vectors/{vector_name}",
        delete_vector_name,
        methods=["DELETE"],
    ),
    Route("/collections/{collection_name}/exists", collection_exists, methods=["GET"]),
    Route("/collections/{collection_name}/aliases", collection_aliases, methods=["GET"]),
]
