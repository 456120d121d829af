"""Merchants and API keys."""
