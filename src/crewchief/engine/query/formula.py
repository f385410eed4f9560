"""Score boosting: `models.FormulaQuery` (expressions, decays, `defaults`) as an Edge `Formula`.

Every expression Qdrant 1.19 has maps onto one `qdrant_edge.Expression`: constants,
variables (`$score`, `$score[i]`, payload keys), conditions (any filter condition, scoring
1 or 0), geo distance, datetimes, arithmetic and the three decay functions.  Their
defaults (decay target 0, scale 1, midpoint 0.5; division by zero) are the edge's own,
which are Qdrant's, and so are its checks (a decay's scale and midpoint, an empty max);
Qdrant's body validator's check of `defaults` is made here, with its wording.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from crewchief.engine.convert.filters import edge_filter
from crewchief.engine.convert.vectors import validation_error
from crewchief.errors import InvalidInput

_CONDITIONS = (
    models.FieldCondition,
    models.IsEmptyCondition,
    models.IsNullCondition,
    models.HasIdCondition,
    models.HasVectorCondition,
    models.NestedCondition,
)
_UNARY = {
    "neg": edge.Expression.Neg,
    "abs": edge.Expression.Abs,
    "sqrt": edge.Expression.Sqrt,
    "exp": edge.Expression.Exp,
    "log10": edge.Expression.Log10,
    "ln": edge.Expression.Ln,
    "acosh": edge.Expression.Acosh,
}
_MANY = {
    "mult": edge.Expression.Mult,
    "sum": edge.Expression.Sum,
    "max": edge.Expression.Max,
    "min": edge.Expression.Min,
}
_DECAYS: dict[type, tuple[str, edge.DecayKind]] = {
    models.LinDecayExpression: ("lin_decay", edge.DecayKind.Lin),
    models.ExpDecayExpression: ("exp_decay", edge.DecayKind.Exp),
    models.GaussDecayExpression: ("gauss_decay", edge.DecayKind.Gauss),
}
_HINT = "See https://qdrant.tech/documentation/concepts/hybrid-queries/#score-boosting"


def edge_formula(query: models.FormulaQuery) -> edge.Formula:
    defaults = dict(query.defaults or {})
    for key, value in defaults.items():
        if key.startswith("$score") and not isinstance(value, int | float):
            raise validation_error("defaults", "Score default must be a number", _HINT)
    return edge.Formula(expression(query.formula), defaults=defaults)


def expression(e: Any) -> edge.Expression:
    """One expression node (and its children) for the edge."""
    if isinstance(e, bool):
        raise InvalidInput(f"Wrong input: {e!r} is not an expression", hint=_HINT)
    if isinstance(e, int | float):
        return edge.Expression.Constant(float(e))
    if isinstance(e, str):
        return edge.Expression.Variable(e)
    if isinstance(e, models.Filter):
        flt = edge_filter(e)
        assert flt is not None
        return edge.Expression.Condition(flt)
    if isinstance(e, _CONDITIONS):
        flt = edge_filter(models.Filter(must=[e]))
        assert flt is not None
        return edge.Expression.Condition(flt)
    if isinstance(e, models.GeoDistance):
        p = e.geo_distance
        return edge.Expression.GeoDistance(edge.GeoPoint(lon=p.origin.lon, lat=p.origin.lat), p.to)
    if isinstance(e, models.DatetimeExpression):
        return edge.Expression.Datetime(_datetime(e.datetime))
    if isinstance(e, models.DatetimeKeyExpression):
        return edge.Expression.DatetimeKey(e.datetime_key)
    if isinstance(e, models.DivExpression):
        d = e.div
        return edge.Expression.Div(expression(d.left), expression(d.right), d.by_zero_default)
    if isinstance(e, models.PowExpression):
        return edge.Expression.Pow(expression(e.pow.base), expression(e.pow.exponent))
    decay = _DECAYS.get(type(e))
    if decay is not None:
        return _decay(getattr(e, decay[0]), decay[1])
    if isinstance(e, models.BaseModel):
        field = next(iter(type(e).model_fields), None)
        if field in _UNARY:
            return _UNARY[field](expression(getattr(e, field)))
        if field in _MANY:
            return _MANY[field]([expression(x) for x in getattr(e, field)])
    raise InvalidInput(
        f"Wrong input: unsupported formula expression {type(e).__name__}",
        hint=_HINT,
    )


def _decay(p: models.DecayParamsExpression, kind: edge.DecayKind) -> edge.Expression:
    target = expression(p.target) if p.target is not None else None
    return edge.Expression.Decay(
        kind, expression(p.x), target=target, midpoint=p.midpoint, scale=p.scale
    )


def _datetime(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)
