"""Qdrant's struct-level rules on REST bodies (`#[validate(schema(...))]`), by qdrant-client model.

Qdrant's validator reports such a rule under the struct's path and `__all__`
(`internal.filter.must[0].__all__: ...`), with the rule's message; a rule made with a
code and no message is written `Validation error: CODE [{}]` (the validator crate's
display of it).  Each rule answers its message, or None when the value keeps it;
`bodies.range_errors` walks the body and asks the rules of each model it meets; a rule
raises `Malformed` for what serde refuses before any rule runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Rule = Callable[[Any], str | None]


class Malformed(Exception):
    """A value serde would not have deserialised at all: Qdrant's 400 `Format error`."""


def _coded(code: str) -> str:
    return f"Validation error: {code} [{{}}]"


def _feedback(value: Any) -> str | None:
    """lib/api/src/rest/validate.rs `validate_relevance_feedback_input`."""
    return None if value.feedback else "feedback elements must be non-empty"


def _field_condition(value: Any) -> str | None:
    """lib/segment/src/types.rs `validate_field_condition`: a key alone matches nothing."""
    fields = (name for name in type(value).model_fields if name != "key")
    if any(getattr(value, name) is not None for name in fields):
        return None
    return _coded("At least one field condition must be specified")


def _slice(value: Any) -> str | None:
    """`validate_slice_condition`; a zero `total` fails deserialisation first (NonZeroU32)."""
    total, index = value.slice.total, value.slice.index
    if total == 0:
        raise Malformed("invalid value: integer `0`, expected a nonzero u32")
    if index < total:
        return None
    return _coded("Slice index must be less than the total number of slices")


SCHEMA_RULES: dict[str, Rule] = {
    "RelevanceFeedbackInput": _feedback,
    "FieldCondition": _field_condition,
    "SliceCondition": _slice,
}


def schema_errors(value: Any, path: str) -> list[str]:
    """The struct-level rule `value` (a parsed model at `path`) breaks, as Qdrant words it."""
    rule = SCHEMA_RULES.get(type(value).__name__)
    message = rule(value) if rule is not None else None
    if message is None:
        return []
    return [f"{path}.__all__: {message}" if path else f"__all__: {message}"]
