"""A local Solana cluster for development and tests: LiteSVM behind Solana's JSON-RPC (see server)."""
