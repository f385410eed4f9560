"""One interface over "an embedded data directory" and "a Qdrant server at a URL".

The ops layer (health, aliases, deploy, gc, backups) is written once against
`Target` (`base.py`).  `target.client` speaks `QdrantClient`'s API in every case
(`crewchief.core.client.QdrantAPI`: the embedded `Engine` mirrors it); the few
things qdrant-client has no call for (alias history, compare-and-set, snapshot
download/upload, explicit index builds, Prometheus metrics) are Target methods,
implemented by each kind:

- `EmbeddedTarget` (`embedded.py`): a data directory, through the engine in this
  process; alias batches atomic, history in the engine's `alias-history.jsonl`;
- `ServeTarget` (`serve.py`): `crewchief serve` at a URL; the same engine over
  crewchief's routes (`POST /crewchief/aliases` checks and applies under one lock,
  `GET /crewchief/alias-history` reads the journal);
- `QdrantTarget` (`qdrant.py`): any other Qdrant server; compare-and-set checked
  just before the batch (a writer in between goes unnoticed), history in a
  collection `crewchief_alias_history` on the server, so every operator sees it.

Both server kinds share `RemoteTarget` (`remote.py`: qdrant-client plus an HTTP
client for snapshot files and /metrics).  `open_target` (`open.py`) picks the
kind once, when connecting.
"""

from crewchief.target.base import INTERNAL_PREFIX, Target
from crewchief.target.embedded import EmbeddedTarget
from crewchief.target.open import DEFAULT_TARGET, connect, open_target
from crewchief.target.qdrant import HISTORY_COLLECTION, QdrantTarget
from crewchief.target.remote import RemoteTarget, as_crewchief_error, http_error
from crewchief.target.serve import ServeTarget

__all__ = [
    "DEFAULT_TARGET",
    "HISTORY_COLLECTION",
    "INTERNAL_PREFIX",
    "EmbeddedTarget",
    "QdrantTarget",
    "RemoteTarget",
    "ServeTarget",
    "Target",
    "as_crewchief_error",
    "connect",
    "http_error",
    "open_target",
]
