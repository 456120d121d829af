"""Idempotency keys: one POST's first response, replayed to retries for 24 h."""
