"""Payload selectors (`with_payload`) and payload key paths, checked by the edge itself.

The payload operations to come (set_payload, overwrite_payload, delete_payload with
`key` paths) convert their keys here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import qdrant_edge as qe
from qdrant_client import models

from crewchief.engine.convert.values import KEY_HINT, edge_values
from crewchief.errors import InvalidInput

if TYPE_CHECKING:
    from qdrant_edge import WithPayloadType


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
        raise InvalidInput("with_payload keys must be strings", hint=KEY_HINT)
    with edge_values("with_payload"):
        qe.PayloadSelector.Include(list(keys))  # the edge's own check of each key path
    return list(keys)


def check_payload_key(key: str, where: str) -> str:
    """`key` if it is a valid payload path, else InvalidInput."""
    with edge_values(where):
        qe.PayloadSelector.Include([key])
    return key
