"""Payload index schemas: `create_payload_index`'s field_schema to the edge, and back.

`models.PayloadSchemaType` (or its text) and every `models.*IndexParams` map to the
edge's schema types and params; `client_payload_schema` turns what the edge reports
(get_collection's payload_schema) back into `models.PayloadIndexInfo`.
`schema_problem` is Qdrant's own validation of a schema (an integer index needs
`lookup` or `range`), which the edge does not make: the engine refuses what it names,
and the server answers it as Qdrant's 422.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

import qdrant_edge as qe
from qdrant_client import models

from crewchief.errors import EngineFailure, InvalidInput

if TYPE_CHECKING:
    from qdrant_edge import PayloadSchemaParams

E = TypeVar("E", bound=Enum)

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


LOOKUP_AND_RANGE = "the 'lookup' and 'range' capabilities can't be both disabled"


def schema_problem(field_schema: Any) -> tuple[str, str] | None:
    """(field, Qdrant's text) when Qdrant's validation refuses `field_schema`, else None."""
    integer = isinstance(field_schema, models.IntegerIndexParams)
    if integer and field_schema.lookup is False and field_schema.range is False:
        return "lookup", f"Validation error: {LOOKUP_AND_RANGE} [{{}}]"
    return None


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
    if isinstance(field_schema, dict):
        field_schema = _params_model(field_schema)
    problem = schema_problem(field_schema)
    if problem is not None:
        raise InvalidInput(
            f"Validation error in field_schema: [{problem[0]}: {problem[1]}]",
            hint="Enable `lookup` (exact matches) or `range` (range filters), or both",
        )
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


def _params_model(data: dict[str, Any]) -> Any:
    """The `*IndexParams` model of a schema in its JSON form ({"type": "integer", ...})."""
    try:
        schema_type = models.PayloadSchemaType(data.get("type"))
    except ValueError:
        raise InvalidInput(
            f"Unknown payload schema type {data.get('type')!r}", hint=_SCHEMA_HINT
        ) from None
    cls = next(c for c, (t, _) in _PARAMS.items() if t == schema_type)
    try:
        return cls.model_validate(data)
    except ValueError as exc:
        raise InvalidInput(f"Bad {cls.__name__}: {exc}", hint=_SCHEMA_HINT) from exc


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
