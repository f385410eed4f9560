"""Vector, sparse vector, HNSW and quantization params: `qdrant_client.models` to the edge.

Every field Qdrant 1.19 has is carried to the Edge shard's config (so it is built for real
and persisted in the shard's `edge_config.json`), or refused as InvalidInput naming it when
Qdrant Edge 0.9.0 cannot do it: the `turbo4` storage datatype and a turbo datatype for a
sparse index.  A per-vector `hnsw_config` is a diff over the collection's.
"""

from __future__ import annotations

from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from crewchief.errors import InvalidInput, ValidationFailed

_EDGE_HINT = "Use a Qdrant server (--target http://...) for this option"

DISTANCES = {
    models.Distance.COSINE: edge.Distance.Cosine,
    models.Distance.DOT: edge.Distance.Dot,
    models.Distance.EUCLID: edge.Distance.Euclid,
    models.Distance.MANHATTAN: edge.Distance.Manhattan,
}
MEMORY = {
    models.Memory.COLD: edge.Memory.Cold,
    models.Memory.CACHED: edge.Memory.Cached,
    models.Memory.PINNED: edge.Memory.Pinned,
}
# Datatype names in qdrant-client 1.20 -> the edge's; turbo4 (Qdrant 1.19) has no edge twin
DATATYPES = {
    "float32": edge.VectorStorageDatatype.Float32,
    "float16": edge.VectorStorageDatatype.Float16,
    "uint8": edge.VectorStorageDatatype.Uint8,
    "turbo8": edge.VectorStorageDatatype.Turbo8,
    "turbo16": edge.VectorStorageDatatype.Turbo16,
}
SPARSE_DATATYPES = ("float32", "float16", "uint8")
COMPRESSION = {
    models.CompressionRatio.X4: edge.CompressionRatio.X4,
    models.CompressionRatio.X8: edge.CompressionRatio.X8,
    models.CompressionRatio.X16: edge.CompressionRatio.X16,
    models.CompressionRatio.X32: edge.CompressionRatio.X32,
    models.CompressionRatio.X64: edge.CompressionRatio.X64,
}
BINARY_ENCODING = {
    models.BinaryQuantizationEncoding.ONE_BIT: edge.BinaryQuantizationEncoding.OneBit,
    models.BinaryQuantizationEncoding.TWO_BITS: edge.BinaryQuantizationEncoding.TwoBits,
    models.BinaryQuantizationEncoding.ONE_AND_HALF_BITS: (
        edge.BinaryQuantizationEncoding.OneAndHalfBits
    ),
}
BINARY_QUERY_ENCODING = {
    models.BinaryQuantizationQueryEncoding.DEFAULT: edge.BinaryQuantizationQueryEncoding.Default,
    models.BinaryQuantizationQueryEncoding.BINARY: edge.BinaryQuantizationQueryEncoding.Binary,
    models.BinaryQuantizationQueryEncoding.SCALAR4BITS: (
        edge.BinaryQuantizationQueryEncoding.Scalar4Bits
    ),
    models.BinaryQuantizationQueryEncoding.SCALAR8BITS: (
        edge.BinaryQuantizationQueryEncoding.Scalar8Bits
    ),
}
TURBO_BITS = {
    models.TurboQuantBitSize.BITS1: edge.TurboQuantBitSize.Bits1,
    models.TurboQuantBitSize.BITS1_5: edge.TurboQuantBitSize.Bits1_5,
    models.TurboQuantBitSize.BITS2: edge.TurboQuantBitSize.Bits2,
    models.TurboQuantBitSize.BITS4: edge.TurboQuantBitSize.Bits4,
    models.TurboQuantBitSize.BITS8: edge.TurboQuantBitSize.Bits8,
}


def _memory(m: models.Memory | None) -> edge.Memory | None:
    return MEMORY[models.Memory(m)] if m is not None else None


def _datatype(name: str, d: Any, allowed: tuple[str, ...] | None = None) -> Any:
    if d is None:
        return None
    value = d.value if hasattr(d, "value") else str(d)
    if value not in DATATYPES or (allowed is not None and value not in allowed):
        kinds = ", ".join(allowed or DATATYPES)
        raise InvalidInput(
            f"Datatype `{value}` (vector `{name or 'default'}`) is not supported by the "
            f"embedded engine (Qdrant Edge 0.9.0 stores {kinds})",
            hint=_EDGE_HINT,
        )
    return DATATYPES[value]


def edge_hnsw(
    h: models.HnswConfig | models.HnswConfigDiff | None,
    base: models.HnswConfig | None = None,
) -> edge.HnswIndexConfig | None:
    """An HNSW config (or a diff over `base`) for the edge; None for none given."""
    if h is None:
        return None
    given = h.model_dump(exclude_none=True)
    merged = {**(base.model_dump(exclude_none=True) if base else {}), **given}
    for key, default in (("m", 16), ("ef_construct", 100), ("full_scan_threshold", 10000)):
        merged.setdefault(key, default)
    return edge.HnswIndexConfig(
        m=merged["m"],
        ef_construct=merged["ef_construct"],
        full_scan_threshold=merged["full_scan_threshold"],
        max_indexing_threads=merged.get("max_indexing_threads") or 0,
        on_disk=merged.get("on_disk"),
        payload_m=merged.get("payload_m"),
        inline_storage=merged.get("inline_storage"),
        memory=_memory(merged.get("memory")),
    )


def edge_quantization(q: Any) -> Any:
    """Scalar, product, binary or TurboQuant quantization for the edge; None for none."""
    if q is None:
        return None
    if isinstance(q, models.ScalarQuantization):
        s = q.scalar
        if s.quantile is not None and not 0.5 <= s.quantile <= 1.0:
            raise ValidationFailed(
                "Validation error in JSON body: [quantization_config.scalar.quantile: "
                f"value {s.quantile} invalid, must be from 0.5 to 1.0]",
                hint="quantile is 0.5 .. 1.0 (or leave it out for the whole range)",
            )
        return edge.ScalarQuantizationConfig(
            type=edge.ScalarType.Int8,
            quantile=s.quantile,
            always_ram=s.always_ram,
            memory=_memory(s.memory),
        )
    if isinstance(q, models.ProductQuantization):
        p = q.product
        return edge.ProductQuantizationConfig(
            compression=COMPRESSION[models.CompressionRatio(p.compression)],
            always_ram=p.always_ram,
            memory=_memory(p.memory),
        )
    if isinstance(q, models.BinaryQuantization):
        b = q.binary
        return edge.BinaryQuantizationConfig(
            always_ram=b.always_ram,
            encoding=BINARY_ENCODING[b.encoding] if b.encoding is not None else None,
            query_encoding=(
                BINARY_QUERY_ENCODING[b.query_encoding] if b.query_encoding is not None else None
            ),
            memory=_memory(b.memory),
        )
    if isinstance(q, models.TurboQuantization):
        t = q.turbo
        return edge.TurboQuantQuantizationConfig(
            always_ram=t.always_ram,
            bits=TURBO_BITS[t.bits] if t.bits is not None else None,
            memory=_memory(t.memory),
        )
    raise InvalidInput(
        f"Quantization {type(q).__name__} is not supported by the embedded engine",
        hint="Use scalar, product, binary or turbo quantization",
    )


def edge_vector_params(
    name: str, p: models.VectorParams, hnsw: models.HnswConfig | None = None
) -> edge.EdgeVectorParams:
    """A dense (or multi-) vector's params; its `hnsw_config` is a diff over `hnsw`."""
    if p.memory == models.Memory.PINNED:
        raise ValidationFailed(
            "Validation error in JSON body: [vectors.memory: `pinned` memory placement is "
            "not supported for dense vector storage]",
            hint="Use memory=cached or cold for vectors (pinned is for quantized vectors)",
        )
    multi = None
    if p.multivector_config is not None:
        multi = edge.MultiVectorConfig(edge.MultiVectorComparator.MaxSim)
    return edge.EdgeVectorParams(
        size=p.size,
        distance=DISTANCES[models.Distance(p.distance)],
        on_disk=p.on_disk,
        multivector_config=multi,
        datatype=_datatype(name, p.datatype),
        quantization_config=edge_quantization(p.quantization_config),
        hnsw_config=edge_hnsw(p.hnsw_config, hnsw),
        memory=_memory(p.memory),
    )


def edge_sparse_params(name: str, p: models.SparseVectorParams) -> edge.EdgeSparseVectorParams:
    """A sparse vector's params: modifier (idf) and its index's threshold, datatype, memory."""
    index = p.index or models.SparseIndexParams()
    if index.datatype is not None and getattr(index.datatype, "value", index.datatype) == "turbo4":
        raise ValidationFailed(  # Qdrant's own rule, checked before the edge's limits
            f"Validation error in JSON body: [sparse_vectors.{name}.index.datatype: "
            "sparse vectors do not support the `turbo4` datatype]",
            hint="Use float32, float16 or uint8 for a sparse index",
        )
    modifier = edge.Modifier.Idf if p.modifier == models.Modifier.IDF else None
    return edge.EdgeSparseVectorParams(
        full_scan_threshold=index.full_scan_threshold,
        on_disk=index.on_disk,
        modifier=modifier,
        datatype=_datatype(name, index.datatype, SPARSE_DATATYPES),
        memory=_memory(index.memory),
    )
