"""Backfill progress: a rich progress bar on a terminal, periodic structlog lines otherwise."""

from __future__ import annotations

import sys
import time
from types import TracebackType

import structlog
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

log = structlog.get_logger(__name__)

#: Below this many blocks behind the head there is nothing worth a progress bar.
BACKFILL_THRESHOLD = 500


class ProgressReporter:
    """Tracks blocks and events per second for one network and shows them."""

    def __init__(self, network: str, *, interval: float = 5.0, tty: bool | None = None) -> None:
        self.network = network
        self.interval = interval
        self.tty = sys.stderr.isatty() if tty is None else tty
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._start_block: int | None = None
        self._started = time.monotonic()
        self._last_log = 0.0
        self._events = 0
        self._blocks = 0

    def __enter__(self) -> ProgressReporter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def update(self, block: int, head: int, events: int, blocks: int) -> None:
        """Called after each committed batch."""
        now = time.monotonic()
        self._events += events
        self._blocks += blocks
        behind = head - block
        if self._start_block is None:
            self._start_block = block - blocks
        elapsed = max(now - self._started, 1e-6)
        blocks_per_s = self._blocks / elapsed
        events_per_s = self._events / elapsed
        if self.tty and behind > BACKFILL_THRESHOLD and self._progress is None:
            self._progress = Progress(
                TextColumn("[bold]{task.fields[network]}[/]"),
                BarColumn(),
                TextColumn("{task.completed:,.0f}/{task.total:,.0f} blocks"),
                TextColumn("{task.fields[bps]:,.0f} blocks/s {task.fields[eps]:,.0f} events/s"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._progress.add_task(
                "backfill", total=head - self._start_block, network=self.network, bps=0.0, eps=0.0
            )
            self._progress.start()
        if self._progress is not None and self._task is not None:
            assert self._start_block is not None
            self._progress.update(
                self._task,
                completed=block - self._start_block,
                total=max(head - self._start_block, 1),
                bps=blocks_per_s,
                eps=events_per_s,
            )
            if behind <= 0:
                self.close()
            return
        if now - self._last_log >= self.interval and (behind > 0 or self._events):
            self._last_log = now
            eta = behind / blocks_per_s if blocks_per_s > 0 else None
            log.info(
                "indexer_progress",
                network=self.network,
                block=block,
                head=head,
                behind=behind,
                blocks_per_s=round(blocks_per_s, 1),
                events_per_s=round(events_per_s, 1),
                eta_s=None if eta is None else round(eta, 1),
            )
