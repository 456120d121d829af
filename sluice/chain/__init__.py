"""Chain-facing helpers: EIP-712 intents, networks, deployment."""
