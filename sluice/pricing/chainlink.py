"""Chainlink price feeds (AggregatorV3Interface) read over JSON-RPC, with the checks a feed needs.

A feed answers whatever it last stored, so an answer is refused when it is older than the feed's
heartbeat, not positive, from an incomplete round, or dated in the future.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import structlog
from eth_utils import is_address, to_checksum_address
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.exceptions import Web3Exception

from sluice.errors import (
    InvalidPriceError,
    PricingUnavailableError,
    SluiceValueError,
    StalePriceError,
    UnsupportedPairError,
)
from sluice.pricing.base import Clock, Rate, normalize_pair, utcnow

log = structlog.get_logger(__name__)

#: The part of AggregatorV3Interface Sluice reads.
AGGREGATOR_V3_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "decimals",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint8"}],
    },
    {
        "type": "function",
        "name": "description",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "string"}],
    },
    {
        "type": "function",
        "name": "latestRoundData",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [
            {"name": "roundId", "type": "uint80"},
            {"name": "answer", "type": "int256"},
            {"name": "startedAt", "type": "uint256"},
            {"name": "updatedAt", "type": "uint256"},
            {"name": "answeredInRound", "type": "uint80"},
        ],
    },
]

#: Errors a JSON-RPC call can end in when the node or the feed cannot answer.
_RPC_ERRORS = (Web3Exception, aiohttp.ClientError, TimeoutError, OSError)


@dataclass(frozen=True)
class ChainlinkFeed:
    """One feed: the pair it prices, its (proxy) address, and how old its answer may be.

    `heartbeat` is the feed's documented maximum update interval (1 h for ETH/USD on Ethereum,
    24 h for most stablecoin feeds); an answer older than that means the feed has stopped.
    """

    base: str
    quote: str
    address: str
    heartbeat: timedelta = timedelta(hours=1)
    pair: tuple[str, str] = field(init=False)

    def __post_init__(self) -> None:
        pair = normalize_pair(self.base, self.quote)
        object.__setattr__(self, "pair", pair)
        object.__setattr__(self, "base", pair[0])
        object.__setattr__(self, "quote", pair[1])
        if not is_address(self.address):
            raise SluiceValueError(f"Chainlink feed {pair[0]}/{pair[1]}: {self.address!r} is not an address")
        object.__setattr__(self, "address", to_checksum_address(self.address))
        if self.heartbeat <= timedelta(0):
            raise SluiceValueError(f"Chainlink feed {pair[0]}/{pair[1]}: heartbeat must be positive")


class ChainlinkPriceSource:
    """Prices from Chainlink feeds on one EVM network."""

    name = "chainlink"

    def __init__(
        self,
        rpc: str | AsyncWeb3[Any],
        feeds: Iterable[ChainlinkFeed],
        *,
        chain_id: int | None = None,
        timeout: float = 10.0,
        max_future_skew: timedelta = timedelta(minutes=5),
        clock: Clock = utcnow,
    ) -> None:
        if isinstance(rpc, str):
            provider = AsyncHTTPProvider(
                rpc,
                request_kwargs={"timeout": aiohttp.ClientTimeout(total=timeout)},
                # Fail fast: a quote is interactive, and a composite source has a fallback.
                exception_retry_configuration=None,
            )
            self.w3: AsyncWeb3[Any] = AsyncWeb3(provider)
        else:
            self.w3 = rpc
        self.feeds: dict[tuple[str, str], ChainlinkFeed] = {}
        for feed in feeds:
            if feed.pair in self.feeds:
                raise SluiceValueError(f"two Chainlink feeds configured for {feed.base}/{feed.quote}")
            self.feeds[feed.pair] = feed
        self.chain_id = chain_id
        self.timeout = timeout
        self.max_future_skew = max_future_skew
        self._clock = clock
        self._chain_checked = False
        self._decimals: dict[str, int] = {}

    async def aclose(self) -> None:
        """Closes the RPC provider's HTTP sessions."""
        disconnect = getattr(self.w3.provider, "disconnect", None)
        if disconnect is not None:
            await disconnect()

    async def __aenter__(self) -> ChainlinkPriceSource:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def rate(self, base: str, quote: str) -> Rate:
        pair = normalize_pair(base, quote)
        feed = self.feeds.get(pair)
        if feed is None:
            raise UnsupportedPairError(f"no Chainlink feed configured for {pair[0]}/{pair[1]}")
        try:
            return await asyncio.wait_for(self._read(feed), timeout=self.timeout)
        except TimeoutError:
            raise PricingUnavailableError(
                f"Chainlink feed {feed.base}/{feed.quote} at {feed.address} did not answer "
                f"within {self.timeout} s"
            ) from None

    async def _read(self, feed: ChainlinkFeed) -> Rate:
        label = f"Chainlink feed {feed.base}/{feed.quote} at {feed.address}"
        contract = self.w3.eth.contract(address=feed.address, abi=AGGREGATOR_V3_ABI)  # type: ignore[call-overload]
        try:
            await self._check_chain()
            decimals = self._decimals.get(feed.address)
            if decimals is None:
                decimals = int(await contract.functions.decimals().call())
                self._decimals[feed.address] = decimals
            (
                round_id,
                answer,
                _started,
                updated_at,
                answered_in,
            ) = await contract.functions.latestRoundData().call()
        except _RPC_ERRORS as exc:
            log.warning("pricing.chainlink.rpc_failed", feed=feed.address, error=str(exc))
            raise PricingUnavailableError(f"{label}: RPC call failed ({type(exc).__name__}: {exc})") from exc
        return self._validate(feed, label, decimals, round_id, answer, updated_at, answered_in)

    async def _check_chain(self) -> None:
        """Feed addresses differ per network: refuse to read from an RPC on another chain."""
        if self.chain_id is None or self._chain_checked:
            return
        actual = int(await self.w3.eth.chain_id)
        if actual != self.chain_id:
            raise PricingUnavailableError(
                f"Chainlink RPC is on chain {actual}, but the feeds are configured for chain {self.chain_id}"
            )
        self._chain_checked = True

    def _validate(
        self,
        feed: ChainlinkFeed,
        label: str,
        decimals: int,
        round_id: int,
        answer: int,
        updated_at: int,
        answered_in: int,
    ) -> Rate:
        if round_id == 0 or updated_at == 0 or answered_in < round_id:
            raise InvalidPriceError(
                f"{label}: round {round_id} is incomplete "
                f"(updatedAt={updated_at}, answeredInRound={answered_in})"
            )
        if answer <= 0:
            raise InvalidPriceError(f"{label}: answer {answer} is not positive")
        if decimals > 77:
            raise InvalidPriceError(f"{label}: implausible decimals {decimals}")
        now = self._clock()
        observed = datetime.fromtimestamp(updated_at, UTC)
        if observed - now > self.max_future_skew:
            raise InvalidPriceError(f"{label}: answer dated {observed.isoformat()}, in the future")
        if now - observed > feed.heartbeat:
            raise StalePriceError(
                f"{label}: answer last updated {observed.isoformat()}, "
                f"older than its heartbeat of {feed.heartbeat.total_seconds():.0f} s"
            )
        # Exact: a Decimal built from a string is never rounded to the context precision.
        value = Decimal(f"{answer}E-{decimals}")
        return Rate(
            base=feed.base, quote=feed.quote, value=value, source=self.name, observed_at=min(observed, now)
        )
