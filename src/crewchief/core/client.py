"""The QdrantClient calls crewchief's upper layers make, as a typed seam.

ops, backup, the dashboard and the CLI reach collections through `Target.client`:
a `qdrant_client.QdrantClient` for a server at a URL, the embedded `Engine` for a
data directory.  `QdrantAPI` is what both must offer, with the parameters
crewchief passes; mypy checks every call against it, and `crewchief.target`
checks that both kinds satisfy it.

The parameter types are the narrower of the two signatures (what both accept),
the return types the wider (what either may return).  Arguments after the first
ones are keyword-only, as crewchief passes them (the two orders differ).  There
is no `**kwargs`: a keyword neither takes is an error at type-check time, not at
run time.

Two places are looser than one would like, both because qdrant-client's own
signatures also cover its gRPC transport:
- `create_snapshot` may return None (qdrant-client says so for `wait=False`; we
  always wait): `created()` turns that None into an `EngineFailure`;
- `scroll`'s next offset is `Any`: pass it back as `offset`, nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from qdrant_client import models

from crewchief.core.aliases import AliasOp
from crewchief.errors import EngineFailure

QueryInput = (
    models.ExtendedPointId
    | list[float]
    | list[list[float]]
    | models.SparseVector
    | models.Query
    | None
)
PayloadIndexSchema = models.PayloadSchemaType | models.PayloadSchemaParams


class QdrantAPI(Protocol):
    """The subset of `QdrantClient`'s API that crewchief calls (and `Engine` mirrors)."""

    # -- collections ------------------------------------------------------------------------------

    def get_collections(self) -> models.CollectionsResponse: ...

    def get_collection(self, collection_name: str) -> models.CollectionInfo: ...

    def collection_exists(self, collection_name: str) -> bool: ...

    def create_collection(
        self,
        collection_name: str,
        *,
        vectors_config: models.VectorParams | dict[str, models.VectorParams] | None = None,
        sparse_vectors_config: dict[str, models.SparseVectorParams] | None = None,
        on_disk_payload: bool | None = None,
        hnsw_config: models.HnswConfigDiff | None = None,
        optimizers_config: models.OptimizersConfigDiff | None = None,
        wal_config: models.WalConfigDiff | None = None,
        quantization_config: models.QuantizationConfig | None = None,
    ) -> bool: ...

    def delete_collection(self, collection_name: str) -> bool: ...

    def create_payload_index(
        self,
        collection_name: str,
        field_name: str,
        *,
        field_schema: PayloadIndexSchema | None = None,
        wait: bool = True,
    ) -> models.UpdateResult: ...

    # -- points -----------------------------------------------------------------------------------

    def count(
        self,
        collection_name: str,
        *,
        count_filter: models.Filter | None = None,
        exact: bool = True,
    ) -> models.CountResult: ...

    def scroll(
        self,
        collection_name: str,
        *,
        scroll_filter: models.Filter | None = None,
        limit: int = 10,
        offset: models.ExtendedPointId | None = None,
        with_payload: models.WithPayloadInterface = True,
        with_vectors: models.WithVector = False,
    ) -> tuple[list[models.Record], Any]: ...

    def retrieve(
        self,
        collection_name: str,
        ids: Sequence[models.ExtendedPointId],
        *,
        with_payload: models.WithPayloadInterface = True,
        with_vectors: models.WithVector = False,
    ) -> list[models.Record]: ...

    def upsert(
        self,
        collection_name: str,
        points: models.Batch | Sequence[models.PointStruct],
        *,
        wait: bool = True,
    ) -> models.UpdateResult: ...

    def query_points(
        self,
        collection_name: str,
        *,
        query: QueryInput = None,
        using: str | None = None,
        prefetch: models.Prefetch | list[models.Prefetch] | None = None,
        query_filter: models.Filter | None = None,
        search_params: models.SearchParams | None = None,
        limit: int = 10,
        offset: int | None = None,
        with_payload: models.WithPayloadInterface = True,
        with_vectors: models.WithVector = False,
        score_threshold: float | None = None,
        lookup_from: models.LookupLocation | None = None,
    ) -> models.QueryResponse: ...

    # -- aliases ----------------------------------------------------------------------------------

    def get_aliases(self) -> models.CollectionsAliasesResponse: ...

    def update_collection_aliases(self, change_aliases_operations: Sequence[AliasOp]) -> bool: ...

    # -- snapshots --------------------------------------------------------------------------------

    def create_snapshot(
        self, collection_name: str, *, wait: bool = True
    ) -> models.SnapshotDescription | None: ...

    def list_snapshots(self, collection_name: str) -> list[models.SnapshotDescription]: ...

    def delete_snapshot(
        self, collection_name: str, snapshot_name: str, *, wait: bool = True
    ) -> bool | None: ...

    def recover_snapshot(
        self,
        collection_name: str,
        location: str,
        *,
        checksum: str | None = None,
        wait: bool = True,
    ) -> bool | None: ...

    def close(self) -> None: ...


def created(
    snapshot: models.SnapshotDescription | None, collection: str
) -> models.SnapshotDescription:
    """What `create_snapshot(..., wait=True)` made; None would mean it did not wait."""
    if snapshot is None:
        raise EngineFailure(
            f"Snapshotting `{collection}` returned no snapshot description",
            hint="Look for it with: crewchief snapshot list " + collection,
        )
    return snapshot


def top_ids(
    client: QdrantAPI,
    collection: str,
    vector: list[float],
    k: int,
    exact: bool = False,
    using: str | None = None,
) -> list[int | str]:
    """The ids of the `k` points nearest to `vector` (on the named dense vector `using`;
    None or "": the unnamed one), best first.  `exact=True` scans every point: the ground
    truth an index (or a restored copy) is checked against."""
    found = client.query_points(
        collection,
        query=vector,
        using=using or None,
        limit=k,
        search_params=models.SearchParams(exact=True) if exact else None,
        with_payload=False,
    ).points
    return [p.id if isinstance(p.id, int) else str(p.id) for p in found]
