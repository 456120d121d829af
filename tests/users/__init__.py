"""Unit tests of sluice.users (no database)."""
