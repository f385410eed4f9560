"""The embedded engine: Qdrant Edge shards plus a catalog, aliases and snapshots."""

from crewchief.engine.engine import Engine

__all__ = ["Engine"]
