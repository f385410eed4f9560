"""The pit wall: a web dashboard for health, aliases, snapshots and backups.

Served by `crewchief serve` at `/dashboard` (over its engine) and by
`crewchief dashboard --target URL` (over a remote Qdrant).  Everything it
shows and does goes through the ops layer and a `Target`; see docs/dashboard.md.
`crewchief.dashboard.auth` (the key rules) is imported by the server, not here:
it builds on `crewchief.server`, which imports this package.
"""

from __future__ import annotations

from crewchief.dashboard.app import Dashboard, standalone_app

__all__ = ["Dashboard", "standalone_app"]
