"""The audit log: who changed what, from where, in the same transaction as the change."""
