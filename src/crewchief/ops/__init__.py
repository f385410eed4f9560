"""The pit crew: operations written once against a `Target` (embedded or remote)."""
