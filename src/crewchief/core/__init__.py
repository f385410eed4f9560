"""Rules every layer shares: pure functions and types over Qdrant's models, no engine or server."""
