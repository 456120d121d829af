"""Webhook tests (a package, so that its conftest does not replace tests/api/conftest.py as `conftest`)."""
