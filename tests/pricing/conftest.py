"""Pricing fixtures: the stand-in CoinGecko server and a clock that moves only when told to."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pricing_fakes import FakeClock, PriceServer


@pytest.fixture
def price_server() -> Iterator[PriceServer]:
    server = PriceServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clock() -> FakeClock:
    # Whole seconds, so that CoinGecko's integer `last_updated_at` round-trips exactly.
    return FakeClock(datetime.now(UTC).replace(microsecond=0))
