"""Scheduled jobs run inside `sluice worker` (APScheduler); each is safe on several workers at once."""
