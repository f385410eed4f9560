"""Request bodies read the way Qdrant reads them: unknown fields ignored, Qdrant's errors.

Qdrant deserialises bodies with serde, which ignores fields it does not know
except in `Filter` and the payload selectors (`deny_unknown_fields`), then runs
its `validator` rules.  qdrant-client's models forbid every unknown field, so:

- a body is validated as is (the common case costs nothing extra); only when
  pydantic names an unknown field are the fields no candidate model knows
  removed (`strip_unknown`, guided by the models' annotations) and the body
  validated again, with Qdrant's field aliases (`ALIASES`: `with_vectors` for
  `with_vector`, ...) spelled as the model's field;
- a body of the wrong shape answers 400 `Format error in JSON body: ...` (serde's
  deserialisation error); a body that parses but breaks one of Qdrant's range
  rules (`RANGES`, from Qdrant's `#[validate(range(...))]`, or a struct-level rule of
  schema_rules.py) answers 422
  `Validation error in JSON body: [vectors.size: value 65537 invalid, must be from 1 to 65536]`.
"""

from __future__ import annotations

import json
import types
from collections.abc import Sequence
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from crewchief.server.schema_rules import SCHEMA_RULES, Malformed, schema_errors

# models whose unknown fields Qdrant refuses too (serde `deny_unknown_fields`)
KEEP_UNKNOWN = frozenset({"Filter", "PayloadSelectorInclude", "PayloadSelectorExclude"})

_WITH_VECTORS = {"with_vectors": "with_vector"}
_QUANTIZATION = {"quantization": "quantization_config"}
# Qdrant 1.19's serde aliases on REST bodies (`#[serde(alias = ...)]`), by qdrant-client model
# name: alias -> field.  Not QueryGroupsRequest nor DiscoverRequest: Qdrant has none there.
ALIASES: dict[str, dict[str, str]] = {
    "QueryRequest": _WITH_VECTORS,
    "SearchRequest": _WITH_VECTORS,
    "SearchGroupsRequest": _WITH_VECTORS,
    "RecommendRequest": _WITH_VECTORS,
    "RecommendGroupsRequest": _WITH_VECTORS,
    "PointRequest": _WITH_VECTORS,
    "ScrollRequest": _WITH_VECTORS,
    "WithLookup": {"with_vector": "with_vectors"},
    "CreateCollection": _QUANTIZATION,
    "UpdateCollection": _QUANTIZATION,
    "VectorParams": _QUANTIZATION,
    "VectorParamsDiff": _QUANTIZATION,
}
# Qdrant's request bodies are `#[serde(flatten)]` wrappers around an inner struct, whose name
# its validation errors carry (`internal.limit: ...`): model -> the inner field's name
FLATTENED: dict[str, str] = {
    "QueryRequest": "internal",
    "QueryGroupsRequest": "search_group_request",
    "SearchRequest": "search_request",
    "SearchGroupsRequest": "search_group_request",
    "RecommendRequest": "recommend_request",
    "RecommendGroupsRequest": "recommend_group_request",
    "DiscoverRequest": "discover_request",
    "ScrollRequest": "scroll_request",
    "CountRequest": "count_request",
    "PointRequest": "point_request",
    "SearchMatrixRequest": "search_request",
    "FacetRequest": "facet_request",
}
# ... and the group requests flatten their group fields once more (`group_request`)
_GROUP_FIELDS = frozenset({"group_by", "group_size", "limit", "with_lookup"})
_GROUPED = frozenset({"QueryGroupsRequest", "SearchGroupsRequest", "RecommendGroupsRequest"})
# fields Qdrant reads `null` in as "none" (`Option<Vec<_>>`) where qdrant-client wants a list
NULL_AS_EMPTY: dict[str, tuple[str, ...]] = {
    "DiscoverInput": ("context",),
    "ContextQuery": ("context",),
}

Range = tuple[float | None, float | None]
_LIMIT: dict[str, Range] = {"limit": (1, None)}
# Qdrant 1.19's range rules on REST bodies, by qdrant-client model name and field
RANGES: dict[str, dict[str, Range]] = {
    "VectorParams": {"size": (1, 65536)},
    "DenseVectorConfig": {"size": (1, 65536)},  # PUT /collections/{name}/vectors/{vector}
    "HnswConfigDiff": {"ef_construct": (4, None), "full_scan_threshold": (10, None)},
    "WalConfigDiff": {"wal_capacity_mb": (1, None)},
    "OptimizersConfigDiff": {
        "deleted_threshold": (0.0, 1.0),
        "vacuum_min_vector_number": (100, None),
        "max_segment_size": (1, None),
    },
    "CreateCollection": {
        "shard_number": (1, None),
        "replication_factor": (1, None),
        "write_consistency_factor": (1, None),
    },
    "CollectionParamsDiff": {
        "replication_factor": (1, None),
        "write_consistency_factor": (1, None),
    },
    "SearchParams": {"hnsw_ef": (1, None)},
    "QuantizationSearchParams": {"oversampling": (1.0, None)},
    "ScalarQuantizationConfig": {"quantile": (0.5, 1.0)},
    "ScrollRequest": _LIMIT,
    "SearchRequest": _LIMIT,
    "RecommendRequest": _LIMIT,
    "DiscoverRequest": _LIMIT,
    "QueryRequest": _LIMIT,
    "Prefetch": _LIMIT,
    "FacetRequest": _LIMIT,
    "QueryGroupsRequest": {"limit": (1, None), "group_size": (1, None)},
    "SearchGroupsRequest": {"limit": (1, None), "group_size": (1, None)},
    "RecommendGroupsRequest": {"limit": (1, None), "group_size": (1, None)},
    "SearchMatrixRequest": {"limit": (1, None), "sample": (2, None)},
    "Mmr": {"diversity": (0.0, 1.0), "candidates_limit": (None, 16384)},
    "Rrf": {"k": (1, None)},
    "NaiveFeedbackStrategyParams": {"b": (0.0, None)},
    "StrictModeConfig": {
        "max_query_limit": (1, None),
        "max_timeout": (1, None),
        "read_rate_limit": (1, None),
        "write_rate_limit": (1, None),
        "max_points_count": (1, None),
    },
}


class ApiError(Exception):
    """An error answered in Qdrant's format with an explicit HTTP status."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}
_ONE_PASS_BYTES = 64 * 1024


def adapter(schema: Any) -> TypeAdapter[Any]:
    found = _ADAPTERS.get(schema)
    if found is None:
        found = _ADAPTERS[schema] = TypeAdapter(schema)
    return found


def load_json(raw: bytes, where: str = "JSON body") -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:  # what orjson refuses but Python reads (integers beyond 64 bits)
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"Format error in {where}: {exc}") from None


def decode_body(raw: bytes, schema: Any) -> Any:
    """`raw` JSON validated against a qdrant_client model (or union), as Qdrant would.

    Small bodies are parsed and validated in one pass from bytes (`validate_json`); large
    ones (bulk upserts: pydantic's JSON parser is slower on long float arrays than orjson)
    and every refused body take the two-step path below, which writes Qdrant's errors."""
    validator = adapter(schema)
    if len(raw) <= _ONE_PASS_BYTES:
        try:
            value = validator.validate_json(raw)
        except ValidationError:
            pass
        else:
            return _checked(schema, value)
    return decode_data(load_json(raw), schema)


def decode_data(data: Any, schema: Any) -> Any:
    """Parsed JSON (`load_json`) validated against a qdrant_client model (or union), with
    Qdrant's errors: `decode_body` after the parse.  In Python mode, which for a body with a
    384-float query vector is ~10x faster than pydantic's JSON mode (`validate_json`)."""
    validator = adapter(schema)
    try:
        value = validator.validate_python(data)
    except ValidationError as exc:
        read = strip_unknown(data, _flatten(schema))
        if read == data:  # nothing unknown, aliased or null-as-empty: the body is wrong
            raise ApiError(400, describe_format_error(exc)) from None
        try:
            value = validator.validate_python(read)
        except ValidationError as again:
            raise ApiError(400, describe_format_error(again)) from None
    return _checked(schema, value)


def _checked(schema: Any, value: Any) -> Any:
    """`value`, unless it breaks one of Qdrant's range rules (only walked when the schema
    can hold a model that has one: never for a batch of points)."""
    problems = range_errors(value) if _has_rules(_flatten(schema)) else []
    if problems:
        raise ApiError(422, "Validation error in JSON body: [" + "; ".join(problems) + "]")
    return value


@cache
def _has_rules(alts: tuple[Any, ...], seen: frozenset[Any] = frozenset()) -> bool:
    """Whether a value of one of these types may contain a model with a `RANGES` rule."""
    for tp in alts:
        if tp in seen:
            continue
        if _is_model(tp):
            if tp.__name__ in RANGES or tp.__name__ in SCHEMA_RULES:
                return True
            subs = tuple(a for f in tp.model_fields.values() for a in _flatten(f.annotation))
            if _has_rules(subs, seen | {tp}):
                return True
        elif _is_list(tp) or _is_dict(tp):
            args = get_args(tp)[-1:] if _is_dict(tp) else get_args(tp)[:1]
            if _has_rules(tuple(a for arg in args for a in _flatten(arg)), seen | {tp}):
                return True
    return False


@cache
def _field_has_rules(model: type[BaseModel], name: str) -> bool:
    """Whether a field's value may hold a rule (a batch's points are never walked)."""
    annotation: Any = model.model_fields[name].annotation
    return annotation is not None and _has_rules(_flatten(annotation))


def describe_format_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if not _is_union_tag(p))
        parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    more = exc.error_count() - len(parts)
    if more > 0:
        parts.append(f"... and {more} more")
    return "Format error in JSON body: " + "; ".join(parts)


def _is_union_tag(part: Any) -> bool:
    # pydantic names union members in error locations ("PointsList", "list[...]")
    return isinstance(part, str) and (part[:1].isupper() or "[" in part)


# -- unknown fields ----------------------------------------------------------------------------


@cache
def _flatten(tp: Any) -> tuple[Any, ...]:
    """The alternatives a value of type `tp` may be (unions and Annotated unwrapped)."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _flatten(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return tuple(alt for arg in get_args(tp) for alt in _flatten(arg))
    return (tp,)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _is_list(tp: Any) -> bool:
    origin = get_origin(tp)
    return isinstance(origin, type) and issubclass(origin, Sequence) and origin is not str


def _is_dict(tp: Any) -> bool:
    return get_origin(tp) is dict


@cache
def _fields(models: tuple[type[BaseModel], ...]) -> dict[str, tuple[Any, ...]]:
    """Every field any of `models` knows (by its JSON name), with the types it may hold."""
    known: dict[str, list[Any]] = {}
    for model in models:
        for name, info in model.model_fields.items():
            annotation: Any = info.annotation
            alts: tuple[Any, ...] = _flatten(annotation) if annotation is not None else ()
            known.setdefault(info.alias or name, []).extend(alts)
    return {key: tuple(dict.fromkeys(alts)) for key, alts in known.items()}


def _deep(alts: tuple[Any, ...]) -> bool:
    """Whether a value of these types may hold a model (worth walking into)."""
    return any(_is_model(a) or _is_list(a) or _is_dict(a) for a in alts)


def strip_unknown(value: Any, alts: tuple[Any, ...]) -> Any:
    """`value` without the object fields none of the candidate models `alts` knows.

    Conservative for unions: a field any alternative knows is kept.  An object that
    may be a model or a free-form dict (`VectorsConfig`) is read as the model when it
    has a field the model knows.  Free-form dicts, and models that refuse unknown
    fields in Qdrant too (`KEEP_UNKNOWN`), keep every field."""
    if isinstance(value, dict):
        models = tuple(a for a in alts if _is_model(a))
        values = tuple(v for a in alts if _is_dict(a) for v in _flatten(get_args(a)[1]))
        if not models and not values:
            return value
        known = _fields(models)
        value = _renamed(value, models, known)
        if values and any(key in known for key in value):
            values = ()  # read as the model (as serde tries an untagged enum's struct first)
        open_object = bool(values) or any(
            m.__name__ in KEEP_UNKNOWN or m.model_config.get("extra") != "forbid" for m in models
        )
        out = {}
        for key, item in value.items():
            sub = known.get(key)
            if sub is None and not open_object:
                continue  # a field no candidate knows: serde would skip it
            sub = (sub or ()) + values
            out[key] = strip_unknown(item, sub) if _deep(sub) else item
        return out
    if isinstance(value, list):
        items = tuple(
            i for a in alts if _is_list(a) for arg in get_args(a)[:1] for i in _flatten(arg)
        )
        if not _deep(items):
            return value
        return [strip_unknown(item, items) for item in value]
    return value


def _renamed(value: dict[str, Any], models: tuple[Any, ...], known: Any) -> dict[str, Any]:
    """`value` with Qdrant's aliases (`ALIASES`) of the candidate models spelled as the field
    (an alias beside its field is serde's `duplicate field`, 400) and `NULL_AS_EMPTY`'s
    nulls as empty lists."""
    aliases = {a: f for m in models for a, f in ALIASES.get(m.__name__, {}).items()}
    found = [a for a in value if a in aliases and a not in known]
    empty = [f for m in models for f in NULL_AS_EMPTY.get(m.__name__, ()) if f in value]
    if not found and not any(value[f] is None for f in empty):
        return value
    out = {k: [] if k in empty and v is None else v for k, v in value.items()}
    for alias in found:
        field = aliases[alias]
        if field in out:
            raise ApiError(400, f"Format error in JSON body: duplicate field `{field}`")
        out[field] = out.pop(alias)
    return out


# -- Qdrant's range rules ----------------------------------------------------------------------


def range_errors(value: Any, path: str = "") -> list[str]:
    """Qdrant's `validator` messages for the range rules `value` breaks (a parsed model)."""
    found: list[str] = []
    if isinstance(value, BaseModel):
        model = type(value).__name__
        rules = RANGES.get(model, {})
        for name in type(value).model_fields:
            item = getattr(value, name)
            if item is None:
                continue
            where = _qdrant_path(model, name)
            where = f"{path}.{where}" if path else where
            rule = rules.get(name)
            if rule is not None and isinstance(item, int | float) and not isinstance(item, bool):
                _check_unsigned(item, rule, f"{path}.{name}" if path else name)
                message = _out_of_range(item, rule)
                if message:
                    found.append(f"{where}: {message}")
            elif isinstance(item, BaseModel | list | dict) and _field_has_rules(type(value), name):
                found.extend(range_errors(item, where))
        try:
            found.extend(schema_errors(value, path))
        except Malformed as exc:
            raise ApiError(400, f"Format error in JSON body: {exc}") from None
    elif isinstance(value, list) and value and isinstance(value[0], BaseModel | list | dict):
        for i, item in enumerate(value):
            found.extend(range_errors(item, f"{path}[{i}]"))
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, BaseModel):
                found.extend(range_errors(item, f"{path}.{key}" if path else str(key)))
    return found


def _qdrant_path(model: str, name: str) -> str:
    """A field's path as Qdrant's validator names it, through its flattened wrappers."""
    inner = FLATTENED.get(model)
    if inner is None or name == "shard_key":
        return name
    if model in _GROUPED and name in _GROUP_FIELDS:
        return f"{inner}.group_request.{name}"
    return f"{inner}.{name}"


def _check_unsigned(value: float, rule: Range, where: str) -> None:
    """Qdrant's integer fields with a range are unsigned: a negative or too large one
    fails deserialisation (400) before any range rule (422) is looked at."""
    unsigned = isinstance(value, int) and rule[0] is not None and rule[0] >= 0
    if unsigned and (value < 0 or value >= 2**64):
        raise ApiError(400, f"Format error in JSON body: {where}: invalid value: integer `{value}`")


def _out_of_range(value: float, rule: Range) -> str | None:
    low, high = rule
    if (low is None or value >= low) and (high is None or value <= high):
        return None
    if low is not None and high is not None:
        bound = f"must be from {low} to {high}"
    elif low is not None:
        bound = f"must be {low} or larger"
    else:
        bound = f"must be {high} or smaller"
    return f"value {value} invalid, {bound}"
