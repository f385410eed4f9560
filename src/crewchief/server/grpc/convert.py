"""gRPC requests as the REST routes' models, with qdrant-client's converters.

Each function reads one gRPC request (`qdrant_client.grpc`) into the REST body
the matching route validates (`qdrant_client.http.models`), through
`GrpcToRest`, so that a servicer can hand it to the same typed `Engine` call,
with the same defaults, as the route does.  Unset optional fields stay unset
(`HasField`): a default is decided once, where the REST route decides it.
Results go back with `RestToGrpc`.  Where qdrant-client has no converter
(CreateVectorName's config) or Qdrant's own text differs from the converter's
error, the request is read here by hand, with Qdrant's checks and messages.
"""

from __future__ import annotations

import functools
from typing import Any

import grpc
import numpy as np
from qdrant_client import grpc as pb
from qdrant_client.conversions.conversion import (
    GrpcToRest,
    grpc_field_type_to_payload_schema,
    grpc_to_payload,
)
from qdrant_client.http import models

from crewchief.engine.updates import NO_SELECTOR
from crewchief.server.grpc.status import RpcError

# CreateCollection (gRPC field, REST body field, converter or None for a scalar)
_CREATE_FIELDS: list[tuple[str, str, Any]] = [
    ("vectors_config", "vectors", GrpcToRest.convert_vectors_config),
    ("sparse_vectors_config", "sparse_vectors", GrpcToRest.convert_sparse_vector_config),
    ("hnsw_config", "hnsw_config", GrpcToRest.convert_hnsw_config_diff),
    ("wal_config", "wal_config", GrpcToRest.convert_wal_config_diff),
    ("optimizers_config", "optimizers_config", GrpcToRest.convert_optimizers_config_diff),
    ("quantization_config", "quantization_config", GrpcToRest.convert_quantization_config),
    ("sharding_method", "sharding_method", GrpcToRest.convert_sharding_method),
    ("strict_mode_config", "strict_mode_config", GrpcToRest.convert_strict_mode_config),
    ("payload", "payload", GrpcToRest.convert_payload_storage_params),
    ("id_tracker", "id_tracker", GrpcToRest.convert_id_tracker_params),
    ("shard_number", "shard_number", None),
    ("replication_factor", "replication_factor", None),
    ("write_consistency_factor", "write_consistency_factor", None),
    ("on_disk_payload", "on_disk_payload", None),
]


def optional(message: Any, field: str, convert: Any = None) -> Any:
    """The field's value (converted), or None when the client left it out."""
    if not message.HasField(field):
        return None
    value = getattr(message, field)
    return convert(value) if convert is not None else value


def create_collection(req: pb.CreateCollection) -> models.CreateCollection:
    """The body `PUT /collections/{name}` would have carried."""
    body: dict[str, Any] = {}
    for grpc_field, rest_field, convert in _CREATE_FIELDS:
        value = optional(req, grpc_field, convert)
        if value is not None:
            body[rest_field] = value
    if len(req.metadata):
        body["metadata"] = GrpcToRest.convert_payload(req.metadata)
    return models.CreateCollection(**body)


def alias_actions(req: pb.ChangeAliases) -> list[models.AliasOperations]:
    return [GrpcToRest.convert_alias_operations(action) for action in req.actions]


def write_options(req: Any) -> dict[str, Any]:
    """`wait` (Qdrant's default: false), `timeout`; `ordering` read and checked (one replica)."""
    optional(req, "ordering", GrpcToRest.convert_write_ordering)
    options: dict[str, Any] = {"wait": bool(optional(req, "wait"))}
    timeout = optional(req, "timeout")
    if timeout is not None:
        options["timeout"] = timeout
    return options


def read_options(req: Any) -> dict[str, Any]:
    """`timeout`; `read_consistency` read and checked (one replica satisfies every level)."""
    optional(req, "read_consistency", GrpcToRest.convert_read_consistency)
    timeout = optional(req, "timeout")
    return {} if timeout is None else {"timeout": timeout}


def shard_key(req: Any) -> Any:
    return optional(req, "shard_key_selector", GrpcToRest.convert_shard_key_selector)


def upsert(req: pb.UpsertPoints) -> models.PointsList | models.PointsBatch:
    """The REST body: a Batch when every point has one dense vector of one length (the
    vectors read as one float32 matrix), else the points, read as the converters would."""
    options = {
        "shard_key": shard_key(req),
        "update_filter": optional(req, "update_filter", GrpcToRest.convert_filter),
        "update_mode": optional(req, "update_mode", GrpcToRest.convert_update_mode),
    }
    batch = dense_batch(req.points)
    if batch is not None:
        return models.PointsBatch(batch=batch, **options)
    points = plain_points(req.points)
    if points is None:  # anything else: qdrant-client's converters, and their errors
        points = [GrpcToRest.convert_point_struct(p) for p in req.points]
    return models.PointsList(points=points, **options)


def dense_batch(points: Any) -> models.Batch | None:
    """Points that each have an id and one unnamed dense vector, all of one length, as a
    Batch: ids, a float32 matrix cut from the vectors' packed bytes (the floats the
    converters would read, without a Python float each), payloads.  None otherwise (a
    vector with anything but its floats in it, too: the bytes are checked to be exactly
    the packed field)."""
    if not len(points):
        return None
    ids, packed, payloads = [], [], []
    for p in points:
        id_kind = p.id.WhichOneof("point_id_options")
        if id_kind is None or not p.HasField("vectors"):
            return None
        if p.vectors.WhichOneof("vectors_options") != "vector":
            return None
        vector = p.vectors.vector
        if vector.WhichOneof("vector") != "dense":
            return None
        ids.append(getattr(p.id, id_kind))
        packed.append(vector.dense.SerializeToString())
        payloads.append(grpc_to_payload(p.payload))
    dim = len(points[0].vectors.vector.dense.data)
    head = _packed_head(dim) if dim else None
    if head is None or any(len(b) != len(head) + 4 * dim for b in packed):
        return None
    raw = np.frombuffer(b"".join(packed), dtype=np.uint8).reshape(len(packed), -1)
    if not (raw[:, : len(head)] == np.frombuffer(head, dtype=np.uint8)).all():
        return None
    matrix = np.ascontiguousarray(raw[:, len(head) :]).view("<f4")
    return models.Batch.model_construct(ids=ids, vectors=matrix, payloads=payloads)


@functools.cache
def _packed_head(dim: int) -> bytes:
    """The bytes before the floats of a serialised DenseVector of `dim` floats."""
    return pb.DenseVector(data=[0.0] * dim).SerializeToString()[: -4 * dim]


def plain_points(points: Any) -> list[models.PointStruct] | None:
    """Points with an id and dense vectors (one unnamed, or named ones) as the REST models
    `GrpcToRest.convert_point_struct` makes of them, without validating each one: their
    fields are what validation would keep (ints or strings, floats, a JSON payload).  None
    when a point is of another kind (no id or vectors, sparse, multi, inference objects):
    the converters then read every point, and refuse what they refuse."""
    out: list[models.PointStruct] = []
    build = models.PointStruct.model_construct
    vector: Any
    for p in points:
        id_kind = p.id.WhichOneof("point_id_options")
        if id_kind is None or not p.HasField("vectors"):
            return None
        vectors, vector = p.vectors, None
        kind = vectors.WhichOneof("vectors_options")
        if kind == "vector":
            vector = _dense(vectors.vector)
        elif kind == "vectors":
            named = {name: _dense(v) for name, v in vectors.vectors.vectors.items()}
            vector = None if None in named.values() else named
        if vector is None:
            return None
        payload = grpc_to_payload(p.payload)
        out.append(build(id=getattr(p.id, id_kind), vector=vector, payload=payload))
    return out


def _dense(vector: pb.Vector) -> list[float] | None:
    return vector.dense.data[:] if vector.WhichOneof("vector") == "dense" else None


def points_selector(req: pb.DeletePoints) -> models.PointsSelector:
    if not req.HasField("points"):
        raise ValueError("No PointsSelector provided")
    selector: models.PointsSelector = GrpcToRest.convert_points_selector(
        req.points, shard_key_selector=shard_key(req)
    )
    return selector


def payload_selector(req: Any) -> Any:
    """`points_selector` as the REST payload bodies carry it: the ids, or the filter."""
    if not req.HasField("points_selector") or not req.points_selector.WhichOneof(
        "points_selector_one_of"
    ):
        raise ValueError(NO_SELECTOR)
    selector = GrpcToRest.convert_points_selector(req.points_selector)
    if isinstance(selector, models.PointIdsList):
        return selector.points
    return selector.filter


def set_payload(req: pb.SetPayloadPoints) -> tuple[dict[str, Any], Any]:
    return GrpcToRest.convert_payload(req.payload), payload_selector(req)


def update_vectors(req: pb.UpdatePointVectors) -> models.UpdateVectors:
    return models.UpdateVectors(
        points=[GrpcToRest.convert_point_vectors(p) for p in req.points],
        shard_key=shard_key(req),
        update_filter=optional(req, "update_filter", GrpcToRest.convert_filter),
    )


def delete_vectors(req: pb.DeletePointVectors) -> models.DeleteVectors:
    selector = payload_selector(req)
    by_ids = isinstance(selector, list)
    return models.DeleteVectors(
        points=selector if by_ids else None,
        filter=None if by_ids else selector,
        vector=list(req.vectors.names),
        shard_key=shard_key(req),
    )


def update_operations(req: pb.UpdateBatchPoints) -> list[models.UpdateOperation]:
    return [GrpcToRest.convert_points_update_operation(op) for op in req.operations]


def get_points(req: pb.GetPoints) -> models.PointRequest:
    return models.PointRequest(
        ids=[GrpcToRest.convert_point_id(i) for i in req.ids],
        with_payload=optional(req, "with_payload", GrpcToRest.convert_with_payload_selector),
        with_vector=optional(req, "with_vectors", GrpcToRest.convert_with_vectors_selector),
        shard_key=shard_key(req),
    )


def scroll(req: pb.ScrollPoints) -> models.ScrollRequest:
    return models.ScrollRequest(
        filter=optional(req, "filter", GrpcToRest.convert_filter),
        offset=optional(req, "offset", GrpcToRest.convert_point_id),
        limit=optional(req, "limit"),
        with_payload=optional(req, "with_payload", GrpcToRest.convert_with_payload_selector),
        with_vector=optional(req, "with_vectors", GrpcToRest.convert_with_vectors_selector),
        order_by=optional(req, "order_by", GrpcToRest.convert_order_by),
        shard_key=shard_key(req),
    )


def count(req: pb.CountPoints) -> models.CountRequest:
    return models.CountRequest(
        filter=optional(req, "filter", GrpcToRest.convert_filter),
        exact=optional(req, "exact"),
        shard_key=shard_key(req),
    )


def query(req: pb.QueryPoints) -> models.QueryRequest:
    request: models.QueryRequest = GrpcToRest.convert_query_points(req)
    return request


def field_index(req: pb.CreateFieldIndexCollection) -> models.CreateFieldIndex:
    """Qdrant's rules (src/tonic/api/update_common.rs): `field_index_params` need a
    `field_type` of the same kind; a type alone is a plain schema; neither, no schema."""
    params = req.field_index_params
    has_params = req.HasField("field_index_params") and params.WhichOneof("index_params")
    if not req.HasField("field_type"):
        if has_params:
            raise ValueError("field type is missing")
        return models.CreateFieldIndex(field_name=req.field_name, field_schema=None)
    plain = grpc_field_type_to_payload_schema(req.field_type)  # type: ignore[arg-type]
    schema: Any = GrpcToRest.convert_payload_schema_type(plain)
    if has_params:
        schema = GrpcToRest.convert_payload_schema_params(params)
        if str(schema.type.value) != str(GrpcToRest.convert_payload_schema_type(plain).value):
            kind = pb.FieldType.Name(req.field_type).removeprefix("FieldType")
            raise ValueError(f"field_type ({kind}) and field_index_params do not match")
    return models.CreateFieldIndex(field_name=req.field_name, field_schema=schema)


# -- CreateVectorName (Qdrant: lib/api/src/grpc/conversions.rs, validate.rs) ------------------

_INVALID = grpc.StatusCode.INVALID_ARGUMENT
_MAX_DIM = 65536


def _validation(field: str, problem: str) -> RpcError:
    """Qdrant's answer to a gRPC request breaking a `#[validate]` rule (src/tonic/api/mod.rs)."""
    return RpcError(_INVALID, f"Validation error in body: [vector_config.{field}: {problem}]")


def _storage_datatype(value: int | None) -> models.VectorStorageDatatype | None:
    if value is None or value == pb.Datatype.Default:
        return None
    if value not in pb.Datatype.values():
        raise RpcError(_INVALID, f"Cannot convert datatype: {value}")
    rest: models.Datatype = GrpcToRest.convert_datatype(value)  # type: ignore[arg-type]
    return models.VectorStorageDatatype(rest.value)


def _distance(value: int) -> models.Distance:
    if value == pb.Distance.UnknownDistance:
        raise RpcError(_INVALID, "Malformed distance parameter: UnknownDistance")
    if value not in pb.Distance.values():
        raise RpcError(_INVALID, f"Malformed distance parameter, unexpected value: {value}")
    distance: models.Distance = GrpcToRest.convert_distance(value)  # type: ignore[arg-type]
    return distance


def _dense_config(config: pb.DenseVectorCreationConfig) -> models.DenseVectorNameConfig:
    multivector = None
    if config.HasField("multivector_config"):
        if config.multivector_config.comparator not in pb.MultiVectorComparator.values():
            raise RpcError(_INVALID, "Unknown multi vector comparator")
        multivector = GrpcToRest.convert_multivector_config(config.multivector_config)
    return models.DenseVectorNameConfig(
        dense=models.DenseVectorConfig(
            size=config.size,
            distance=_distance(config.distance),
            multivector_config=multivector,
            datatype=_storage_datatype(optional(config, "datatype")),
        )
    )


def _sparse_config(config: pb.SparseVectorCreationConfig) -> models.SparseVectorNameConfig:
    modifier = optional(config, "modifier")
    if modifier is not None and modifier not in pb.Modifier.values():
        raise RpcError(_INVALID, f"Cannot convert sparse modifier: {modifier}")
    return models.SparseVectorNameConfig(
        sparse=models.SparseVectorConfig(
            modifier=None if modifier is None else GrpcToRest.convert_modifier(modifier),
            datatype=_storage_datatype(optional(config, "datatype")),
        )
    )


def vector_name_config(
    req: pb.CreateVectorNameRequest,
) -> models.DenseVectorNameConfig | models.SparseVectorNameConfig:
    """The body `PUT /collections/{name}/vectors/{vector}` would have carried, in Qdrant's
    order: the request's validation rules, then `vector_config` required, then its enums."""
    kind = req.WhichOneof("vector_config")
    if kind == "dense_config" and not 1 <= req.dense_config.size <= _MAX_DIM:
        size = req.dense_config.size
        raise _validation("size", f"value {size} invalid, must be from 1 to {_MAX_DIM}")
    if kind == "sparse_config" and optional(req.sparse_config, "datatype") == pb.Datatype.Turbo4:
        raise _validation("datatype", "sparse vectors do not support the `turbo4` datatype")
    if kind == "dense_config":
        return _dense_config(req.dense_config)
    if kind == "sparse_config":
        return _sparse_config(req.sparse_config)
    raise RpcError(_INVALID, "vector_config is required (dense_config or sparse_config)")
