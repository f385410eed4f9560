"""Strict mode's view of a filter: its size, and the first key it uses without a suitable index.

Pure functions over `qdrant_client.models` filters (or their JSON form) and a collection's
payload schema, counted the way Qdrant 1.19 counts them (`Filter::total_conditions_count`,
`max_condition_input_size`, and the unindexed-field extractor its strict mode and `/issues`
share): a nested or sub-filter counts its conditions, `match any`/`except` and `has_id`
count their values, and a key needs an index of one of the kinds its condition can use.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from qdrant_client import models

# index capabilities (Qdrant's FieldIndexType) and the schema each is named by in errors
_SCHEMA_NAME = {
    "int_match": "integer",
    "int_range": "integer",
    "keyword_match": "keyword",
    "keyword_prefix": "keyword (with prefix: true)",
    "float_range": "float",
    "text": "text",
    "text_phrase": "text (with phrase_matching: true)",
    "bool_match": "bool",
    "uuid_match": "uuid",
    "uuid_range": "uuid",
    "datetime_range": "datetime",
    "geo": "geo",
}
_ALL = tuple(_SCHEMA_NAME)


def as_filter(f: models.Filter | dict[str, Any] | None) -> models.Filter | None:
    if f is None or isinstance(f, models.Filter):
        return f
    return models.Filter.model_validate(f)


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def conditions(f: models.Filter) -> Iterator[Any]:
    """The filter's own conditions: must, must_not, should, then min_should's."""
    yield from _listed(f.must)
    yield from _listed(f.must_not)
    yield from _listed(f.should)
    if f.min_should is not None:
        yield from _listed(f.min_should.conditions)


def total_conditions(f: models.Filter) -> int:
    """Every condition, a nested or sub-filter counted by its own conditions."""
    total = 0
    for c in conditions(f):
        if isinstance(c, models.Filter):
            total += total_conditions(c)
        elif isinstance(c, models.NestedCondition):
            total += total_conditions(as_filter(c.nested.filter) or models.Filter())
        else:
            total += 1
    return total


def max_condition_size(f: models.Filter) -> int:
    """The largest condition's input: values of a `match any` / `except`, ids of `has_id`."""
    return max((_condition_size(c) for c in conditions(f)), default=0)


def _condition_size(c: Any) -> int:
    if isinstance(c, models.FieldCondition):
        if isinstance(c.match, models.MatchAny):
            return len(c.match.any)
        if isinstance(c.match, models.MatchExcept):
            return len(c.match.except_)
        return 0
    if isinstance(c, models.HasIdCondition):
        return len(c.has_id)
    if isinstance(c, models.Filter):
        return max_condition_size(c)
    if isinstance(c, models.NestedCondition):
        return max_condition_size(as_filter(c.nested.filter) or models.Filter())
    return 0


def capabilities(info: Any) -> set[str]:
    """What a payload index (a `models.PayloadIndexInfo`) can serve, as Qdrant lists it."""
    kind = str(getattr(info.data_type, "value", info.data_type))
    params = info.params
    if kind == "keyword":
        prefix = bool(getattr(params, "prefix", None))
        return {"keyword_match", "keyword_prefix"} if prefix else {"keyword_match"}
    if kind == "integer":
        found = set()
        if getattr(params, "lookup", None) is not False:
            found.add("int_match")
        if getattr(params, "range", None) is not False:
            found.add("int_range")
        return found
    if kind == "text":
        phrase = bool(getattr(params, "phrase_matching", None))
        return {"text", "text_phrase"} if phrase else {"text"}
    return {
        "uuid": {"uuid_match", "uuid_range"},
        "bool": {"bool_match"},
        "float": {"float_range"},
        "geo": {"geo"},
        "datetime": {"datetime_range"},
    }.get(kind, set())


def is_tenant(info: Any) -> bool:
    """Qdrant's `tenant_optimization`: a keyword/uuid tenant or a numeric principal index."""
    params = info.params
    return bool(getattr(params, "is_tenant", None) or getattr(params, "is_principal", None))


def supports_match(info: Any) -> bool:
    kind = str(getattr(info.data_type, "value", info.data_type))
    if kind == "integer":
        return info.params is None or getattr(info.params, "lookup", None) is True
    return kind in ("keyword", "uuid", "bool")


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _from_values(values: list[Any]) -> list[str]:
    if not values:
        return []
    if all(isinstance(v, str) for v in values):
        found = ["uuid_match"] if all(_is_uuid(v) for v in values) else []
        return [*found, "keyword_match"]
    return ["int_match"]


def _needed(c: models.FieldCondition) -> list[str]:
    """The index kinds one of which serves the condition (Qdrant's inference)."""
    need: list[str] = []
    m = c.match
    if isinstance(m, models.MatchValue):
        v = m.value
        if isinstance(v, bool):
            need.append("bool_match")
        elif isinstance(v, str):
            need.extend(_from_values([v]))
        else:
            need.append("int_match")
    elif isinstance(m, models.MatchText | models.MatchTextAny):
        need.append("text")
    elif isinstance(m, models.MatchPhrase):
        need.append("text_phrase")
    elif isinstance(m, models.MatchPrefix):
        need.append("keyword_prefix")
    elif isinstance(m, models.MatchAny):
        need.extend(_from_values(list(m.any)))
    elif isinstance(m, models.MatchExcept):
        need.extend(_from_values(list(m.except_)))
    if c.range is not None:
        if isinstance(c.range, models.DatetimeRange):
            need.append("datetime_range")
        else:
            need.extend(["float_range", "int_range"])
    if c.geo_bounding_box or c.geo_radius or c.geo_polygon:
        need.append("geo")
    if c.values_count is not None or c.is_empty is not None or c.is_null is not None:
        need.extend(_ALL)
    return need


def _key_and_needs(c: Any) -> tuple[str, list[str]] | None:
    if isinstance(c, models.FieldCondition):
        return c.key, _needed(c)
    if isinstance(c, models.IsEmptyCondition):
        return c.is_empty.key, list(_ALL)
    if isinstance(c, models.IsNullCondition):
        return c.is_null.key, list(_ALL)
    return None


class Unindexed:
    """Collects keys a filter (or formula) uses without a suitable index."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.found: dict[str, list[str]] = {}

    def _note(self, key: str, need: list[str]) -> None:
        if not need:
            return
        info = self.schema.get(key)
        if info is not None and capabilities(info) & set(need):
            return
        self.found.setdefault(key, []).extend(need)

    def condition(self, prefix: str | None, c: Any) -> None:
        if isinstance(c, models.Filter):
            for sub in conditions(c):
                self.condition(prefix, sub)
            return
        if isinstance(c, models.NestedCondition):
            inner = _join(prefix, c.nested.key.removesuffix("[]") + "[]")
            for sub in conditions(as_filter(c.nested.filter) or models.Filter()):
                self.condition(inner, sub)
            return
        got = _key_and_needs(c)
        if got is not None:
            self._note(_join(prefix, got[0]), got[1])

    def expression(self, e: Any) -> None:
        """A formula's variables: payload keys need an integer or float index."""
        if isinstance(e, str):
            if not (e.startswith("$score") or e.startswith("$")):
                self._note(e, ["int_match", "int_range", "float_range"])
            return
        if isinstance(e, int | float) or e is None:
            return
        if isinstance(e, models.GeoDistance):
            self._note(e.geo_distance.to, ["geo"])
            return
        if isinstance(e, models.DatetimeKeyExpression):
            self._note(e.datetime_key, ["datetime_range"])
            return
        if _key_and_needs(e) is not None or isinstance(e, models.Filter | models.NestedCondition):
            self.condition(None, e)
            return
        if isinstance(e, models.BaseModel):
            for value in e.__dict__.values():
                for item in value if isinstance(value, list) else [value]:
                    self.expression(item)

    def first(self) -> tuple[str, str] | None:
        """(key, "a, b") of one unindexed key, its possible schemas sorted and unique."""
        for key, need in self.found.items():
            return key, ", ".join(sorted({_SCHEMA_NAME[n] for n in need}))
        return None


def one_unindexed_key(f: models.Filter, schema: dict[str, Any]) -> tuple[str, str] | None:
    """The first condition's key (in must, must_not, should, min_should order) that has no
    index of a kind it can use, with those kinds; None when every indexable key is indexed."""
    seen = Unindexed(schema)
    for c in conditions(f):
        seen.condition(None, c)
        if seen.found:
            break
    return seen.first()


def targeted_keys(f: models.Filter) -> Iterator[str]:
    """The key each condition of the filter targets (a nested one: its array key)."""
    for c in conditions(f):
        if isinstance(c, models.NestedCondition):
            yield c.nested.key.removesuffix("[]") + "[]"
        elif isinstance(c, models.Filter):
            yield from targeted_keys(c)
        else:
            got = _key_and_needs(c)
            if got is not None:
                yield got[0]


def _join(prefix: str | None, key: str) -> str:
    return key if prefix is None else f"{prefix}.{key}"
