"""crewchief: the pit crew for Qdrant vector databases."""

from crewchief.engine import Engine

__all__ = ["Engine"]
__version__ = "0.1.0"
