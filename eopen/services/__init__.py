"""Business rules. Services flush, never commit: the route (or CLI command) owns the transaction."""
