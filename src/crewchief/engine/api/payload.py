"""Payload writes: set_payload (with `key` paths), overwrite_payload, delete_payload, clear_payload.

By a list of ids or by a filter, as QdrantClient takes them; built by `engine.updates`
and applied by `PointsAPI._apply` (a missing point: Qdrant's 404, after the others).
"""

from __future__ import annotations

from typing import Any

from qdrant_client import models

from crewchief.engine import strict_write, updates
from crewchief.engine.api.points import PointsAPI
from crewchief.engine.strict_write import selector


class PayloadAPI(PointsAPI):
    def set_payload(
        self,
        collection_name: str,
        payload: models.Payload,
        points: Any,
        key: str | None = None,
        wait: bool = True,
        ordering: Any = None,
        shard_key_selector: Any = None,
        **kwargs: Any,
    ) -> models.UpdateResult:
        """Merge `payload` into each point's payload (under the path `key`, if given)."""
        strict_write.selected(
            self._collections.get(collection_name), *selector(points), kwargs, True
        )
        update = updates.set_payload(payload, points, key)
        return self._apply(collection_name, [[update]])[0]

    def overwrite_payload(
        self,
        collection_name: str,
        payload: models.Payload,
        points: Any,
        wait: bool = True,
        ordering: Any = None,
        shard_key_selector: Any = None,
        **kwargs: Any,
    ) -> models.UpdateResult:
        """Replace each point's whole payload with `payload`."""
        strict_write.selected(
            self._collections.get(collection_name), *selector(points), kwargs, True
        )
        update = updates.overwrite_payload(payload, points)
        return self._apply(collection_name, [[update]])[0]

    def delete_payload(
        self,
        collection_name: str,
        keys: list[str],
        points: Any,
        wait: bool = True,
        ordering: Any = None,
        shard_key_selector: Any = None,
        **kwargs: Any,
    ) -> models.UpdateResult:
        """Remove the payload `keys` (paths such as `meta.tags`) from each point."""
        strict_write.selected(self._collections.get(collection_name), *selector(points), kwargs)
        update = updates.delete_payload(keys, points)
        return self._apply(collection_name, [[update]])[0]

    def clear_payload(
        self,
        collection_name: str,
        points_selector: Any,
        wait: bool = True,
        ordering: Any = None,
        shard_key_selector: Any = None,
        **kwargs: Any,
    ) -> models.UpdateResult:
        """Remove every payload key of each point."""
        strict_write.selected(
            self._collections.get(collection_name), *selector(points_selector), kwargs
        )
        update = updates.clear_payload(points_selector)
        return self._apply(collection_name, [[update]])[0]
