"""Dashboard and platform tests (a package, so that its conftest does not replace tests/api/conftest.py)."""
