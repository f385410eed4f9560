"""The pit wall: a web dashboard for health, aliases, snapshots and backups.

Served by `crewchief serve` at `/dashboard` (over its engine) and by
`crewchief dashboard --target URL` (over a remote Qdrant).  Everything it
shows and does goes through the ops layer and a `Target`; see docs/dashboard.md.
Its key rules (`crewchief.dashboard.auth`) build on `crewchief.core.keys`; the
server applies them.  Nothing in this package imports `crewchief.server`.
"""

from __future__ import annotations

from crewchief.dashboard.app import Dashboard, standalone_app

__all__ = ["Dashboard", "standalone_app"]
