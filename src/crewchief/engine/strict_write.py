"""Strict mode for writes: batch sizes, collection size limits, vector shapes, filtered updates.

The hooks the engine's write methods call first (`upsert`, `update_vectors`, `selected`,
`batch`, `create_index`); read `strict.py` for the order and the errors. Collection sizes
are Qdrant's estimates: points from the shard, vector bytes as points x the dense
vectors' bytes, payload bytes as 4 a point plus each key and its JSON value (refreshed
every 32 checks, as Qdrant refreshes its cache). Like Qdrant, a size limit is reached when
the collection already holds that much: the write that crosses it still goes through.
"""

from __future__ import annotations

import json
import struct
import weakref
from decimal import Decimal
from pathlib import Path
from typing import Any

from qdrant_client import models

from crewchief.engine import ratelimit, requests, strict
from crewchief.engine.convert.ids import client_point_id
from crewchief.errors import StrictModeViolation

_DTYPE_BYTES = {"float16": 2, "uint8": 1}
_REFRESH_EVERY = 32
_payload_cache: weakref.WeakKeyDictionary[Any, list[int]] = weakref.WeakKeyDictionary()


def _bad(text: str) -> StrictModeViolation:
    return StrictModeViolation(f"Bad request: {text}")


def vector_bytes(col: Any, points: int) -> int:
    vectors = col.config.params.vectors
    params = vectors.values() if isinstance(vectors, dict) else [vectors]
    per_point = 0
    for p in params:
        if p is not None:
            dtype = str(getattr(p.datatype, "value", p.datatype) or "float32")
            per_point += p.size * _DTYPE_BYTES.get(dtype, 4)
    return points * per_point


def payload_bytes(col: Any) -> int:
    """Every payload, as Qdrant estimates it: 4 bytes a point plus each key and JSON value."""
    total, offset = 0, None
    while True:
        req = requests.scroll_request(None, 1024, offset, True, False)
        records, nxt = col.read(lambda s, r=req: s.scroll(r))
        for r in records:
            for k, v in (r.payload or {}).items():
                total += len(k) + len(json.dumps(v, separators=(",", ":")))
            total += 4
        if nxt is None:
            return total
        offset = client_point_id(nxt)


def _payload_estimate(col: Any) -> int:
    cached = _payload_cache.get(col)
    if cached is None or cached[0] % _REFRESH_EVERY == 0:
        cached = _payload_cache[col] = [0, payload_bytes(col)]
    cached[0] += 1
    return cached[1]


def _mb(limit: int) -> str:
    """Megabytes as Rust prints an f32: the shortest digits that read back as the same f32,
    positional (no exponent), e.g. 0.00022888184."""
    value = struct.unpack("f", struct.pack("f", limit / (1024 * 1024)))[0]
    for digits in range(1, 10):
        text = f"{value:.{digits - 1}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == value:
            break
    plain = format(Decimal(text), "f")
    return plain.rstrip("0").rstrip(".") if "." in plain else plain


def check_payload_size(col: Any, s: Any) -> None:
    limit = s.max_collection_payload_size_bytes
    if limit is not None and _payload_estimate(col) >= limit:
        raise _bad(f"Max payload storage size limit of {_mb(limit)}MB reached!")


def check_sizes(col: Any, s: Any) -> None:
    """Vector bytes, payload bytes and points, in Qdrant's order."""
    limits = (s.max_collection_vector_size_bytes, s.max_collection_payload_size_bytes)
    if limits == (None, None) and s.max_points_count is None:
        return
    points = col.counts()[0]
    limit = s.max_collection_vector_size_bytes
    if limit is not None and vector_bytes(col, points) >= limit:
        raise _bad(f"Max vector storage size limit of {_mb(limit)}MB reached!")
    check_payload_size(col, s)
    if s.max_points_count is not None and points >= s.max_points_count:
        raise _bad(f"Max points count limit of {s.max_points_count} reached!")


def _named(vector: Any) -> list[tuple[str, Any]]:
    if isinstance(vector, dict):
        return list(vector.items())
    return [("", vector)] if vector is not None else []


def check_shapes(s: Any, per_point: list[Any]) -> None:
    """Multivectors of at most `max_vectors`, sparse vectors of at most `max_length`."""
    multi = {k: v.max_vectors for k, v in (s.multivector_config or {}).items() if v.max_vectors}
    sparse = {k: v.max_length for k, v in (s.sparse_config or {}).items() if v.max_length}
    if not multi and not sparse:
        return
    for vector in per_point:
        for name, v in _named(vector):
            is_multi = isinstance(v, list) and bool(v) and isinstance(v[0], list)
            if is_multi and name in multi and len(v) > multi[name]:
                raise _bad(
                    f"Multivector '{name}' has a limit of {multi[name]} vectors, "
                    f"but {len(v)} were provided!"
                )
            if isinstance(v, models.SparseVector) and name in sparse:
                top = sparse[name]
                if len(v.indices) > top or len(v.values) > top:
                    raise _bad(
                        f"Sparse vector '{name}' has a limit of {top} indices, "
                        f"but {len(v.indices)} were provided!"
                    )


def _per_point(points: Any) -> list[Any]:
    """Each point's vector struct, from a Batch or a list of PointStruct / PointVectors."""
    if isinstance(points, models.Batch):
        v, n = points.vectors, len(points.ids)
        if isinstance(v, dict):
            return [{k: vs[i] for k, vs in v.items() if i < len(vs)} for i in range(n)]
        return list(v)
    return [p.vector for p in points]


def resident_memory(s: Any) -> None:
    """The deprecated `max_resident_memory_percent`: memory-consuming writes stop there."""
    limit = s.max_resident_memory_percent
    if limit is None:
        return
    try:
        rss = _kb(Path("/proc/self/status").read_text(), "VmRSS:")
        total = _kb(Path("/proc/meminfo").read_text(), "MemTotal:")
    except (OSError, ValueError):
        return  # a limit that cannot be read lets the write through, as in Qdrant
    used = int(rss * 100 / total) if total else 0
    if used >= limit:
        raise strict.refuse(
            f"Resident memory usage is at {used}% of total memory, exceeding the configured "
            f"limit of {limit}%",
            "Reduce memory usage (e.g. delete points or drop collections), or raise "
            "`max_resident_memory_percent` in the strict mode config of this collection.",
        )


def _kb(text: str, field: str) -> int:
    line = next(x for x in text.splitlines() if x.startswith(field))
    return int(line.split()[1])


def _filter_cost(col: Any, flt: Any) -> int:
    """A filtered write costs the points it is estimated to touch (at least 1)."""
    req = requests.count_request(strict.strict_filter.as_filter(flt), False)
    return max(1, int(col.read(lambda sh: sh.count(req))))


def _inserted(col: Any, s: Any, points: Any, name: str) -> int:
    per_point = _per_point(points)
    strict.check_limit(len(per_point), s.upsert_max_batchsize, name)
    check_sizes(col, s)
    check_shapes(s, per_point)
    return max(1, len(per_point))


def _selected(col: Any, s: Any, ids: Any, flt: Any, payload: bool) -> int:
    if payload:
        check_payload_size(col, s)
    if flt is not None:
        schema = strict._schema(col)
        strict.check_filter(col, s, flt, s.unindexed_filtering_update, schema)
        return _filter_cost(col, flt)
    return max(1, len(ids or []))


def _finish(col: Any, s: Any, kwargs: dict[str, Any], costs: list[int], memory: bool) -> None:
    if memory:
        resident_memory(s)
    strict.check_limit(kwargs.get("timeout"), s.max_timeout, "timeout")
    ratelimit.take_write(col, s, costs)


def upsert(col: Any, points: Any, kwargs: dict[str, Any]) -> None:
    s = strict.active(col)
    if s is not None:
        _finish(col, s, kwargs, [_inserted(col, s, points, "upsert limit")], True)


def update_vectors(col: Any, points: Any, kwargs: dict[str, Any]) -> None:
    s = strict.active(col)
    if s is not None:
        _finish(col, s, kwargs, [_inserted(col, s, points, "update limit")], True)


def selector(sel: Any) -> tuple[Any, Any]:
    """(ids, filter) of a points selector in any of its forms."""
    if isinstance(sel, models.FilterSelector):
        return None, sel.filter
    if isinstance(sel, models.Filter | dict):
        return None, sel
    if isinstance(sel, models.PointIdsList):
        return sel.points, None
    return sel, None


def selected(col: Any, ids: Any, flt: Any, kwargs: dict[str, Any], payload: bool = False) -> None:
    """delete, set / overwrite / delete / clear payload, delete_vectors: by ids or filter
    (`payload`: the write adds payload, so the payload size limit applies)."""
    s = strict.active(col)
    if s is not None:
        _finish(col, s, kwargs, [_selected(col, s, ids, flt, payload)], payload)


def _op_cost(col: Any, s: Any, op: Any) -> tuple[int, bool]:
    if isinstance(op, models.UpsertOperation):
        ins = op.upsert
        pts = ins.batch if isinstance(ins, models.PointsBatch) else ins.points
        if isinstance(pts, models.Batch | list):
            return _inserted(col, s, pts, "upsert limit"), True
    if isinstance(op, models.UpdateVectorsOperation):
        return _inserted(col, s, op.update_vectors.points, "update limit"), True
    if isinstance(op, models.DeleteOperation):
        return _selected(col, s, *selector(op.delete), False), False
    if isinstance(op, models.ClearPayloadOperation):
        return _selected(col, s, *selector(op.clear_payload), False), False
    for field, adds in (("set_payload", True), ("overwrite_payload", True)):
        body = getattr(op, field, None)
        if body is not None:
            return _selected(col, s, body.points, body.filter, adds), True
    for field in ("delete_payload", "delete_vectors"):
        body = getattr(op, field, None)
        if body is not None:
            return _selected(col, s, body.points, body.filter, False), False
    return 1, False


def batch(col: Any, operations: Any, kwargs: dict[str, Any]) -> None:
    """Every operation checked; the write tokens of all of them taken, or none."""
    s = strict.active(col)
    if s is None:
        return
    priced = [_op_cost(col, s, op) for op in operations]
    _finish(col, s, kwargs, [c for c, _ in priced], any(m for _, m in priced))


def create_index(col: Any, kwargs: dict[str, Any]) -> None:
    s = strict.active(col)
    if s is None:
        return
    top = s.max_payload_index_count
    if top is not None and len(col.counts()[3]) >= top:
        raise strict.refuse(
            f"Collection already has the maximum number of payload indices ({top})",
            "Please delete an existing index before creating a new one.",
        )
    _finish(col, s, kwargs, [1], True)
