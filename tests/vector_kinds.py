"""A collection with every vector kind (dense of each datatype, multi-vectors, sparse with
IDF, a quantization config, payload indexes), and how to tell two such collections equal:
same config, same points, same vectors (sparse exactly, floats to float32 precision), same
payloads and the same query answers.  Shared by the backup, ops, CLI and dashboard tests."""

from __future__ import annotations

from typing import Any

import numpy as np
from qdrant_client import models

N = 60
DENSE = "dense"  # the float32 Cosine vector the gates and the search tester use
VECTORS = {
    DENSE: models.VectorParams(size=8, distance=models.Distance.COSINE),
    "half": models.VectorParams(
        size=4, distance=models.Distance.DOT, datatype=models.Datatype.FLOAT16
    ),
    "bytes": models.VectorParams(
        size=4, distance=models.Distance.EUCLID, datatype=models.Datatype.UINT8
    ),
    "colbert": models.VectorParams(
        size=4,
        distance=models.Distance.DOT,
        multivector_config=models.MultiVectorConfig(
            comparator=models.MultiVectorComparator.MAX_SIM
        ),
    ),
}
SPARSE = {
    "text": models.SparseVectorParams(modifier=models.Modifier.IDF),
    "tags": models.SparseVectorParams(
        index=models.SparseIndexParams(datatype=models.Datatype.FLOAT16)
    ),
}
QUANTIZATION = models.ScalarQuantization(
    scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, always_ram=True)
)


def make_kinds(client: Any, name: str = "hybrid", n: int = N) -> None:
    """Create `name` with every vector kind and fill it; some points lack some vectors."""
    rng = np.random.default_rng(12)
    client.create_collection(
        name,
        vectors_config=VECTORS,
        sparse_vectors_config=SPARSE,
        quantization_config=QUANTIZATION,
        hnsw_config=models.HnswConfigDiff(m=8, ef_construct=50),
        metadata={"team": "pit", "tier": 2},
    )
    points = []
    for i in range(n):
        idx = sorted(rng.choice(200, size=1 + i % 6, replace=False).tolist())
        vector: dict[str, Any] = {
            DENSE: rng.normal(size=8).tolist(),
            "text": models.SparseVector(indices=idx, values=rng.random(len(idx)).tolist()),
        }
        if i % 3:
            vector["half"] = rng.normal(size=4).tolist()
            vector["colbert"] = rng.normal(size=(1 + i % 3, 4)).tolist()
        if i % 4:
            vector["bytes"] = rng.integers(0, 256, size=4).astype(float).tolist()
            vector["tags"] = models.SparseVector(
                indices=[i % 7, 50 + i], values=[1.0 + i / 64, 0.25]
            )
        payload = None if i % 10 == 0 else {"kind": ["a", "b", "c"][i % 3], "n": i, "x": i / 3}
        points.append(models.PointStruct(id=i + 1, vector=vector, payload=payload))
    client.upsert(name, points[::-1])
    client.create_payload_index(name, "kind", field_schema=models.PayloadSchemaType.KEYWORD)
    client.create_payload_index(name, "n", field_schema=models.PayloadSchemaType.INTEGER)


def _norm(vector: Any) -> Any:
    """A point's vector in a comparable form: sparse as exact pairs, floats as float32."""
    if isinstance(vector, models.SparseVector):
        return ("sparse", tuple(vector.indices), tuple(np.float32(vector.values).tolist()))
    if isinstance(vector, dict):
        return {k: _norm(v) for k, v in vector.items()}
    return np.asarray(vector, dtype=np.float32)


def points(client: Any, name: str) -> dict[Any, tuple[Any, Any]]:
    records, offset = [], None
    while True:
        page, offset = client.scroll(
            name, limit=25, offset=offset, with_vectors=True, with_payload=True
        )
        records += page
        if offset is None:
            return {r.id: (r.payload or {}, _norm(r.vector)) for r in records}


def same_points(a: dict[Any, Any], b: dict[Any, Any]) -> None:
    assert a.keys() == b.keys()
    for pid, (payload, vector) in a.items():
        other_payload, other = b[pid]
        assert payload == other_payload, pid
        assert vector.keys() == other.keys(), pid
        for name, v in vector.items():
            w = other[name]
            if isinstance(v, tuple):
                assert v == w, (pid, name)  # sparse: exactly
            else:
                np.testing.assert_allclose(v, w, rtol=2e-7, atol=1e-7, err_msg=f"{pid} {name}")


QUERIES: list[tuple[str, Any]] = [
    (DENSE, [0.3, -0.1, 0.8, 0.0, 0.2, -0.5, 0.1, 0.4]),
    ("half", [0.5, 0.5, -0.25, 1.0]),
    ("bytes", [10.0, 200.0, 30.0, 128.0]),
    ("colbert", [[0.1, 0.2, 0.3, 0.4], [-0.4, 0.3, 0.2, -0.1]]),
    ("text", models.SparseVector(indices=[3, 17, 42, 99, 150], values=[1.0, 0.5, 0.7, 0.2, 0.9])),
    ("tags", models.SparseVector(indices=[1, 2, 3, 55], values=[1.0, 1.0, 1.0, 2.0])),
]


def answers(client: Any, name: str) -> list[list[tuple[Any, float]]]:
    """Exact nearest neighbours on every vector, ids and scores (rounded to float32)."""
    out = []
    for using, query in QUERIES:
        hits = client.query_points(
            name,
            query=query,
            using=using,
            limit=7,
            search_params=models.SearchParams(exact=True),
        ).points
        out.append([(h.id, round(h.score, 4)) for h in hits])
    return out


def state(client: Any, name: str) -> tuple[Any, Any, Any, Any]:
    """(config, payload schema, points, answers) of `name`."""
    info = client.get_collection(name)
    schema = {f: i.data_type for f, i in (info.payload_schema or {}).items()}
    return info.config, schema, points(client, name), answers(client, name)


def assert_same(a: tuple[Any, Any, Any, Any], b: tuple[Any, Any, Any, Any]) -> None:
    assert a[0] == b[0]  # config: vectors, sparse, quantization, HNSW, metadata
    assert a[1] == b[1]
    same_points(a[2], b[2])
    assert a[3] == b[3]
