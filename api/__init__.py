"""Sluice merchant API (FastAPI). HTTP only: it validates, authorises and calls sluice/ services."""
