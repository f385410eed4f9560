"""Convert `qdrant_client.models` request pieces into `qdrant_edge` objects and back.

Pure functions, no I/O: filters, point ids, payload selectors and payload index schemas.
Whatever the edge cannot express raises `crewchief.errors.InvalidInput` with a hint.

Known gaps of the edge's Python bindings (qdrant-edge-py 0.9.0) and how they are bridged:

* `qdrant_edge.MatchValue(True)` stores the integer 1 (a Python bool is an int), so it
  would match the payload value `1` and never `true`.  Booleans are handed over as
  `numpy.bool_`, which the binding extracts as a real boolean.
* `qdrant_edge.SliceCondition` exists at runtime but not in the type stubs; it is looked
  up dynamically and reported as unsupported if a future build drops it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import qdrant_edge as qe
from qdrant_client import models

from crewchief.errors import EngineFailure, InvalidInput

if TYPE_CHECKING:
    from qdrant_edge import ConditionType, MatchType, PayloadSchemaParams, WithPayloadType

__all__ = [
    "check_payload_key",
    "edge_values",
    "client_payload_schema",
    "client_point_id",
    "edge_field_index_schema",
    "edge_filter",
    "edge_payload_schema",
    "edge_point_id",
    "edge_with_payload",
]

_MAX_INT_ID = 2**64 - 1
_ID_HINT = (
    "Point ids are unsigned integers or UUIDs, e.g. 42 or '5c56c793-69f3-4fbf-87e6-c4bf54c28c26'"
)
_FILTER_HINT = "Build filters from qdrant_client.models (Filter, FieldCondition, ...)"
_KEY_HINT = "Payload keys are paths like 'city', 'meta.level' or 'tags[]'"

E = TypeVar("E", bound=Enum)
_INT64 = range(-(2**63), 2**63)


@contextmanager
def edge_values(where: str) -> Iterator[None]:
    """Turn qdrant_edge's refusal of a value into bad input, before anything is changed: an
    integer it cannot hold (negative where Qdrant's field is unsigned, or beyond 64 bits),
    or a payload key that is not a valid path."""
    try:
        yield
    except OverflowError as exc:
        raise InvalidInput(
            f"{where}: an integer is out of range ({exc})",
            hint="Counts, sizes and limits are unsigned 64-bit integers (0 to 2^64-1)",
        ) from exc
    except ValueError as exc:
        hint = _KEY_HINT if "JSON path" in str(exc) else "Check the values against Qdrant's API"
        raise InvalidInput(f"{where}: {exc}", hint=hint) from exc


# ---------------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------------


def edge_filter(f: models.Filter | dict[str, Any] | None) -> qe.Filter | None:
    """Convert a `models.Filter` (or its JSON dict form) to a `qdrant_edge.Filter`.

    `None` stays `None`.  `must` / `should` / `must_not` may hold a single condition or a
    list, as `qdrant_client` allows; empty lists are passed through unchanged.
    """
    if f is None:
        return None
    if isinstance(f, dict):
        f = _validate(models.Filter, f, "filter")
    if not isinstance(f, models.Filter):
        raise InvalidInput(
            f"Expected a Filter, got {type(f).__name__}",
            hint=_FILTER_HINT,
        )
    with edge_values("filter"):
        return _filter(f, "filter")


def _validate(model: type[Any], data: dict[str, Any], where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        first = str(exc).splitlines()
        detail = first[1] if len(first) > 1 else str(exc)
        raise InvalidInput(f"Invalid {where}: {detail}", hint=_FILTER_HINT) from exc


def _filter(f: models.Filter, where: str) -> qe.Filter:
    min_should = None
    if f.min_should is not None:
        ms = f.min_should
        if ms.min_count < 0:
            raise InvalidInput(
                f"{where}.min_should.min_count must not be negative, got {ms.min_count}",
                hint="Use 0 or a positive number of conditions that must match",
            )
        conditions = _conditions(ms.conditions, f"{where}.min_should.conditions") or []
        min_should = qe.MinShould(conditions, ms.min_count)
    return qe.Filter(
        must=_conditions(f.must, f"{where}.must"),
        should=_conditions(f.should, f"{where}.should"),
        must_not=_conditions(f.must_not, f"{where}.must_not"),
        min_should=min_should,
    )


def _conditions(value: Any, where: str) -> list[ConditionType] | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return [_condition(c, f"{where}[{i}]") for i, c in enumerate(value)]
    return [_condition(value, where)]


def _condition(c: Any, where: str) -> ConditionType:
    if isinstance(c, models.FieldCondition):
        return _field_condition(c, where)
    if isinstance(c, models.Filter):
        return _filter(c, where)
    if isinstance(c, models.IsEmptyCondition):
        return qe.IsEmptyCondition(c.is_empty.key)
    if isinstance(c, models.IsNullCondition):
        return qe.IsNullCondition(c.is_null.key)
    if isinstance(c, models.HasIdCondition):
        return qe.HasIdCondition({edge_point_id(pid) for pid in c.has_id})
    if isinstance(c, models.HasVectorCondition):
        return qe.HasVectorCondition(c.has_vector)
    if isinstance(c, models.NestedCondition):
        return qe.NestedCondition(c.nested.key, _filter(c.nested.filter, f"{where}.nested.filter"))
    if isinstance(c, models.SliceCondition):
        slice_cls = getattr(qe, "SliceCondition", None)
        if slice_cls is None:
            raise InvalidInput(
                f"{where}: SliceCondition is not supported by the embedded engine",
                hint="Split the work by id ranges or a payload field instead",
            )
        total, index = c.slice.total, c.slice.index
        if total < 1 or not 0 <= index < total:
            raise InvalidInput(
                f"{where}: slice index {index} is out of range for {total} slices",
                hint="Use total >= 1 and 0 <= index < total",
            )
        result: ConditionType = slice_cls(total, index)
        return result
    if isinstance(c, dict):
        raise InvalidInput(
            f"{where}: a condition must be a model, not a dict",
            hint="Pass the whole filter as a dict, or build conditions from qdrant_client.models",
        )
    raise InvalidInput(
        f"{where}: unsupported filter condition {type(c).__name__}",
        hint="Supported: FieldCondition, IsEmptyCondition, IsNullCondition, HasIdCondition, "
        "HasVectorCondition, NestedCondition, SliceCondition and nested Filter",
    )


def _field_condition(c: models.FieldCondition, where: str) -> qe.FieldCondition:
    where = f"{where} (key {c.key!r})"
    rng: qe.RangeFloat | qe.RangeDateTime | None = None
    if isinstance(c.range, models.DatetimeRange):
        rng = qe.RangeDateTime(
            gte=_datetime(c.range.gte),
            gt=_datetime(c.range.gt),
            lte=_datetime(c.range.lte),
            lt=_datetime(c.range.lt),
        )
    elif isinstance(c.range, models.Range):
        rng = qe.RangeFloat(gte=c.range.gte, gt=c.range.gt, lte=c.range.lte, lt=c.range.lt)
    elif c.range is not None:
        raise InvalidInput(
            f"{where}: unsupported range {type(c.range).__name__}",
            hint="Use models.Range for numbers or models.DatetimeRange for datetimes",
        )
    bbox = c.geo_bounding_box
    radius = c.geo_radius
    polygon = c.geo_polygon
    values_count = c.values_count
    parts = (c.match, rng, bbox, radius, polygon, values_count, c.is_empty, c.is_null)
    if all(p is None for p in parts):
        raise InvalidInput(
            f"{where}: FieldCondition has no condition",
            hint="Set one of match, range, geo_bounding_box, geo_radius, geo_polygon, "
            "values_count, is_empty or is_null",
        )
    return qe.FieldCondition(
        c.key,
        match=_match(c.match, where) if c.match is not None else None,
        range=rng,
        geo_bounding_box=(
            qe.GeoBoundingBox(_geo_point(bbox.top_left), _geo_point(bbox.bottom_right))
            if bbox is not None
            else None
        ),
        geo_radius=(
            qe.GeoRadius(_geo_point(radius.center), radius.radius) if radius is not None else None
        ),
        geo_polygon=(
            qe.GeoPolygon(
                [_geo_point(p) for p in polygon.exterior.points],
                (
                    [[_geo_point(p) for p in ring.points] for ring in polygon.interiors]
                    if polygon.interiors is not None
                    else None
                ),
            )
            if polygon is not None
            else None
        ),
        values_count=(
            qe.ValuesCount(
                lt=values_count.lt,
                gt=values_count.gt,
                lte=values_count.lte,
                gte=values_count.gte,
            )
            if values_count is not None
            else None
        ),
        is_empty=c.is_empty,
        is_null=c.is_null,
    )


def _match(m: Any, where: str) -> MatchType:
    if isinstance(m, models.MatchValue):
        value = m.value
        if isinstance(value, bool):
            # A plain bool becomes the integer 0/1 inside the binding; numpy.bool_ does not.
            return qe.MatchValue(np.bool_(value))  # type: ignore[arg-type]
        if isinstance(value, int):
            _check_int64(value, where)
        return qe.MatchValue(value)
    if isinstance(m, models.MatchText):
        return qe.MatchText(m.text)
    if isinstance(m, models.MatchTextAny):
        return qe.MatchTextAny(m.text_any)
    if isinstance(m, models.MatchPhrase):
        return qe.MatchPhrase(m.phrase)
    if isinstance(m, models.MatchPrefix):
        return qe.MatchPrefix(m.prefix)
    if isinstance(m, models.MatchSubstring):
        return qe.MatchSubstring(m.substring)
    if isinstance(m, models.MatchAny):
        return qe.MatchAny(_match_values(m.any, where, "any"))
    if isinstance(m, models.MatchExcept):
        # qdrant_client spells it `except_` (alias `except`); the edge takes it positionally.
        return qe.MatchExcept(_match_values(m.except_, where, "except"))
    raise InvalidInput(
        f"{where}: unsupported match {type(m).__name__}",
        hint="Use MatchValue, MatchText, MatchTextAny, MatchPhrase, MatchPrefix, "
        "MatchSubstring, MatchAny or MatchExcept",
    )


def _match_values(values: Sequence[Any], where: str, name: str) -> list[str] | list[int]:
    items = list(values)
    if all(isinstance(v, str) for v in items):
        return [str(v) for v in items]
    if all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        for v in items:
            _check_int64(v, where)
        return [int(v) for v in items]
    raise InvalidInput(
        f"{where}: match {name} mixes value types",
        hint="Use a list of only strings or only integers",
    )


def _check_int64(value: int, where: str) -> None:
    if value not in _INT64:
        raise InvalidInput(
            f"{where}: match value {value} is out of range",
            hint="Integer payload values are signed 64-bit (-2^63 to 2^63-1)",
        )


def _geo_point(p: models.GeoPoint) -> qe.GeoPoint:
    return qe.GeoPoint(lon=p.lon, lat=p.lat)


def _datetime(value: dt.datetime | dt.date | None) -> str | None:
    """RFC 3339 text for the edge; naive datetimes and plain dates are taken as UTC."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


# ---------------------------------------------------------------------------------------------
# Point ids
# ---------------------------------------------------------------------------------------------


def edge_point_id(pid: int | str | uuid.UUID) -> int | uuid.UUID:
    """A point id as the edge takes it: an unsigned int stays an int, a UUID (or its text in
    any form `uuid.UUID` accepts) becomes a `uuid.UUID`.  Anything else is InvalidInput."""
    if isinstance(pid, bool):
        raise InvalidInput(f"Invalid point id {pid!r}: a bool is not an id", hint=_ID_HINT)
    if isinstance(pid, int):
        if not 0 <= pid <= _MAX_INT_ID:
            raise InvalidInput(
                f"Invalid point id {pid}: integer ids must be in 0..2^64-1", hint=_ID_HINT
            )
        return pid
    if isinstance(pid, uuid.UUID):
        return pid
    if isinstance(pid, str):
        try:
            return uuid.UUID(pid)
        except ValueError:
            raise InvalidInput(
                f"Invalid point id {pid!r}: a string id must be a UUID", hint=_ID_HINT
            ) from None
    raise InvalidInput(f"Invalid point id of type {type(pid).__name__}", hint=_ID_HINT)


def client_point_id(edge_id: Any) -> int | str:
    """An id the edge returned, in `qdrant_client` convention: ints stay ints, UUIDs become
    their canonical lowercase hyphenated text (what `QdrantClient(":memory:")` returns)."""
    if isinstance(edge_id, int) and not isinstance(edge_id, bool):
        return edge_id
    if isinstance(edge_id, uuid.UUID):
        return str(edge_id)
    if isinstance(edge_id, str):
        try:
            return str(uuid.UUID(edge_id))
        except ValueError:
            pass
    raise EngineFailure(
        f"The engine returned an unexpected point id {edge_id!r}",
        hint="This is a bug in crewchief or qdrant-edge; please report it",
    )


# ---------------------------------------------------------------------------------------------
# Payload selectors
# ---------------------------------------------------------------------------------------------


def edge_with_payload(
    with_payload: bool
    | Sequence[str]
    | models.PayloadSelectorInclude
    | models.PayloadSelectorExclude
    | None,
) -> WithPayloadType | None:
    """Convert `with_payload` to the edge's WithPayloadType.

    bool -> bool, list of keys -> list (include only those keys),
    `PayloadSelectorInclude` -> `PayloadSelector.Include`, `PayloadSelectorExclude` ->
    `PayloadSelector.Exclude`.  The edge has a native Exclude selector, so nothing is
    post-filtered here.  `None` stays `None` (the edge's default applies).
    """
    if with_payload is None or isinstance(with_payload, bool):
        return with_payload
    if isinstance(with_payload, models.PayloadSelectorInclude):
        return qe.PayloadSelector.Include(_payload_keys(with_payload.include))
    if isinstance(with_payload, models.PayloadSelectorExclude):
        return qe.PayloadSelector.Exclude(_payload_keys(with_payload.exclude))
    if isinstance(with_payload, list | tuple):
        return _payload_keys(with_payload)
    raise InvalidInput(
        f"Unsupported with_payload of type {type(with_payload).__name__}",
        hint="Use True/False, a list of keys, PayloadSelectorInclude or PayloadSelectorExclude",
    )


def _payload_keys(keys: Sequence[Any]) -> list[str]:
    if not all(isinstance(k, str) for k in keys):
        raise InvalidInput("with_payload keys must be strings", hint=_KEY_HINT)
    with edge_values("with_payload"):
        qe.PayloadSelector.Include(list(keys))  # the edge's own check of each key path
    return list(keys)


def check_payload_key(key: str, where: str) -> str:
    """`key` if it is a valid payload path, else InvalidInput."""
    with edge_values(where):
        qe.PayloadSelector.Include([key])
    return key


# ---------------------------------------------------------------------------------------------
# Payload index schemas
# ---------------------------------------------------------------------------------------------

_SCHEMA_TYPES: dict[models.PayloadSchemaType, qe.PayloadSchemaType] = {
    models.PayloadSchemaType.KEYWORD: qe.PayloadSchemaType.Keyword,
    models.PayloadSchemaType.INTEGER: qe.PayloadSchemaType.Integer,
    models.PayloadSchemaType.FLOAT: qe.PayloadSchemaType.Float,
    models.PayloadSchemaType.GEO: qe.PayloadSchemaType.Geo,
    models.PayloadSchemaType.TEXT: qe.PayloadSchemaType.Text,
    models.PayloadSchemaType.BOOL: qe.PayloadSchemaType.Bool,
    models.PayloadSchemaType.DATETIME: qe.PayloadSchemaType.Datetime,
    models.PayloadSchemaType.UUID: qe.PayloadSchemaType.Uuid,
}

# client params class -> (schema type, edge params class)
_PARAMS: dict[type[Any], tuple[models.PayloadSchemaType, Callable[..., Any]]] = {
    models.KeywordIndexParams: (models.PayloadSchemaType.KEYWORD, qe.KeywordIndexParams),
    models.IntegerIndexParams: (models.PayloadSchemaType.INTEGER, qe.IntegerIndexParams),
    models.FloatIndexParams: (models.PayloadSchemaType.FLOAT, qe.FloatIndexParams),
    models.GeoIndexParams: (models.PayloadSchemaType.GEO, qe.GeoIndexParams),
    models.TextIndexParams: (models.PayloadSchemaType.TEXT, qe.TextIndexParams),
    models.BoolIndexParams: (models.PayloadSchemaType.BOOL, qe.BoolIndexParams),
    models.DatetimeIndexParams: (models.PayloadSchemaType.DATETIME, qe.DatetimeIndexParams),
    models.UuidIndexParams: (models.PayloadSchemaType.UUID, qe.UuidIndexParams),
}

_SCHEMA_HINT = (
    "Use a PayloadSchemaType (keyword, integer, float, geo, text, bool, datetime, uuid) "
    "or one of the *IndexParams models"
)


def edge_payload_schema(
    field_schema: models.PayloadSchemaType | str | Any,
) -> tuple[qe.PayloadSchemaType, PayloadSchemaParams | None]:
    """`field_schema` of `create_payload_index` -> (edge schema type, edge params or None).

    Accepts a `models.PayloadSchemaType`, its string value ("keyword", ...) or any
    `models.*IndexParams`.  `UpdateOperation.create_field_index` takes ONE schema argument
    (the type or the params); `edge_field_index_schema` picks the right one.
    """
    if isinstance(field_schema, models.PayloadSchemaType | str):
        try:
            schema_type = models.PayloadSchemaType(field_schema)
        except ValueError:
            raise InvalidInput(
                f"Unknown payload schema type {field_schema!r}", hint=_SCHEMA_HINT
            ) from None
        return _SCHEMA_TYPES[schema_type], None
    entry = _PARAMS.get(type(field_schema))
    if entry is None:
        raise InvalidInput(
            f"Unsupported payload index schema {type(field_schema).__name__}",
            hint=_SCHEMA_HINT,
        )
    schema_type, edge_cls = entry
    kwargs: dict[str, Any] = {}
    for name in type(field_schema).model_fields:
        if name == "type":
            continue
        value = getattr(field_schema, name)
        if value is not None:
            kwargs[name] = _to_edge_value(name, value)
    try:
        params = edge_cls(**kwargs)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput(
            f"The embedded engine rejected {type(field_schema).__name__}: {exc}",
            hint="Drop the options the message names",
        ) from exc
    return _SCHEMA_TYPES[schema_type], params


def edge_field_index_schema(
    field_schema: models.PayloadSchemaType | str | Any,
) -> qe.PayloadSchemaType | PayloadSchemaParams:
    """The single `schema` argument for `UpdateOperation.create_field_index`: the edge
    params when `field_schema` carries any, else the bare schema type."""
    schema_type, params = edge_payload_schema(field_schema)
    return schema_type if params is None else params


def _to_edge_value(name: str, value: Any) -> Any:
    if isinstance(value, models.Memory):
        return _edge_enum(qe.Memory, value)
    if isinstance(value, models.TokenizerType):
        return _edge_enum(qe.TokenizerType, value)
    if isinstance(value, models.Language):
        return _edge_enum(qe.Language, value)
    if isinstance(value, models.StopwordsSet):
        languages = (
            {_edge_enum(qe.Language, lang) for lang in value.languages}
            if value.languages is not None
            else None
        )
        custom = set(value.custom) if value.custom is not None else None
        return qe.StopwordsSet(languages=languages, custom=custom)
    if isinstance(value, models.SnowballParams):
        return qe.SnowballParams(_edge_enum(qe.SnowballLanguage, value.language))
    if isinstance(value, models.DisabledStemmerParams):
        return qe.DisabledStemmer()
    if isinstance(value, models.TextScoringParams):
        return qe.TextScoringParams(_edge_enum(qe.TextScoringType, value.type))
    if isinstance(value, bool | int | str):
        return value
    raise InvalidInput(
        f"Unsupported payload index option {name}={value!r}",
        hint="Leave this option unset for the embedded engine",
    )


def _norm(name: str) -> str:
    return name.replace("_", "").lower()


def _edge_enum(edge_cls: Any, member: Enum) -> Any:
    for name in dir(edge_cls):
        if not name.startswith("_") and _norm(name) == _norm(member.name):
            return getattr(edge_cls, name)
    raise InvalidInput(
        f"{type(member).__name__}.{member.name} is not supported by the embedded engine",
        hint=f"Choose another {type(member).__name__}",
    )


def _client_enum(client_cls: type[E], edge_member: Any) -> E:
    edge_cls = type(edge_member)
    for name in dir(edge_cls):
        if name.startswith("_") or getattr(edge_cls, name) != edge_member:
            continue
        for member in client_cls:
            if _norm(member.name) == _norm(name):
                return member
    raise EngineFailure(
        f"The engine returned an unknown {client_cls.__name__} value {edge_member!r}",
        hint="This is a bug in crewchief or qdrant-edge; please report it",
    )


def client_payload_schema(info: qe.PayloadIndexInfo) -> models.PayloadIndexInfo:
    """An edge `PayloadIndexInfo` as `models.PayloadIndexInfo` (data_type, params, points).

    `params` is converted back to the matching `models.*IndexParams` when the index was
    created with parameters, else it is None.
    """
    data_type = _client_enum(models.PayloadSchemaType, info.data_type)
    params = None if info.params is None else _client_params(info.params)
    return models.PayloadIndexInfo(data_type=data_type, params=params, points=info.points)


def _client_params(params: Any) -> Any:
    client_cls = next((c for c, (_, e) in _PARAMS.items() if type(params) is e), None)
    if client_cls is None:
        raise EngineFailure(
            f"The engine returned unknown index params {type(params).__name__}",
            hint="This is a bug in crewchief or qdrant-edge; please report it",
        )
    # `type` is a one-member enum (KeywordIndexType.KEYWORD, ...) that pydantic requires
    type_enum: Any = client_cls.model_fields["type"].annotation
    values: dict[str, Any] = {"type": next(iter(type_enum))}
    for name in client_cls.model_fields:
        if name == "type":
            continue
        value = getattr(params, name, None)
        if value is not None:
            values[name] = _to_client_value(value)
    return client_cls(**values)


def _to_client_value(value: Any) -> Any:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, qe.Memory):
        return _client_enum(models.Memory, value)
    if isinstance(value, qe.TokenizerType):
        return _client_enum(models.TokenizerType, value)
    if isinstance(value, qe.Language):
        return _client_enum(models.Language, value)
    if isinstance(value, qe.StopwordsSet):
        languages = value.languages
        return models.StopwordsSet(
            languages=(
                sorted((_client_enum(models.Language, lang) for lang in languages), key=str)
                if languages is not None
                else None
            ),
            custom=sorted(value.custom) if value.custom is not None else None,
        )
    if isinstance(value, qe.SnowballParams):
        return models.SnowballParams(
            type=models.Snowball.SNOWBALL,
            language=_client_enum(models.SnowballLanguage, value.language),
        )
    if isinstance(value, qe.DisabledStemmer):
        return models.DisabledStemmerParams(type=models.NoStemmer.NONE)
    if isinstance(value, qe.TextScoringParams):
        return models.TextScoringParams(type=_client_enum(models.TextScoringType, value.type))
    raise EngineFailure(
        f"The engine returned an unknown index option {value!r}",
        hint="This is a bug in crewchief or qdrant-edge; please report it",
    )
