"""Writes: QdrantClient's point and payload index updates, as Edge update operations.

`_apply` applies `updates.Update`s (payload and vector operations, batches) the way
Qdrant does: an empty id list is refused when the update is reached, and an update that
names points the collection does not hold writes the points it does hold, then answers
404 for the first missing one.  The lookup and the write happen under the collection's
lock, so no other write comes between them.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import qdrant_edge as edge
from qdrant_client import models

from crewchief.core.vectors import dense_vectors
from crewchief.engine import requests, strict_write, updates
from crewchief.engine.collection import Collection
from crewchief.engine.convert.ids import client_point_id
from crewchief.engine.registry import Collections
from crewchief.errors import InvalidInput, NotFound


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

    def _apply(
        self, collection_name: str, batch: Sequence[Sequence[updates.Update]]
    ) -> list[models.UpdateResult]:
        """Apply each group of updates in turn (one UpdateResult per group).  A failure
        stops the batch there; the groups before it stay applied, as in Qdrant."""
        col = self._collections.get(collection_name)
        results: list[models.UpdateResult] = []

        def run(shard: edge.EdgeShard) -> None:
            for group in batch:
                for update in group:
                    _apply_one(col, shard, update)
                self._op_counter += 1
                results.append(
                    models.UpdateResult(
                        operation_id=self._op_counter, status=models.UpdateStatus.COMPLETED
                    )
                )

        # Collection.update takes the same (reentrant) lock that read holds here
        col.read(run)
        return results

    def batch_update_points(
        self,
        collection_name: str,
        update_operations: Sequence[Any],
        wait: bool = True,
        ordering: Any = None,
        **kwargs: Any,
    ) -> list[models.UpdateResult]:
        """Every operation checked first (bad input changes nothing), then applied in order."""
        col = self._collections.get(collection_name)
        strict_write.batch(col, update_operations, kwargs)
        batch = updates.batch_updates(col.sizes, vector_names(col), update_operations)
        return self._apply(collection_name, batch)

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
        strict_write.upsert(self._collections.get(collection_name), points, kwargs)
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

    def upload_collection(
        self,
        collection_name: str,
        vectors: Any,
        payload: Iterable[dict[Any, Any]] | None = None,
        ids: Iterable[models.ExtendedPointId] | None = None,
        batch_size: int = 64,
        **kwargs: Any,
    ) -> None:
        """As in local mode: `vectors` a 2-d numpy array, a {name: array} map or an iterable
        of vectors; ids default to random UUIDs, payloads to {}.  Numpy arrays go to the
        shard in slices, checked a batch at a time (no per-point models)."""
        flt, mode = kwargs.get("update_filter"), kwargs.get("update_mode")
        rows: Any = vectors
        if isinstance(vectors, dict) and any(isinstance(v, np.ndarray) for v in vectors.values()):
            if len({len(v) for v in vectors.values()}) != 1:
                raise InvalidInput(
                    "Each named vector should have the same number of vectors",
                    hint="Pass one array per name, all with one row per point",
                )
        elif not isinstance(vectors, np.ndarray):
            rows = iter(vectors)
        id_iter = iter(ids) if ids is not None else (str(uuid.uuid4()) for _ in itertools.count())
        pay_iter = iter(payload) if payload is not None else itertools.repeat({})
        lo = 0
        while True:
            if isinstance(rows, np.ndarray):
                chunk: Any = rows[lo : lo + batch_size]
            elif isinstance(rows, dict):
                chunk = {name: arr[lo : lo + batch_size] for name, arr in rows.items()}
            else:
                chunk = [
                    v.tolist() if isinstance(v, np.ndarray) else v or {}
                    for v in itertools.islice(rows, batch_size)
                ]
            count = len(next(iter(chunk.values()))) if isinstance(chunk, dict) else len(chunk)
            # zip's rule, as in qdrant-client: the shortest of vectors, ids, payloads ends it
            id_chunk = list(itertools.islice(id_iter, count))
            pay_chunk = [p or {} for p in itertools.islice(pay_iter, count)]
            count = min(count, len(id_chunk), len(pay_chunk))
            if count == 0:
                return
            if isinstance(chunk, dict):
                chunk = {name: arr[:count] for name, arr in chunk.items()}
            elif isinstance(chunk, np.ndarray):
                chunk = chunk[:count]
            else:
                chunk = _rows_or_maps(chunk[:count])
            lo += count
            batch = models.Batch.model_construct(
                ids=id_chunk[:count], vectors=chunk, payloads=pay_chunk[:count]
            )
            self.upsert(collection_name, batch, update_filter=flt, update_mode=mode)

    def delete(
        self, collection_name: str, points_selector: Any, wait: bool = True, **kwargs: Any
    ) -> models.UpdateResult:
        ids = updates.selection(points_selector).ids if _is_ids(points_selector) else None
        if ids is not None and not ids:
            self._collections.get(collection_name)
            raise InvalidInput(updates.EMPTY_UPDATE, hint="Name at least one point id")
        col = self._collections.get(collection_name)
        strict_write.selected(col, *strict_write.selector(points_selector), kwargs)
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
        strict_write.create_index(self._collections.get(collection_name), kwargs)
        return self._write(collection_name, op)

    def delete_payload_index(
        self, collection_name: str, field_name: str, wait: bool = True, **kwargs: Any
    ) -> models.UpdateResult:
        return self._write(collection_name, requests.delete_index_op(field_name))


def _rows_or_maps(vectors: list[Any]) -> Any:
    """Per-point vectors as a Batch holds them: rows, or {name: rows} for named ones."""
    if vectors and all(type(v) is dict for v in vectors):
        names = list(dict.fromkeys(k for v in vectors for k in v))
        if all(len(v) == len(names) for v in vectors):
            return {name: [v[name] for v in vectors] for name in names}
    return vectors


def _is_ids(selector: Any) -> bool:
    return isinstance(selector, list | tuple | models.PointIdsList)


def vector_names(col: Collection) -> set[str]:
    """Every vector name of the collection ("" for the unnamed one), dense and sparse."""
    params = col.config.params
    names = set(dense_vectors(col.config))
    return names | set(params.sparse_vectors or {})


def _apply_one(col: Collection, shard: edge.EdgeShard, update: updates.Update) -> None:
    if update.ids is None:
        col.update(update.make([]), update.upserted)
        return
    if not update.ids:
        raise InvalidInput(updates.EMPTY_UPDATE, hint="Name at least one point id")
    if not update.must_exist:
        col.update(update.make(update.ids), update.upserted)
        return
    found = {r.id for r in shard.retrieve(update.ids, with_payload=False, with_vector=False)}
    present = [i for i in update.ids if i in found]
    if present:
        col.update(update.make(present), update.upserted)
    missing = next((i for i in update.ids if i not in found), None)
    if missing is not None:
        raise NotFound(
            f"No point with id {client_point_id(missing)} found",
            hint="Upsert the point first, or check its id with retrieve",
        )
