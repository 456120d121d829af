"""Indexer-backed reports (payments, balances, summary, refunds) and reconciliation against the chain."""
