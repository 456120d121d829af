"""Sluice: a non-custodial, contract-enforced payment gateway (shared core)."""

__version__ = "0.1.0"
