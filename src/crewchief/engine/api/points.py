"""Writes: QdrantClient's point and payload index updates, as Edge update operations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from crewchief.engine import requests
from crewchief.engine.registry import Collections


class PointsAPI:
    """Every write is an `edge.UpdateOperation` built by `requests`, applied by the
    collection; the answer is COMPLETED with a per-engine operation counter."""

    _collections: Collections
    _op_counter: int

    def _write(
        self, collection_name: str, op: edge.UpdateOperation, upserted: int = 0
    ) -> models.UpdateResult:
        self._collections.get(collection_name).update(op, upserted)
        self._op_counter += 1
        return models.UpdateResult(
            operation_id=self._op_counter, status=models.UpdateStatus.COMPLETED
        )

    def upsert(
        self,
        collection_name: str,
        points: models.Batch | Sequence[models.PointStruct],
        wait: bool = True,
        ordering: Any = None,
        shard_key_selector: Any = None,
        update_filter: models.Filter | None = None,
        update_mode: models.UpdateMode | None = None,
        **kwargs: Any,
    ) -> models.UpdateResult:
        sizes = self._collections.get(collection_name).sizes
        op, upserted = requests.upsert_op(sizes, points, update_filter, update_mode)
        return self._write(collection_name, op, upserted=upserted)

    def upload_points(
        self,
        collection_name: str,
        points: Iterable[models.PointStruct],
        batch_size: int = 64,
        **kwargs: Any,
    ) -> None:
        # update_filter and update_mode are honoured as in local mode; the other trailing
        # keywords are about a remote server
        flt, mode = kwargs.get("update_filter"), kwargs.get("update_mode")
        batch: list[models.PointStruct] = []
        for p in points:
            batch.append(p)
            if len(batch) >= batch_size:
                self.upsert(collection_name, batch, update_filter=flt, update_mode=mode)
                batch = []
        if batch:
            self.upsert(collection_name, batch, update_filter=flt, update_mode=mode)

    def delete(
        self, collection_name: str, points_selector: Any, wait: bool = True, **kwargs: Any
    ) -> models.UpdateResult:
        return self._write(collection_name, requests.delete_op(points_selector))

    def create_payload_index(
        self,
        collection_name: str,
        field_name: str,
        field_schema: Any = None,
        field_type: Any = None,
        wait: bool = True,
        **kwargs: Any,
    ) -> models.UpdateResult:
        op = requests.create_index_op(field_name, field_schema, field_type)
        return self._write(collection_name, op)

    def delete_payload_index(
        self, collection_name: str, field_name: str, wait: bool = True, **kwargs: Any
    ) -> models.UpdateResult:
        return self._write(collection_name, requests.delete_index_op(field_name))
