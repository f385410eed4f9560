"""crewchief: the pit crew for Qdrant vector databases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crewchief.engine import Engine

__all__ = ["Engine"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """`from crewchief import Engine` imports the engine (and qdrant_client) only then."""
    if name == "Engine":
        from crewchief.engine import Engine

        return Engine
    raise AttributeError(f"module 'crewchief' has no attribute {name!r}")
