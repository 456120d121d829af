"""Adaptive eth_getLogs block ranges: shrink on refusals and busy ranges, grow when quiet."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AdaptiveRange:
    """Current range size in blocks, between 1 and `maximum`, steered towards `target_events` per batch."""

    maximum: int
    target_events: int
    size: int = 0

    #: Where a range starts: small, so that a backfill's first batch is fetched and decoded quickly and
    #: the database starts at once (the batches after it are fetched while the one before commits);
    #: it doubles from here while batches stay small, so a sparse backfill soon reaches the max.
    initial: int = 250

    def __post_init__(self) -> None:
        if self.size <= 0:
            self.size = min(self.maximum, self.initial)

    def shrink(self) -> int:
        """After "too many results"/time-out/response-size errors: halve (never below one block)."""
        self.size = max(1, self.size // 2)
        return self.size

    def observe(self, events: int, blocks: int, seconds: float) -> None:
        """After a successful fetch of `blocks` blocks holding `events` events."""
        if blocks < self.size:
            return  # capped by the head: says nothing about the range
        if events > self.target_events * 2:
            self.size = max(1, blocks * self.target_events // events)
        elif events < self.target_events // 2 and seconds < 2.0:
            self.size = min(self.maximum, self.size * 2)
