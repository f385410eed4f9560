"""Collection configuration: Qdrant's `CollectionConfig` as created, and the Edge config it implies.

The catalog stores the `CollectionConfig` JSON exactly as `get_collection` echoes
it (Qdrant's defaults filled in), so the stored form is Qdrant's own schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from crewchief.core.vectors import dense_vectors
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

_DISTANCES = {
    models.Distance.COSINE: edge.Distance.Cosine,
    models.Distance.DOT: edge.Distance.Dot,
    models.Distance.EUCLID: edge.Distance.Euclid,
    models.Distance.MANHATTAN: edge.Distance.Manhattan,
}


def _merge(base: Any, diff: Any) -> Any:
    if diff is None:
        return base
    if not isinstance(diff, dict):
        diff = diff.model_dump(exclude_none=True)
    return type(base).model_validate({**base.model_dump(), **diff})


def build_config(
    vectors_config: models.VectorParams | Mapping[str, models.VectorParams] | None,
    sparse_vectors_config: Any = None,
    on_disk_payload: bool | None = None,
    hnsw_config: Any = None,
    optimizers_config: Any = None,
    wal_config: Any = None,
    quantization_config: Any = None,
    metadata: dict[str, Any] | None = None,
) -> models.CollectionConfig:
    """Validate create_collection arguments and fill in Qdrant's defaults."""
    if sparse_vectors_config:
        raise InvalidInput(
            "Sparse vectors are not supported by the embedded engine yet",
            hint="Use dense vectors, or a Qdrant server (--target http://...)",
        )
    if vectors_config is None:
        raise InvalidInput(
            "vectors_config is required",
            hint="e.g. vectors_config=VectorParams(size=384, distance=Distance.COSINE)",
        )
    vectors = _parse_vectors(vectors_config)
    for name, params in vectors.items() if isinstance(vectors, dict) else [("", vectors)]:
        if params.size < 1 or params.size > 65536:
            raise InvalidInput(
                f"Vector `{name or 'default'}` has size {params.size}; it must be 1..65536",
                hint="Set VectorParams(size=...) to your embedding's dimension",
            )
        if params.multivector_config is not None:
            raise InvalidInput(
                "Multivectors are not supported by the embedded engine yet",
                hint="Use a Qdrant server (--target http://...) for multivectors",
            )
    return models.CollectionConfig(
        params=models.CollectionParams(
            vectors=vectors,
            shard_number=1,
            replication_factor=1,
            write_consistency_factor=1,
            on_disk_payload=True if on_disk_payload is None else on_disk_payload,
        ),
        hnsw_config=_merge(DEFAULT_HNSW, hnsw_config),
        optimizer_config=_merge(DEFAULT_OPTIMIZERS, optimizers_config),
        wal_config=_merge(DEFAULT_WAL, wal_config),
        quantization_config=quantization_config,
        metadata=metadata,
    )


def _parse_vectors(
    cfg: models.VectorParams | Mapping[str, models.VectorParams],
) -> models.VectorParams | dict[str, models.VectorParams]:
    if isinstance(cfg, models.VectorParams):
        return cfg
    if isinstance(cfg, Mapping):
        if not cfg:
            raise InvalidInput("vectors_config has no vectors", hint="Name at least one vector")
        return {str(k): models.VectorParams.model_validate(v) for k, v in cfg.items()}
    return models.VectorParams.model_validate(cfg)


def vector_sizes(config: models.CollectionConfig) -> dict[str, int]:
    """Vector name ("" for the single unnamed vector) -> dimension."""
    return {name: p.size for name, p in dense_vectors(config).items()}


def _edge_hnsw(h: models.HnswConfig | models.HnswConfigDiff | None) -> edge.HnswIndexConfig | None:
    if h is None:
        return None
    return edge.HnswIndexConfig(
        m=h.m if h.m is not None else DEFAULT_HNSW.m,
        ef_construct=h.ef_construct if h.ef_construct is not None else DEFAULT_HNSW.ef_construct,
        full_scan_threshold=(
            h.full_scan_threshold
            if h.full_scan_threshold is not None
            else DEFAULT_HNSW.full_scan_threshold
        ),
        on_disk=h.on_disk,
        payload_m=h.payload_m,
    )


def _edge_quantization(q: Any) -> Any:
    if q is None:
        return None
    if isinstance(q, models.ScalarQuantization):
        s = q.scalar
        return edge.ScalarQuantizationConfig(
            type=edge.ScalarType.Int8, quantile=s.quantile, always_ram=s.always_ram
        )
    if isinstance(q, models.ProductQuantization):
        ratio = getattr(edge.CompressionRatio, q.product.compression.name.capitalize())
        return edge.ProductQuantizationConfig(compression=ratio, always_ram=q.product.always_ram)
    if isinstance(q, models.BinaryQuantization):
        return edge.BinaryQuantizationConfig(always_ram=q.binary.always_ram)
    raise InvalidInput(
        f"Quantization {type(q).__name__} is not supported by the embedded engine",
        hint="Use scalar, product or binary quantization",
    )


def _edge_vector(p: models.VectorParams) -> edge.EdgeVectorParams:
    return edge.EdgeVectorParams(
        size=p.size,
        distance=_DISTANCES[p.distance],
        on_disk=p.on_disk,
        hnsw_config=_edge_hnsw(p.hnsw_config),
        quantization_config=_edge_quantization(p.quantization_config),
    )


def edge_config(config: models.CollectionConfig) -> edge.EdgeConfig:
    """The Edge shard configuration for a collection (the WAL always stays on)."""
    v = config.params.vectors
    vectors: edge.EdgeVectorParams | dict[str, edge.EdgeVectorParams]
    if isinstance(v, models.VectorParams):
        vectors = _edge_vector(v)
    else:
        assert isinstance(v, dict)
        vectors = {name: _edge_vector(p) for name, p in v.items()}
    o = config.optimizer_config
    return edge.EdgeConfig(
        vectors=vectors,
        on_disk_payload=config.params.on_disk_payload,
        hnsw_config=_edge_hnsw(config.hnsw_config),
        quantization_config=_edge_quantization(config.quantization_config),
        optimizers=edge.EdgeOptimizersConfig(
            deleted_threshold=o.deleted_threshold,
            vacuum_min_vector_number=o.vacuum_min_vector_number,
            default_segment_number=o.default_segment_number,
            max_segment_size=o.max_segment_size,
            indexing_threshold=o.indexing_threshold,
        ),
        wal_enabled=True,
    )
