"""`crewchief serve`: Qdrant's REST API over the embedded engine.

from crewchief.server import create_app, run_server
"""

from crewchief.server.app import create_app
from crewchief.server.runner import run_server

__all__ = ["create_app", "run_server"]
