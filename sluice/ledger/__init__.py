"""The chain-neutral ledger of observed payments (see sluice.ledger.entries)."""
