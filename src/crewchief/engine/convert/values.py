"""The edge's refusal of a value, as bad input: shared by every converter and request builder."""

from __future__ import annotations

from typing import Any

from pydantic_core import PydanticSerializationError, to_jsonable_python

from crewchief.errors import InvalidInput

KEY_HINT = "Payload keys are paths like 'city', 'meta.level' or 'tags[]'"


def edge_values(where: str) -> _EdgeValues:
    """Turn qdrant_edge's refusal of a value into bad input, before anything is changed: an
    integer it cannot hold (negative where Qdrant's field is unsigned, or beyond 64 bits),
    or a payload key that is not a valid path."""
    return _EdgeValues(where)


class _EdgeValues:
    """edge_values' context (a class: a generator-based one costs 1 µs a query)."""

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if isinstance(exc, OverflowError):
            raise InvalidInput(
                f"{self.where}: an integer is out of range ({exc})",
                hint="Counts, sizes and limits are unsigned 64-bit integers (0 to 2^64-1)",
            ) from exc
        if isinstance(exc, ValueError):
            hint = KEY_HINT if "JSON path" in str(exc) else "Check the values against Qdrant's API"
            raise InvalidInput(f"{self.where}: {exc}", hint=hint) from exc


def json_payload(payload: Any, where: str) -> Any:
    """A payload as the JSON qdrant-client would send a server: datetimes and dates as ISO
    strings, UUIDs as strings (pydantic's `to_jsonable_python`, which qdrant-client uses).
    A value JSON cannot hold is bad input."""
    try:
        return to_jsonable_python(payload)
    except PydanticSerializationError as exc:
        raise InvalidInput(
            f"{where}: a payload value is not JSON ({exc})",
            hint="Payload values are JSON: strings, numbers, booleans, null, lists, objects "
            "(datetimes and UUIDs are sent as strings)",
        ) from exc
