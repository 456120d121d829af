"""Payment intents: creation (priced, signed for a contract), reads, state transitions."""
