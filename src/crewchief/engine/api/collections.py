"""Collection changes: QdrantClient's update_collection and named-vector create / delete.

The new config is worked out by `engine.config_update` (pure: Qdrant's merge rules, the
refusals) from the collection's current one, under the registry's lock, and applied by
the registry: stored first with a note of what the shard still has to do, then done.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qdrant_client import models

from crewchief.engine import config_update
from crewchief.engine.registry import Collections


class CollectionsAPI:
    _collections: Collections
    _op_counter: int

    def update_collection(
        self,
        collection_name: str,
        optimizers_config: models.OptimizersConfigDiff | None = None,
        collection_params: models.CollectionParamsDiff | None = None,
        vectors_config: Mapping[str, models.VectorParamsDiff] | None = None,
        hnsw_config: models.HnswConfigDiff | None = None,
        quantization_config: Any = None,
        timeout: int | None = None,
        sparse_vectors_config: Mapping[str, models.SparseVectorParams] | None = None,
        strict_mode_config: models.StrictModeConfig | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> bool:
        """Change a collection's settings, as Qdrant does; index and quantization changes
        rebuild in the background (status yellow meanwhile).  An alias names its collection."""
        if "optimizer_config" in kwargs:  # QdrantClient's other spelling
            optimizers_config = kwargs.pop("optimizer_config")

        def plan(old: models.CollectionConfig) -> config_update.Change:
            new = config_update.update_config(
                old,
                optimizers_config=optimizers_config,
                collection_params=collection_params,
                vectors_config=vectors_config,
                hnsw_config=hnsw_config,
                quantization_config=quantization_config,
                sparse_vectors_config=sparse_vectors_config,
                strict_mode_config=strict_mode_config,
                metadata=metadata,
            )
            return config_update.plan(old, new)

        self._collections.reconfigure(collection_name, plan)
        return True

    def create_vector_name(
        self,
        collection_name: str,
        vector_name: str,
        vector_name_config: models.DenseVectorNameConfig | models.SparseVectorNameConfig,
        wait: bool = True,
        ordering: models.WriteOrdering | None = None,
        timeout: int | None = None,
        **kwargs: Any,
    ) -> models.UpdateResult:
        """Add a named vector (dense or sparse) to a collection; its points lack it until
        written.  Creating one that exists with the same schema changes nothing."""
        self._collections.change_vector(
            collection_name,
            lambda old: config_update.add_vector(old, vector_name, vector_name_config),
        )
        return self._completed()

    def delete_vector_name(
        self,
        collection_name: str,
        vector_name: str,
        wait: bool = True,
        ordering: models.WriteOrdering | None = None,
        timeout: int | None = None,
        **kwargs: Any,
    ) -> models.UpdateResult:
        """Remove a named vector and its data from every point (a missing one: no error)."""
        self._collections.change_vector(
            collection_name, lambda old: config_update.remove_vector(old, vector_name)
        )
        return self._completed()

    def _completed(self) -> models.UpdateResult:
        self._op_counter += 1
        return models.UpdateResult(
            operation_id=self._op_counter, status=models.UpdateStatus.COMPLETED
        )
