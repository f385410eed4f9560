"""A collection's config across targets and Qdrant versions: read it, recreate it.

`config_json` and `payload_schema_json` turn what `get_collection` says into
plain JSON (what a portable backup stores and a migration plan compares);
`create_kwargs` turns that JSON back into `create_collection` arguments, so a
collection comes out "like that one" on any target.  Reading drops fields this
qdrant-client does not know, so a config written by a newer Qdrant still applies.

`ensure_collection` and `ensure_payload_indexes` create what is missing through
the client they are given, and resume only into a collection whose vectors fit
(`check_fits`): ops' migrate and backup's portable import share them, so a
migrated and a restored collection come out configured alike.
"""

from __future__ import annotations

import typing
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from qdrant_client import models

from crewchief.core.client import QdrantAPI
from crewchief.errors import AlreadyExists, InvalidInput

M = TypeVar("M", bound=BaseModel)


def config_json(config: models.CollectionConfig) -> dict[str, Any]:
    return config.model_dump(mode="json", exclude_none=True)


def payload_schema_json(schema: dict[str, models.PayloadIndexInfo] | None) -> dict[str, Any]:
    """field -> the type name ("keyword"), or the index params when it has any."""
    out: dict[str, Any] = {}
    for name, info in sorted((schema or {}).items()):
        if info.params is not None:
            out[name] = info.params.model_dump(mode="json", exclude_none=True)
        else:
            out[name] = models.PayloadSchemaType(info.data_type).value
    return out


def _tolerant(cls: type[M], data: dict[str, Any]) -> M:
    """Validate `data` as `cls`, dropping fields this qdrant-client does not know."""
    kept: dict[str, Any] = {}
    for key, value in data.items():
        info = cls.model_fields.get(key)
        if info is None:
            continue
        subs = [a for a in typing.get_args(info.annotation) or (info.annotation,) if _is_model(a)]
        kept[key] = (
            _tolerant(subs[0], value) if len(subs) == 1 and isinstance(value, dict) else value
        )
    return cls.model_validate(kept)


def _is_model(a: Any) -> bool:
    return isinstance(a, type) and issubclass(a, BaseModel)


def _from_union(union: Any, data: dict[str, Any], what: str) -> Any:
    try:
        return TypeAdapter(union).validate_python(data)
    except ValidationError:
        pass
    for cls in (a for a in typing.get_args(union) if _is_model(a)):
        try:
            return _tolerant(cls, data)
        except ValidationError:
            continue
    raise InvalidInput(f"Cannot read {what} {data}", hint="Upgrade crewchief (qdrant-client)")


def field_schema(value: str | dict[str, Any]) -> Any:
    if isinstance(value, str):
        return models.PayloadSchemaType(value)
    return _from_union(models.PayloadSchemaParams, value, "payload index")


def create_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    """`create_collection` arguments for a collection configured like `config`.

    Shard and replica counts are left to the destination: they describe a deployment,
    not the data (the embedded engine has one of each)."""
    params = config.get("params", {})
    vectors = params.get("vectors") or {}  # {}: a collection of sparse vectors only
    kwargs: dict[str, Any] = {
        "vectors_config": _tolerant(models.VectorParams, vectors)
        if isinstance(vectors.get("size"), int)
        else {n: _tolerant(models.VectorParams, v) for n, v in vectors.items()}
    }
    if params.get("sparse_vectors"):
        kwargs["sparse_vectors_config"] = {
            n: _tolerant(models.SparseVectorParams, v) for n, v in params["sparse_vectors"].items()
        }
    if "on_disk_payload" in params:
        kwargs["on_disk_payload"] = params["on_disk_payload"]
    for key, arg, cls in (
        ("hnsw_config", "hnsw_config", models.HnswConfigDiff),
        ("optimizer_config", "optimizers_config", models.OptimizersConfigDiff),
        ("wal_config", "wal_config", models.WalConfigDiff),
    ):
        if config.get(key):
            kwargs[arg] = _tolerant(cls, config[key])
    if config.get("strict_mode_config"):
        kwargs["strict_mode_config"] = _tolerant(
            models.StrictModeConfig, config["strict_mode_config"]
        )
    if config.get("metadata"):
        kwargs["metadata"] = config["metadata"]
    if config.get("quantization_config"):
        kwargs["quantization_config"] = _from_union(
            models.QuantizationConfig, config["quantization_config"], "quantization config"
        )
    return kwargs


def vectors_signature(config: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """What points must fit: dense vector name ("" for the unnamed one) -> (size, distance,
    datatype, multi-vector comparator or None); `sparse:<name>` -> (datatype, modifier)."""
    params = config.get("params", {})
    vectors = params.get("vectors") or {}
    named = {"": vectors} if isinstance(vectors.get("size"), int) else vectors
    out: dict[str, tuple[Any, ...]] = {
        n: (
            int(p["size"]),
            str(p["distance"]),
            str(p.get("datatype") or "float32"),
            (p.get("multivector_config") or {}).get("comparator"),
        )
        for n, p in named.items()
    }
    for n, p in (params.get("sparse_vectors") or {}).items():
        index = p.get("index") or {}
        out[f"sparse:{n}"] = (str(index.get("datatype") or "float32"), p.get("modifier") or "none")
    return out


def check_fits(client: QdrantAPI, name: str, config: dict[str, Any]) -> None:
    """An existing collection is resumed only if its vectors fit (same names, sizes,
    distances, datatypes, multi-vector and sparse settings); anything else would mix two
    different collections."""
    have = vectors_signature(config_json(client.get_collection(name).config))
    if have != vectors_signature(config):
        raise AlreadyExists(
            f"`{name}` exists on the destination with other vectors ({have})",
            hint="Pick another name, or delete that collection first",
        )


def ensure_collection(client: QdrantAPI, name: str, config: dict[str, Any]) -> bool:
    """Create `name` configured like `config` unless it exists; True if created."""
    if client.collection_exists(name):
        check_fits(client, name, config)
        return False
    client.create_collection(name, **create_kwargs(config))
    return True


def ensure_payload_indexes(client: QdrantAPI, name: str, schema: dict[str, Any]) -> list[str]:
    """Create the payload indexes of `schema` that `name` lacks; return their fields."""
    have = client.get_collection(name).payload_schema or {}
    created = []
    for field_name, value in sorted(schema.items()):
        if field_name not in have:
            client.create_payload_index(name, field_name, field_schema=field_schema(value))
            created.append(field_name)
    return created
