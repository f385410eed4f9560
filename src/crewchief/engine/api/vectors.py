"""Vector writes: update_vectors (with `update_filter`) and delete_vectors, by ids or filter.

The vectors are converted and checked by `convert.points.edge_vector` (the one
conversion of a point's vectors) against the collection's config before anything is
written; a point the collection does not hold is Qdrant's 404, after the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qdrant_client import models

from crewchief.engine import strict_write, updates
from crewchief.engine.api.points import PointsAPI, vector_names


class VectorsAPI(PointsAPI):
    def update_vectors(
        self,
        collection_name: str,
        points: Sequence[models.PointVectors],
        wait: bool = True,
        ordering: Any = None,
        shard_key_selector: Any = None,
        update_filter: models.Filter | None = None,
        **kwargs: Any,
    ) -> models.UpdateResult:
        """Set the given vectors of existing points; the vectors not given stay as they are.
        With `update_filter`, only the points that match it are changed."""
        updates.check_update_vectors(points)
        col = self._collections.get(collection_name)
        strict_write.update_vectors(col, points, kwargs)
        update = updates.update_vectors(col.sizes, points, update_filter)
        return self._apply(collection_name, [[update]])[0]

    def delete_vectors(
        self,
        collection_name: str,
        vectors: Sequence[str],
        points: Any,
        wait: bool = True,
        ordering: Any = None,
        shard_key_selector: Any = None,
        **kwargs: Any,
    ) -> models.UpdateResult:
        """Remove the named vectors (`""`: the unnamed one) from the selected points."""
        updates.check_delete_vectors(vectors)
        col = self._collections.get(collection_name)
        strict_write.selected(col, *strict_write.selector(points), kwargs)
        group = updates.delete_vectors(vector_names(col), vectors, points)
        return self._apply(collection_name, [group])[0]
