"""`QdrantTarget`: a plain Qdrant server at a URL (not `crewchief serve`).

Qdrant has no conditional alias update and keeps no alias history, so here:
- compare-and-set is best effort: the aliases are checked just before the batch,
  and a writer in between goes unnoticed;
- the history is a small collection `crewchief_alias_history` on the server
  itself, so every operator sees the same history (crewchief's own collections,
  `crewchief_*`, are left out of `collection_names()`);
- indexes are built by the server by itself: `optimize` has nothing to ask.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from qdrant_client import models
from qdrant_client.http.exceptions import UnexpectedResponse

from crewchief.core.aliases import (
    AliasChange,
    AliasOp,
    check_expected,
    now_iso,
    plan_alias_changes,
)
from crewchief.target.remote import RemoteTarget

HISTORY_COLLECTION = "crewchief_alias_history"


class QdrantTarget(RemoteTarget):
    native_kind = "qdrant"  # Qdrant's own snapshot files

    def update_aliases(
        self, operations: Sequence[AliasOp], expect: dict[str, str | None] | None = None
    ) -> list[AliasChange]:
        """Check, then change, then record."""
        current = self.aliases()
        check_expected(current, expect)
        _new, changes = plan_alias_changes(current, set(self.collection_names()), operations)
        self.client.update_collection_aliases(list(operations))
        return self._record(changes)

    def _record(self, changes: list[tuple[str, str | None, str | None, str]]) -> list[AliasChange]:
        self._ensure_history_collection()
        seq = time.time_ns()
        recorded = [AliasChange(seq, now_iso(), a, o, n, op) for a, o, n, op in changes]
        if recorded:
            self.client.upsert(
                HISTORY_COLLECTION,
                [
                    models.PointStruct(id=str(uuid.uuid4()), vector=[1.0], payload=c.to_json())
                    for c in recorded
                ],
            )
        return recorded

    def _ensure_history_collection(self) -> None:
        if self.client.collection_exists(HISTORY_COLLECTION):
            return
        try:
            self.client.create_collection(
                HISTORY_COLLECTION,
                vectors_config=models.VectorParams(size=1, distance=models.Distance.DOT),
            )
        except UnexpectedResponse as exc:
            if exc.status_code != 409:  # 409: another operator made it meanwhile
                raise

    def alias_history(self, alias: str | None = None) -> list[AliasChange]:
        if not self.client.collection_exists(HISTORY_COLLECTION):
            return []
        flt = None
        if alias:
            flt = models.Filter(
                must=[models.FieldCondition(key="alias", match=models.MatchValue(value=alias))]
            )
        out: list[AliasChange] = []
        offset = None
        while True:
            page, offset = self.client.scroll(
                HISTORY_COLLECTION, scroll_filter=flt, limit=256, offset=offset
            )
            out.extend(AliasChange(**p.payload) for p in page if p.payload)
            if offset is None:
                break
        return sorted(out, key=lambda c: (c.seq, c.time))

    def optimize(self, collection: str) -> None:
        """A Qdrant server indexes by itself."""
