"""Point ids between `qdrant_client` (int or UUID text) and the edge (int or `uuid.UUID`)."""

from __future__ import annotations

import uuid
from typing import Any

from qdrant_client import models

from crewchief.errors import EngineFailure, InvalidInput

_MAX_INT_ID = 2**64 - 1
_ID_HINT = (
    "Point ids are unsigned integers or UUIDs, e.g. 42 or '5c56c793-69f3-4fbf-87e6-c4bf54c28c26'"
)


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
    if type(edge_id) is int:  # the common case first
        return edge_id
    if isinstance(edge_id, int) and not isinstance(edge_id, bool):
        return int(edge_id)
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


def point_ids(selector: Any) -> list[Any] | None:
    """The ids of a points selector, or None when it selects by filter."""
    if isinstance(selector, models.PointIdsList):
        return [edge_point_id(i) for i in selector.points]
    if isinstance(selector, list | tuple):
        return [edge_point_id(i) for i in selector]
    return None
