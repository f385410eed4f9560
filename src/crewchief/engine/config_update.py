"""Collection updates, pure: a diff applied to a `CollectionConfig`, and what the shard must do.

    new = update_config(old, hnsw_config=models.HnswConfigDiff(m=32))   # Qdrant's merge rules
    change = plan(old, new)        # apply in place, rebuild the shard, re-index, or refuse

`update_config` merges every part of `update_collection` the way Qdrant does
(lib/collection/src/config.rs, collection_ops.rs): optimizers, params and HNSW field by
field; a vector's HNSW diff merged into its own (or taken as it is); quantization replaced,
or removed by `Disabled`; sparse params field by field; strict mode merged; metadata merged
key by key (a `null` removes a key).  Unknown vector names and out-of-range values are
refused before anything changes.

`plan` compares the Edge config the old and the new config imply (engine/config.py's
`edge_config`).  A changed setting the Edge config does not carry is refused by name, unless
crewchief itself honours it (`STORED`): nothing is accepted and ignored.  What Edge 0.9.0
measurably cannot change in place (checked by reopening shards with a changed `EdgeConfig`):
removing the collection-wide quantization (a `None` there means "keep what the shard has")
and a sparse vector's modifier or datatype (refused, or kept, on load).  Those rebuild the
shard: a new one with the new config, the points copied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from crewchief.engine.config import build_config, edge_config
from crewchief.errors import InvalidInput, ValidationFailed

# Config paths crewchief honours itself (or that mean nothing on one node), not the shard.
STORED = (
    ("metadata",),
    ("strict_mode_config",),
    ("params", "read_fan_out_factor"),
    ("params", "read_fan_out_delay_ms"),
    ("optimizer_config", "flush_interval_sec"),
)

# Qdrant's validation ranges for the diff types (config_diff.rs): field -> (min, max)
_RANGES: dict[str, dict[str, tuple[float | None, float | None]]] = {
    "hnsw_config": {"ef_construct": (4, None), "full_scan_threshold": (10, None)},
    "optimizers_config": {
        "deleted_threshold": (0.0, 1.0),
        "vacuum_min_vector_number": (100, None),
        "max_segment_size": (1, None),
    },
    "collection_params": {"replication_factor": (1, None), "write_consistency_factor": (1, None)},
}


@dataclass(frozen=True)
class Change:
    """What applying a new config takes: `shard` = the Edge config changes; `rebuild` = a
    new shard is needed (Edge cannot change it in place); `reindex` = segments must be
    rebuilt with the new settings (an index build)."""

    config: models.CollectionConfig
    shard: bool
    rebuild: bool
    reindex: bool


def not_existing(name: str) -> InvalidInput:
    return InvalidInput(
        f"Wrong input: Not existing vector name error: {name}",
        hint="get_collection(name).config.params lists the collection's vectors",
    )


def _check_ranges(what: str, diff: Any) -> None:
    errors = []
    for field, (low, high) in _RANGES.get(what, {}).items():
        value = getattr(diff, field, None)
        if value is None:
            continue
        if (low is not None and value < low) or (high is not None and value > high):
            bound = f"must be from {low} to {high}" if high is not None else ""
            bound = bound or f"must be {low} or larger"
            errors.append(f"{what}.{field}: value {value} invalid, {bound}")
    if errors:
        raise ValidationFailed("Validation error in JSON body: [" + "; ".join(errors) + "]")


def _merged(base: Any, diff: Any, cls: Any = None) -> Any:
    """`base` with the fields `diff` sets (a diff model or a dict) laid over it."""
    changes = diff if isinstance(diff, dict) else diff.model_dump(exclude_none=True)
    start = base.model_dump(exclude_none=True) if base is not None else {}
    return (cls or type(base)).model_validate({**start, **changes})


def _quantization(diff: Any) -> Any:
    """A QuantizationConfigDiff as the config it sets (None for `Disabled`)."""
    if isinstance(diff, models.Disabled) or diff == models.Disabled.DISABLED.value:
        return None
    return diff


def _metadata(current: dict[str, Any] | None, diff: Mapping[str, Any]) -> dict[str, Any]:
    if current is None:  # as Qdrant: the first metadata is stored as given
        return dict(diff)
    merged = dict(current)
    for key, value in diff.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _optimizers(base: models.OptimizersConfig, diff: models.OptimizersConfigDiff) -> Any:
    changes = diff.model_dump(exclude_none=True)
    threads = changes.get("max_optimization_threads")
    if threads is not None and not isinstance(threads, int):  # "auto": no limit
        changes["max_optimization_threads"] = None
    return _merged(base, changes)


def _params(
    params: models.CollectionParams, diff: models.CollectionParamsDiff
) -> models.CollectionParams:
    for field in ("replication_factor", "write_consistency_factor"):
        if getattr(diff, field) not in (None, 1):
            raise InvalidInput(
                f"The embedded engine has one shard and one replica per collection: "
                f"{field}={getattr(diff, field)} cannot be applied",
                hint="For sharding and replication use a Qdrant cluster (--target http://...)",
            )
    return _merged(params, diff, models.CollectionParams)


def _dense(params: models.CollectionParams, diffs: Mapping[str, Any]) -> Any:
    vectors = params.vectors
    named = {"": vectors} if isinstance(vectors, models.VectorParams) else dict(vectors or {})
    for name in diffs:
        if name not in named:
            raise not_existing(name)
    for name, raw in diffs.items():
        diff = models.VectorParamsDiff.model_validate(raw)
        if diff.hnsw_config is not None:
            _check_ranges("hnsw_config", diff.hnsw_config)
        current = named[name]
        update: dict[str, Any] = diff.model_dump(exclude_none=True, include={"on_disk", "memory"})
        if diff.hnsw_config is not None:
            update["hnsw_config"] = (
                _merged(current.hnsw_config, diff.hnsw_config)
                if current.hnsw_config is not None
                else diff.hnsw_config
            )
        if diff.quantization_config is not None:
            update["quantization_config"] = _quantization(diff.quantization_config)
        named[name] = current.model_copy(update=update)
    return named[""] if isinstance(vectors, models.VectorParams) else named


def _sparse(params: models.CollectionParams, diffs: Mapping[str, Any]) -> Any:
    sparse = dict(params.sparse_vectors or {})
    for name in diffs:
        if name not in sparse:
            raise not_existing(name)
    for name, raw in diffs.items():
        diff = models.SparseVectorParams.model_validate(raw)
        current = sparse[name]
        update: dict[str, Any] = {}
        if diff.modifier is not None:
            update["modifier"] = diff.modifier
        if diff.index is not None:
            update["index"] = _merged(current.index, diff.index, models.SparseIndexParams)
        sparse[name] = current.model_copy(update=update)
    return sparse


def update_config(
    config: models.CollectionConfig,
    optimizers_config: models.OptimizersConfigDiff | None = None,
    collection_params: models.CollectionParamsDiff | None = None,
    vectors_config: Mapping[str, Any] | None = None,
    hnsw_config: models.HnswConfigDiff | None = None,
    quantization_config: Any = None,
    sparse_vectors_config: Mapping[str, Any] | None = None,
    strict_mode_config: models.StrictModeConfig | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> models.CollectionConfig:
    """`config` with `update_collection`'s diffs applied, as Qdrant applies them."""
    for what, diff in (
        ("hnsw_config", hnsw_config),
        ("optimizers_config", optimizers_config),
        ("collection_params", collection_params),
    ):
        if diff is not None:
            _check_ranges(what, diff)
    new = config.model_copy(deep=True)
    params = new.params
    if collection_params is not None:
        params = _params(params, collection_params)
    if vectors_config is not None:
        if isinstance(vectors_config, models.VectorParamsDiff):
            vectors_config = {"": vectors_config}
        params = params.model_copy(update={"vectors": _dense(params, vectors_config)})
    if sparse_vectors_config is not None:
        params = params.model_copy(
            update={"sparse_vectors": _sparse(params, sparse_vectors_config)}
        )
    update: dict[str, Any] = {"params": params}
    if optimizers_config is not None:
        update["optimizer_config"] = _optimizers(new.optimizer_config, optimizers_config)
    if hnsw_config is not None:
        update["hnsw_config"] = _merged(new.hnsw_config, hnsw_config)
    if quantization_config is not None:
        update["quantization_config"] = _quantization(quantization_config)
    if strict_mode_config is not None:
        update["strict_mode_config"] = _merged(
            new.strict_mode_config, strict_mode_config, models.StrictModeConfigOutput
        )
    if metadata is not None:
        update["metadata"] = _metadata(new.metadata, metadata)
    return new.model_copy(update=update)


# -- what the shard must do ------------------------------------------------------------------------


def check_supported(config: models.CollectionConfig) -> edge.EdgeConfig:
    """Refuse a config create_collection would refuse (engine/config.py's rules)."""
    p = config.params
    build_config(
        vectors_config=p.vectors if p.vectors is not None else {},
        sparse_vectors_config=p.sparse_vectors or None,
        on_disk_payload=p.on_disk_payload,
        hnsw_config=config.hnsw_config,
        optimizers_config=config.optimizer_config,
        wal_config=config.wal_config,
        quantization_config=config.quantization_config,
        metadata=config.metadata,
    )
    return edge_config(config)


def fingerprint(ec: edge.EdgeConfig) -> dict[str, str]:
    """The Edge config, part by part, comparable (reprs name every field)."""
    parts = {f"vector {n}": repr(v) for n, v in ec.vectors.items()}
    parts.update({f"sparse {n}": repr(v) for n, v in ec.sparse_vectors.items()})
    parts.update(
        hnsw=repr(ec.hnsw_config),
        quantization=repr(ec.quantization_config),
        optimizers=repr(ec.optimizers),
        payload=repr((ec.on_disk_payload, ec.payload_memory, ec.id_tracker_memory)),
    )
    return parts


def _leaves(value: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Config JSON as path -> value; quantization configs (unions) stay whole."""
    if isinstance(value, dict) and value and path[-1:] != ("quantization_config",):
        out: dict[tuple[str, ...], Any] = {}
        for key, sub in value.items():
            out.update(_leaves(sub, (*path, key)))
        return out
    return {path: value}


def _with_leaf(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = dict(data)
    if len(path) == 1:
        if value is _MISSING:
            out.pop(path[0], None)
        else:
            out[path[0]] = value
        return out
    out[path[0]] = _with_leaf(dict(data.get(path[0]) or {}), path[1:], value)
    return out


_MISSING = object()


def plan(old: models.CollectionConfig, new: models.CollectionConfig) -> Change:
    """How to get a shard configured as `old` to `new`; refuses what Edge would ignore."""
    old_ec, new_ec = edge_config(old), check_supported(new)
    before, after = fingerprint(old_ec), fingerprint(new_ec)
    old_json = old.model_dump(mode="json", exclude_none=True)
    old_leaves = _leaves(old_json)
    new_leaves = _leaves(new.model_dump(mode="json", exclude_none=True))
    for path in sorted(set(old_leaves) | set(new_leaves)):
        if old_leaves.get(path, _MISSING) == new_leaves.get(path, _MISSING):
            continue
        if any(path[: len(s)] == s for s in STORED):
            continue
        alone = models.CollectionConfig.model_validate(
            _with_leaf(old_json, path, new_leaves.get(path, _MISSING))
        )
        if fingerprint(edge_config(alone)) == before:
            raise InvalidInput(
                f"`{'.'.join(path)}` cannot be changed on the embedded engine: "
                "Qdrant Edge does not apply it",
                hint="Leave it out of the update, or use a Qdrant server (--target http://...)",
            )
    shard = before != after
    rebuild = old.quantization_config is not None and new.quantization_config is None
    for name, params in (new.params.sparse_vectors or {}).items():
        was = (old.params.sparse_vectors or {}).get(name)
        if was is not None and (
            was.modifier != params.modifier
            or (was.index and was.index.datatype) != (params.index and params.index.datatype)
        ):
            rebuild = True
    parts = (set(before) | set(after)) - {"optimizers"}
    reindex = any(before.get(k) != after.get(k) for k in parts)
    return Change(config=new, shard=shard, rebuild=rebuild, reindex=reindex)


# -- named vectors (Qdrant's collection/vector_name_schema.rs) -------------------------------

_BAD_NAME_CHARS = '<>:"/\\|?*\0\x1f'


def _check_vector_name(name: str) -> None:
    if len(name.encode("utf-8")) > 200:
        raise InvalidInput(
            f"Invalid vector name `{name}`: vector name must be at most 200 bytes long",
            hint="Use a shorter vector name",
        )
    bad = next((c for c in _BAD_NAME_CHARS if c in name), None)
    if bad is not None:
        raise InvalidInput(
            f'Invalid vector name `{name}`: vector name cannot contain "{bad}" char',
            hint="Vector names may not contain any of " + _BAD_NAME_CHARS[:9],
        )


def add_vector(
    config: models.CollectionConfig, name: str, spec: Any
) -> models.CollectionConfig | None:
    """`config` with the new named vector `spec` (a DenseVectorNameConfig or a
    SparseVectorNameConfig); None if it exists already with the same schema."""
    _check_vector_name(name)
    spec = _vector_spec(spec)
    vectors = config.params.vectors
    dense = {"": vectors} if isinstance(vectors, models.VectorParams) else dict(vectors or {})
    sparse = dict(config.params.sparse_vectors or {})
    if isinstance(spec, models.DenseVectorNameConfig):
        d = spec.dense
        datatype = models.Datatype(d.datatype.value) if d.datatype is not None else None
        if name in dense:
            p = dense[name]
            same = (p.size, p.distance, p.multivector_config, p.datatype) == (
                d.size,
                d.distance,
                d.multivector_config,
                datatype,
            )
            if same:
                return None
            raise InvalidInput(
                f"Vector `{name}` already exists with a different configuration",
                hint="Delete it first (delete_vector_name), or pick another name",
            )
        if name in sparse:
            raise InvalidInput(
                f"Vector `{name}` already exists as a sparse vector", hint="Pick another name"
            )
        dense[name] = models.VectorParams(
            size=d.size,
            distance=d.distance,
            multivector_config=d.multivector_config,
            datatype=datatype,
        )
        params = config.params.model_copy(update={"vectors": dense})
    else:
        s = spec.sparse
        datatype = models.Datatype(s.datatype.value) if s.datatype is not None else None
        if name in sparse:
            have = sparse[name]
            if (have.modifier, have.index.datatype if have.index else None) == (
                s.modifier,
                datatype,
            ):
                return None
            raise InvalidInput(
                f"Sparse vector `{name}` already exists with a different configuration",
                hint="Delete it first (delete_vector_name), or pick another name",
            )
        if name in dense:
            raise InvalidInput(
                f"Vector `{name}` already exists as a dense vector", hint="Pick another name"
            )
        sparse[name] = models.SparseVectorParams(
            index=models.SparseIndexParams(datatype=datatype) if datatype else None,
            modifier=s.modifier,
        )
        params = config.params.model_copy(update={"sparse_vectors": sparse})
    new = config.model_copy(update={"params": params})
    ec = check_supported(new)
    if name not in (ec.vectors if name in dense else ec.sparse_vectors):
        raise InvalidInput(
            f"Vector `{name}` of this kind is not supported by the embedded engine",
            hint="Use a Qdrant server (--target http://...) for it",
        )
    return new


def _vector_spec(spec: Any) -> Any:
    if isinstance(spec, models.DenseVectorNameConfig | models.SparseVectorNameConfig):
        return spec
    try:
        if isinstance(spec, Mapping) and "sparse" in spec:
            return models.SparseVectorNameConfig.model_validate(spec)
        return models.DenseVectorNameConfig.model_validate(spec)
    except ValueError as exc:
        raise InvalidInput(
            f"Invalid vector config: {exc}",
            hint="Give DenseVectorNameConfig(dense=...) or SparseVectorNameConfig(sparse=...)",
        ) from None


def remove_vector(config: models.CollectionConfig, name: str) -> models.CollectionConfig | None:
    """`config` without the named vector `name`; None if it has no such vector (as in Qdrant,
    deleting a missing vector is no error).  The unnamed vector leaves `vectors: {}`."""
    vectors = config.params.vectors
    sparse = dict(config.params.sparse_vectors or {})
    if isinstance(vectors, models.VectorParams):
        dense: dict[str, models.VectorParams] | None = {} if name == "" else None
    else:
        dense = {k: v for k, v in (vectors or {}).items() if k != name}
        if len(dense) == len(vectors or {}):
            dense = None
    if dense is None and name not in sparse:
        return None
    update: dict[str, Any] = {}
    if dense is not None:
        update["vectors"] = dense
    if name in sparse:
        del sparse[name]
        update["sparse_vectors"] = sparse
    return config.model_copy(update={"params": config.params.model_copy(update=update)})
