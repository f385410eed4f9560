"""Pure builders: QdrantClient method arguments -> Edge requests and update operations.

No I/O and no engine state (a collection's vector sizes are passed in), so every
refusal of bad arguments happens here, before a shard is touched.

    collections  create_collection's arguments -> CollectionConfig (validated for Edge)
    writes       upsert / delete points, create / delete payload index -> UpdateOperation
    reads        retrieve, scroll, count -> Edge request objects (query_points: engine/query/)
    aliases      alias operations in any form QdrantClient takes -> AliasOp

Rooms for what comes next: payload and vector operations (set_payload,
overwrite_payload, delete_payload, clear_payload, update_vectors, delete_vectors) are
more UpdateOperation builders under "writes"; the Query API (every query kind, prefetch,
ids as vectors, lookup_from) is the package `engine/query/`, and facets get a builder
under "reads".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from crewchief.core.aliases import AliasOp
from crewchief.engine.config import build_config, edge_config
from crewchief.engine.convert.filters import edge_filter
from crewchief.engine.convert.ids import edge_point_id, point_ids
from crewchief.engine.convert.index_schema import edge_field_index_schema
from crewchief.engine.convert.payload import check_payload_key, edge_with_payload
from crewchief.engine.convert.points import edge_points
from crewchief.engine.convert.values import edge_values
from crewchief.engine.convert.vectors import edge_with_vectors
from crewchief.engine.query import params as _query_params
from crewchief.errors import InvalidInput

_UPDATE_MODES = {
    models.UpdateMode.UPSERT: edge.UpdateMode.Upsert,
    models.UpdateMode.INSERT_ONLY: edge.UpdateMode.InsertOnly,
    models.UpdateMode.UPDATE_ONLY: edge.UpdateMode.UpdateOnly,
}


# -- collections ---------------------------------------------------------------------------------


def collection_config(
    shard_number: int | None, replication_factor: int | None, **options: Any
) -> models.CollectionConfig:
    """create_collection's `options` (vectors_config, hnsw_config, ...; see `build_config`)
    as the CollectionConfig to store, refused now if the Edge shard would refuse it."""
    if shard_number not in (None, 1) or replication_factor not in (None, 1):
        raise InvalidInput(
            "The embedded engine has one shard and one replica per collection",
            hint="For sharding and replication use a Qdrant cluster (--target http://...)",
        )
    config = build_config(**options)
    if config.optimizer_config.prevent_unoptimized:
        raise InvalidInput(
            "`optimizer_config.prevent_unoptimized` cannot be applied on the embedded engine: "
            "it builds indexes in the background and answers every point meanwhile, where "
            "Qdrant would hide the points of large unindexed segments until they are indexed",
            hint="Leave it out (false), or use a Qdrant server (--target http://...)",
        )
    with edge_values("create_collection"):
        edge_config(config)  # what the shard will refuse, refused before anything exists
    return config


# -- writes --------------------------------------------------------------------------------------


def upsert_op(
    sizes: dict[str, int],
    points: models.Batch | Sequence[models.PointStruct],
    update_filter: models.Filter | None,
    update_mode: models.UpdateMode | None,
) -> tuple[edge.UpdateOperation, int]:
    """The upsert operation and the number of points it writes."""
    converted = edge_points(sizes, points)
    condition = edge_filter(update_filter)
    mode = _UPDATE_MODES[models.UpdateMode(update_mode)] if update_mode else None
    op = edge.UpdateOperation.upsert_points(converted, condition=condition, update_mode=mode)
    return op, len(converted)


def delete_op(points_selector: Any) -> edge.UpdateOperation:
    ids = point_ids(points_selector)
    if ids is not None:
        return edge.UpdateOperation.delete_points(ids)
    selector = points_selector
    if isinstance(selector, models.FilterSelector):
        selector = selector.filter
    if not isinstance(selector, models.Filter):
        raise InvalidInput(
            f"Unsupported points selector {type(points_selector).__name__}",
            hint="Pass a list of ids, PointIdsList, Filter or FilterSelector",
        )
    flt = edge_filter(selector)
    assert flt is not None
    return edge.UpdateOperation.delete_points_by_filter(flt)


def create_index_op(field_name: str, field_schema: Any, field_type: Any) -> edge.UpdateOperation:
    schema = field_schema if field_schema is not None else field_type
    if schema is None:
        raise InvalidInput(
            "create_payload_index needs a field_schema",
            hint="e.g. field_schema=models.PayloadSchemaType.KEYWORD",
        )
    key = check_payload_key(field_name, "create_payload_index")
    return edge.UpdateOperation.create_field_index(key, edge_field_index_schema(schema))


def delete_index_op(field_name: str) -> edge.UpdateOperation:
    key = check_payload_key(field_name, "delete_payload_index")
    return edge.UpdateOperation.delete_field_index(key)


# -- reads ---------------------------------------------------------------------------------------


def check_limit(limit: int) -> None:
    if not isinstance(limit, int) or limit < 1:
        raise InvalidInput(f"Bad limit {limit!r}: it must be a positive integer", hint="limit=10")


@dataclass(frozen=True)
class RetrieveRequest:
    """EdgeShard.retrieve's arguments (the edge has no request object for it)."""

    ids: list[Any]
    with_payload: Any
    with_vector: bool | list[str]

    def run(self, shard: edge.EdgeShard) -> list[edge.Record]:
        return shard.retrieve(
            self.ids, with_payload=self.with_payload, with_vector=self.with_vector
        )


def retrieve_request(
    ids: Sequence[models.ExtendedPointId],
    with_payload: Any,
    with_vectors: bool | Sequence[str],
) -> RetrieveRequest:
    edge_ids: list[Any] = [edge_point_id(i) for i in ids]
    return RetrieveRequest(
        edge_ids, edge_with_payload(with_payload), edge_with_vectors(with_vectors)
    )


def check_scroll(limit: int, order_by: Any) -> None:
    """What scroll refuses before it looks for the collection (`order_by` is checked when
    its request is built: engine/search/requests.py)."""
    check_limit(limit)


def scroll_request(
    scroll_filter: models.Filter | None,
    limit: int,
    offset: models.ExtendedPointId | None,
    with_payload: Any,
    with_vectors: bool | Sequence[str],
) -> edge.ScrollRequest:
    with edge_values("scroll"):
        return edge.ScrollRequest(
            offset=edge_point_id(offset) if offset is not None else None,
            limit=limit,
            filter=edge_filter(scroll_filter),
            with_payload=edge_with_payload(with_payload),
            with_vector=edge_with_vectors(with_vectors),
        )


def count_request(count_filter: models.Filter | None, exact: bool) -> edge.CountRequest:
    return edge.CountRequest(exact=exact, filter=edge_filter(count_filter))


# the Query API's builders (query_points and its batches) are the package engine/query/;
# search_params lives there and is re-exported here for the other reads that take it
search_params = _query_params.search_params


# -- aliases -------------------------------------------------------------------------------------


def alias_op(op: Any) -> AliasOp:
    """An alias operation as a model (QdrantClient also takes their dict form)."""
    if isinstance(
        op,
        models.CreateAliasOperation | models.DeleteAliasOperation | models.RenameAliasOperation,
    ):
        return op
    for cls in (
        models.CreateAliasOperation,
        models.DeleteAliasOperation,
        models.RenameAliasOperation,
    ):
        try:
            return cls.model_validate(op)
        except ValueError:
            continue
    raise InvalidInput(f"Not an alias operation: {op!r}", hint="Use models.CreateAliasOperation")


def create_alias_ops(aliases: dict[str, str]) -> list[AliasOp]:
    """One CreateAliasOperation per {alias: collection}."""
    return [
        models.CreateAliasOperation(
            create_alias=models.CreateAlias(collection_name=c, alias_name=a)
        )
        for a, c in aliases.items()
    ]
