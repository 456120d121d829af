"""One database connection, fed from several places: statements run one at a time, in submission order.

A batch's work is part PostgreSQL (locks, inserts, updates) and part Python (rows, the intents' new
state, the outbox payloads). Sent one after the other, each side waits for the other half the time.
Queued on a `Lane`, the next statements are already waiting while Python builds the payloads of the
previous chunk, so both cores work at once, still in one transaction on one connection.

One worker task sends the statements: when one finishes it sends the next at the first turn of the
event loop. Long computations belong in a worker thread (`asyncio.to_thread`), so that the loop stays free.

A statement whose predecessor failed is not run (its future raises `SkippedError`); leaving the
`async with` block waits for every statement and raises the first real failure. On an error the
statements not yet sent are dropped and the one running is let finish, so the caller's rollback never
meets a connection with a statement in flight.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")


class SkippedError(RuntimeError):
    """Raised by a statement not run because one submitted before it failed."""


class Lane:
    def __init__(self) -> None:
        self._queue: deque[tuple[Callable[[], Awaitable[Any]], asyncio.Future[Any]]] = deque()
        self._futures: list[asyncio.Future[Any]] = []
        self._wakeup = asyncio.Event()
        self._closing = False
        self._failed = False
        self._worker: asyncio.Task[None] | None = None

    def submit(self, work: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        """Queues `work` (a function returning the statement's awaitable) behind everything before it."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        self._futures.append(future)
        self._wakeup.set()
        return future

    async def _run(self) -> None:
        while True:
            while self._queue:
                work, future = self._queue.popleft()
                if self._failed or future.cancelled():
                    if not future.done():
                        future.set_exception(SkippedError("an earlier statement of this transaction failed"))
                    continue
                try:
                    result = await work()
                except Exception as exc:  # kept for the waiter and __aexit__
                    self._failed = True
                    if not future.done():
                        future.set_exception(exc)
                else:
                    if not future.done():
                        future.set_result(result)
            if self._closing:
                return
            self._wakeup.clear()
            await self._wakeup.wait()

    async def __aenter__(self) -> Lane:
        self._worker = asyncio.ensure_future(self._run())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None:
            self._failed = True  # drop what is queued; the statement running finishes
        self._closing = True
        self._wakeup.set()
        assert self._worker is not None
        await asyncio.wait([self._worker])
        failure = self._first_failure()
        if failure is not None and (exc is None or isinstance(exc, SkippedError)):
            raise failure from exc
        # Otherwise the caller's own error (or cancellation) propagates.

    def _first_failure(self) -> BaseException | None:
        """The first statement error that is not the consequence of an earlier one (all are retrieved)."""
        first = None
        for future in self._futures:
            if not future.done() or future.cancelled():
                continue
            error = future.exception()
            if first is None and error is not None and not isinstance(error, SkippedError):
                first = error
        return first
