"""Filters: `models.Filter` (or its JSON form) to `qdrant_edge.Filter`, condition by condition.

Pure functions, no I/O.  Whatever the edge cannot express raises
`crewchief.errors.InvalidInput` with a hint naming where in the filter it is.

Known gaps of the edge's Python bindings (qdrant-edge-py 0.9.0) and how they are bridged:

* `qdrant_edge.MatchValue(True)` stores the integer 1 (a Python bool is an int), so it
  would match the payload value `1` and never `true`.  Booleans are handed over as
  `numpy.bool_`, which the binding extracts as a real boolean.
* `qdrant_edge.SliceCondition` exists at runtime but not in the type stubs; it is looked
  up dynamically and reported as unsupported if a future build drops it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import qdrant_edge as qe
from qdrant_client import models

from crewchief.engine.convert.ids import edge_point_id
from crewchief.engine.convert.values import edge_values
from crewchief.engine.convert.vectors import validation_error
from crewchief.errors import InvalidInput

if TYPE_CHECKING:
    from qdrant_edge import ConditionType, MatchType

_FILTER_HINT = "Build filters from qdrant_client.models (Filter, FieldCondition, ...)"
_INT64 = range(-(2**63), 2**63)


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
        if ms.min_count < 1:  # Qdrant 1.19: 0 would match every point with no conditions
            raise validation_error(
                f"{where}.min_should.min_count",
                "min_count must be greater than 0",
                "How many of the conditions must match: 1 or more",
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
    """The conditions of a clause; an empty list is no clause, as Qdrant reads a gRPC
    filter's empty lists (the edge takes `should=[]` in a nested filter as never true)."""
    if value is None or (isinstance(value, list | tuple) and not value):
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
