"""Collection configuration: Qdrant's `CollectionConfig` as created, and the Edge config it implies.

The catalog stores the `CollectionConfig` JSON exactly as `get_collection` echoes
it (Qdrant's defaults filled in), so the stored form is Qdrant's own schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from crewchief.core.vectors import dense_vectors, multivectors, sparse_vectors
from crewchief.engine.convert.vector_params import (
    edge_hnsw,
    edge_quantization,
    edge_sparse_params,
    edge_vector_params,
)
from crewchief.engine.convert.vectors import VectorSizes
from crewchief.errors import InvalidInput

# Qdrant's defaults (what a server reports for a collection created without options).
DEFAULT_HNSW = models.HnswConfig(m=16, ef_construct=100, full_scan_threshold=10000)
DEFAULT_OPTIMIZERS = models.OptimizersConfig(
    deleted_threshold=0.2,
    vacuum_min_vector_number=1000,
    default_segment_number=0,
    max_segment_size=None,
    memmap_threshold=None,
    indexing_threshold=10000,
    flush_interval_sec=5,
    max_optimization_threads=None,
)
DEFAULT_WAL = models.WalConfig(wal_capacity_mb=32, wal_segments_ahead=0)

# The shard's only vector in a collection created without vectors: never written, never
# reported (the collection's config has no vectors), and not a name a request can reach
# (requests are checked against the collection's config).
NO_VECTORS = "crewchief:no-vectors"

_QUANTIZATIONS = (
    models.ScalarQuantization,
    models.ProductQuantization,
    models.BinaryQuantization,
    models.TurboQuantization,
)


def _merge(base: Any, diff: Any) -> Any:
    if diff is None:
        return base
    if not isinstance(diff, dict):
        diff = diff.model_dump(exclude_none=True)
    return type(base).model_validate({**base.model_dump(), **diff})


def build_config(
    vectors_config: models.VectorParams | Mapping[str, models.VectorParams] | None,
    sparse_vectors_config: Mapping[str, models.SparseVectorParams] | None = None,
    on_disk_payload: bool | None = None,
    hnsw_config: Any = None,
    optimizers_config: Any = None,
    wal_config: Any = None,
    quantization_config: Any = None,
    metadata: dict[str, Any] | None = None,
) -> models.CollectionConfig:
    """Validate create_collection arguments and fill in Qdrant's defaults."""
    sparse = _parse_sparse(sparse_vectors_config)
    vectors = _parse_vectors(vectors_config) if vectors_config is not None else {}
    if "" in sparse:
        raise InvalidInput(
            "Wrong input: Sparse vector name cannot be empty",
            hint='Name it, e.g. sparse_vectors_config={"text": SparseVectorParams()}',
        )
    named = vectors.items() if isinstance(vectors, dict) else [("", vectors)]
    for name, params in named:
        if params.size < 1 or params.size > 65536:
            raise InvalidInput(
                f"Vector `{name or 'default'}` has size {params.size}; it must be 1..65536",
                hint="Set VectorParams(size=...) to your embedding's dimension",
            )
        if name in sparse:
            raise InvalidInput(
                "Wrong input: Dense and sparse vector names must be unique - duplicate found "
                f"with '{name}'",
                hint="Give dense and sparse vectors different names",
            )
    quantization = _parse_quantization(quantization_config)
    config = models.CollectionConfig(
        params=models.CollectionParams(
            vectors=vectors,
            shard_number=1,
            replication_factor=1,
            write_consistency_factor=1,
            on_disk_payload=True if on_disk_payload is None else on_disk_payload,
            sparse_vectors=sparse or None,
        ),
        hnsw_config=_merge(DEFAULT_HNSW, hnsw_config),
        optimizer_config=_merge(DEFAULT_OPTIMIZERS, optimizers_config),
        wal_config=_merge(DEFAULT_WAL, wal_config),
        quantization_config=quantization,
        metadata=metadata,
    )
    return config


def _parse_vectors(
    cfg: models.VectorParams | Mapping[str, models.VectorParams],
) -> models.VectorParams | dict[str, models.VectorParams]:
    if isinstance(cfg, models.VectorParams):
        return cfg
    if isinstance(cfg, Mapping):
        return {str(k): models.VectorParams.model_validate(v) for k, v in cfg.items()}
    return models.VectorParams.model_validate(cfg)


def _parse_sparse(cfg: Any) -> dict[str, models.SparseVectorParams]:
    if cfg is None:
        return {}
    if not isinstance(cfg, Mapping):
        raise InvalidInput(
            "sparse_vectors_config must map names to SparseVectorParams",
            hint='e.g. sparse_vectors_config={"text": models.SparseVectorParams()}',
        )
    return {str(k): models.SparseVectorParams.model_validate(v) for k, v in cfg.items()}


def _parse_quantization(q: Any) -> Any:
    if q is None or isinstance(q, _QUANTIZATIONS):
        return q
    for cls in _QUANTIZATIONS:
        try:
            return cls.model_validate(q)
        except ValueError:
            continue
    raise InvalidInput(
        f"Unknown quantization config {q!r}",
        hint="Use models.ScalarQuantization, ProductQuantization, BinaryQuantization "
        "or TurboQuantization",
    )


def vector_sizes(config: models.CollectionConfig) -> VectorSizes:
    """Vector name ("" for the single unnamed vector) -> dimension, for the dense vectors;
    the result also knows which names hold multi-vectors and which are sparse."""
    return VectorSizes(
        {name: p.size for name, p in dense_vectors(config).items()},
        multi=multivectors(config),
        sparse=sparse_vectors(config),
    )


def edge_config(config: models.CollectionConfig) -> edge.EdgeConfig:
    """The Edge shard configuration for a collection (the WAL always stays on); what the
    edge cannot build is refused here, as InvalidInput naming it."""
    v = config.params.vectors
    vectors: edge.EdgeVectorParams | dict[str, edge.EdgeVectorParams]
    if isinstance(v, models.VectorParams):
        vectors = edge_vector_params("", v, config.hnsw_config)
    else:
        vectors = {
            name: edge_vector_params(name, p, config.hnsw_config) for name, p in (v or {}).items()
        }
    sparse = {name: edge_sparse_params(name, p) for name, p in sparse_vectors(config).items()}
    if not vectors and not sparse:
        # a collection without vectors (a payload store, as Qdrant allows): the edge needs
        # one vector, so its shard has a sparse one that no point has and nothing names
        sparse = {NO_VECTORS: edge.EdgeSparseVectorParams()}
    o = config.optimizer_config
    return edge.EdgeConfig(
        vectors=vectors,
        sparse_vectors=sparse or None,
        on_disk_payload=config.params.on_disk_payload,
        hnsw_config=edge_hnsw(config.hnsw_config),
        quantization_config=edge_quantization(config.quantization_config),
        optimizers=edge.EdgeOptimizersConfig(
            deleted_threshold=o.deleted_threshold,
            vacuum_min_vector_number=o.vacuum_min_vector_number,
            default_segment_number=o.default_segment_number,
            max_segment_size=o.max_segment_size,
            indexing_threshold=o.indexing_threshold,
        ),
        wal_enabled=True,
    )


def config_warnings(config: models.CollectionConfig) -> list[models.CollectionWarning] | None:
    """Qdrant's warnings about a configuration (collection/src/config.rs `get_warnings`):
    a vector's `hnsw_config.inline_storage` (its own, else the collection's) is ignored on a
    multi-vector or without quantization (the vector's or the collection's).  None if none."""
    out = []
    for name, params in dense_vectors(config).items():
        own = params.hnsw_config.inline_storage if params.hnsw_config else None
        inline = config.hnsw_config.inline_storage if own is None else own
        if not inline:
            continue
        if params.multivector_config is not None:
            problem = "is not compatible with multivectors"
        elif params.quantization_config is None and config.quantization_config is None:
            problem = "requires quantization to be enabled"
        else:
            continue
        message = (
            f"The `hnsw_config.inline_storage` option for vector '{name}' {problem}. "
            "This option will be ignored."
        )
        out.append(models.CollectionWarning(message=message))
    return out or None
