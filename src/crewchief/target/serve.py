"""`ServeTarget`: a `crewchief serve` at a URL.

The server's engine does what the embedded target does in-process, reached over
crewchief's own routes:
- an alias batch with its compare-and-set is one request, `POST /crewchief/aliases`,
  checked and applied under the engine's lock (atomic, as embedded);
- the alias history is the engine's journal, `GET /crewchief/alias-history`;
- index builds are asked for, `POST /crewchief/collections/<name>/optimize`.
"""

from __future__ import annotations

from collections.abc import Sequence

from crewchief.core.aliases import AliasChange, AliasOp
from crewchief.target.remote import RemoteTarget, raise_for


def is_crewchief_serve(root_text: str) -> bool:
    """Whether a server's `GET /` answer is crewchief serve's (its title says so)."""
    return "crewchief" in root_text


class ServeTarget(RemoteTarget):
    native_kind = "crewchief-edge"  # its engine's snapshots, as embedded

    def update_aliases(
        self, operations: Sequence[AliasOp], expect: dict[str, str | None] | None = None
    ) -> list[AliasChange]:
        """One request, checked and applied under the engine's lock."""
        body = {
            "actions": [op.model_dump(mode="json", exclude_none=True) for op in operations],
            "expect": expect or {},
        }
        resp = self.http.post("/crewchief/aliases", json=body)
        raise_for(resp, hint="Look at the aliases now: crewchief alias list, alias history")
        return [AliasChange(**rec) for rec in resp.json()["result"]]

    def alias_history(self, alias: str | None = None) -> list[AliasChange]:
        params = {"alias": alias} if alias else {}
        resp = self.http.get("/crewchief/alias-history", params=params)
        raise_for(resp)
        return [AliasChange(**rec) for rec in resp.json()["result"]]

    def optimize(self, collection: str) -> None:
        """The server's engine builds indexes when asked (a plain Qdrant does it by itself)."""
        raise_for(self.http.post(f"/crewchief/collections/{collection}/optimize"))
