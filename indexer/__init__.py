"""Sluice indexer: follows the contracts' events into PostgreSQL."""
