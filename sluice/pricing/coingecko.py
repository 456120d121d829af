"""CoinGecko `/simple/price` client: Decimal parsing, a TTL cache, and care with rate limits.

CoinGecko refreshes prices about once a minute and rate-limits free keys hard, so every answer is
cached for `ttl`; when CoinGecko is down or says 429, a cached price younger than `max_stale` is
served instead, and after a 429 no request is sent until its Retry-After has passed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from types import MappingProxyType
from typing import Any, Literal, NoReturn

import httpx
import structlog
from pydantic import SecretStr

from sluice.errors import (
    InvalidPriceError,
    PricingUnavailableError,
    SluiceValueError,
    StalePriceError,
    UnsupportedPairError,
)
from sluice.pricing.base import Clock, Rate, normalize_pair, utcnow

log = structlog.get_logger(__name__)

PUBLIC_BASE_URL = "https://api.coingecko.com/api/v3"
PRO_BASE_URL = "https://pro-api.coingecko.com/api/v3"

#: Asset symbol -> CoinGecko coin id (symbols are ambiguous on CoinGecko; ids are not).
DEFAULT_COIN_IDS: MappingProxyType[str, str] = MappingProxyType(
    {
        "ETH": "ethereum",
        "BNB": "binancecoin",
        "MATIC": "polygon-ecosystem-token",
        "POL": "polygon-ecosystem-token",
        "USDC": "usd-coin",
        "USDT": "tether",
        "DAI": "dai",
        "EURC": "euro-coin",
        "PYUSD": "paypal-usd",
        "BTC": "bitcoin",
        "SOL": "solana",
        "ALGO": "algorand",
        "SUI": "sui",
        "DOT": "polkadot",
        "TAO": "bittensor",
        "STX": "blockstack",
        # sBTC is pegged 1:1 to BTC (Stacks rail; docs/stacks.md).
        "SBTC": "bitcoin",
    }
)

_API_KEY_HEADERS = {"demo": "x-cg-demo-api-key", "pro": "x-cg-pro-api-key"}


@dataclass(frozen=True)
class _Entry:
    rate: Rate
    fetched_at: datetime


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} in JSON")


def parse_json(text: str) -> Any:
    """JSON with every number as Decimal or int (never float) and NaN/Infinity refused."""
    return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)


class CoinGeckoPriceSource:
    """Prices from CoinGecko's simple price endpoint (public, demo-key or pro-key)."""

    name = "coingecko"

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | SecretStr | None = None,
        plan: Literal["demo", "pro"] = "demo",
        coin_ids: Mapping[str, str] | None = None,
        ttl: timedelta = timedelta(seconds=60),
        max_stale: timedelta = timedelta(minutes=10),
        timeout: float = 5.0,
        failure_backoff: timedelta = timedelta(seconds=5),
        max_retry_after: timedelta = timedelta(hours=1),
        client: httpx.AsyncClient | None = None,
        clock: Clock = utcnow,
    ) -> None:
        if plan not in _API_KEY_HEADERS:
            raise SluiceValueError(f"CoinGecko plan must be 'demo' or 'pro', got {plan!r}")
        if ttl > max_stale:
            raise SluiceValueError(f"CoinGecko ttl ({ttl}) must not exceed max_stale ({max_stale})")
        self.base_url = (base_url or (PRO_BASE_URL if plan == "pro" else PUBLIC_BASE_URL)).rstrip("/")
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self._headers = {"accept": "application/json"}
        if key:
            self._headers[_API_KEY_HEADERS[plan]] = key
        self.coin_ids = {s.upper(): i for s, i in (coin_ids or DEFAULT_COIN_IDS).items()}
        self.ttl = ttl
        self.max_stale = max_stale
        self.timeout = timeout
        self.failure_backoff = failure_backoff
        self.max_retry_after = max_retry_after
        self._client = client
        self._owns_client = client is None
        self._clock = clock
        self._cache: dict[tuple[str, str], _Entry] = {}
        self._blocked_until: datetime | None = None
        self._block_reason = ""
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> CoinGeckoPriceSource:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Closes the HTTP client if this source created it."""
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None

    def coin_id(self, symbol: str) -> str:
        try:
            return self.coin_ids[symbol.upper()]
        except KeyError:
            raise UnsupportedPairError(
                f"CoinGecko has no coin id configured for {symbol!r}; "
                f"known: {', '.join(sorted(self.coin_ids))}",
                param="asset",
            ) from None

    async def rate(self, base: str, quote: str) -> Rate:
        pair = normalize_pair(base, quote)
        return (await self.rates([pair[0]], [pair[1]]))[pair]

    async def rates(self, bases: Iterable[str], quotes: Iterable[str]) -> dict[tuple[str, str], Rate]:
        """Every base in every quote currency, fetched in one request for whatever is not cached."""
        pairs = sorted({normalize_pair(b, q) for b in bases for q in quotes})
        for base, _ in pairs:
            self.coin_id(base)
        found = self._fresh(pairs)
        if len(found) == len(pairs):
            return found
        async with self._lock:  # one request for concurrent misses; the others then find it cached
            found = self._fresh(pairs)
            missing = [p for p in pairs if p not in found]
            if missing:
                found.update(await self._fetch(missing))
        return found

    def _fresh(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Rate]:
        now = self._clock()
        return {
            p: entry.rate
            for p in pairs
            if (entry := self._cache.get(p)) is not None and now - entry.fetched_at < self.ttl
        }

    async def _fetch(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], Rate]:
        now = self._clock()
        if self._blocked_until is not None and now < self._blocked_until:
            retry = (self._blocked_until - now).total_seconds()
            return self._stale_or_raise(
                pairs, f"{self._block_reason}; not asking again for {retry:.0f} s", retry
            )
        try:
            data = await self._request(pairs)
        except PricingUnavailableError as exc:
            return self._stale_or_raise(pairs, str(exc), exc.retry_after)
        self._blocked_until = None
        result: dict[tuple[str, str], Rate] = {}
        failures: list[tuple[tuple[str, str], PricingUnavailableError]] = []
        for pair in pairs:
            try:
                rate = self._parse_rate(data, pair, now)
            except PricingUnavailableError as invalid:
                failures.append((pair, invalid))
                continue
            self._cache[pair] = _Entry(rate, now)
            result[pair] = rate
        for pair, failure in failures:
            result.update(self._stale_or_raise([pair], str(failure), None, type(failure)))
        return result

    async def _request(self, pairs: list[tuple[str, str]]) -> Any:
        params = {
            "ids": ",".join(sorted({self.coin_id(b) for b, _ in pairs})),
            "vs_currencies": ",".join(sorted({q for _, q in pairs})),
            "include_last_updated_at": "true",
            "precision": "full",
        }
        client = self._http()
        try:
            response = await client.get(
                f"{self.base_url}/simple/price", params=params, headers=self._headers, timeout=self.timeout
            )
        except httpx.TimeoutException:
            self._back_off(None, f"CoinGecko did not answer within {self.timeout} s")
        except httpx.HTTPError as transport_error:
            kind = type(transport_error).__name__
            self._back_off(None, f"CoinGecko unreachable ({kind}: {transport_error})")
        if response.status_code == 429:
            self._back_off(self._retry_after(response) or timedelta(seconds=60), "CoinGecko rate limit (429)")
        if response.status_code >= 400:
            self._back_off(self._retry_after(response), f"CoinGecko answered HTTP {response.status_code}")
        try:
            return parse_json(response.text)
        except ValueError as parse_error:
            self._back_off(None, f"CoinGecko sent malformed JSON ({parse_error})")

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    def _back_off(self, wait: timedelta | None, reason: str) -> NoReturn:
        """Stops requests for `wait` (or the failure back-off) and raises PricingUnavailableError."""
        wait = min(wait if wait is not None else self.failure_backoff, self.max_retry_after)
        self._blocked_until = self._clock() + wait
        self._block_reason = reason
        log.warning("pricing.coingecko.failed", reason=reason, backoff_s=wait.total_seconds())
        raise PricingUnavailableError(reason, retry_after=wait.total_seconds())

    def _retry_after(self, response: httpx.Response) -> timedelta | None:
        """Retry-After as seconds or an HTTP date; None when absent or unreadable."""
        value = response.headers.get("retry-after", "").strip()
        if not value:
            return None
        if value.isdigit():
            return timedelta(seconds=int(value))
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(when - self._clock(), timedelta(0))

    def _parse_rate(self, data: Any, pair: tuple[str, str], now: datetime) -> Rate:
        base, quote = pair
        coin = self.coin_id(base)
        prices = data.get(coin) if isinstance(data, dict) else None
        value = prices.get(quote) if isinstance(prices, dict) else None
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise InvalidPriceError(f"CoinGecko returned no usable {coin}/{quote} price (got {value!r})")
        observed = now
        updated = prices.get("last_updated_at") if isinstance(prices, dict) else None
        if isinstance(updated, int) and not isinstance(updated, bool) and updated > 0:
            observed = min(datetime.fromtimestamp(updated, UTC), now)
        if now - observed > self.max_stale:
            raise StalePriceError(
                f"CoinGecko's {coin}/{quote} price was last updated {observed.isoformat()}, "
                f"older than {self.max_stale.total_seconds():.0f} s"
            )
        return Rate(base=base, quote=quote, value=Decimal(value), source=self.name, observed_at=observed)

    def _stale_or_raise(
        self,
        pairs: list[tuple[str, str]],
        reason: str,
        retry_after: float | None,
        error: type[PricingUnavailableError] = PricingUnavailableError,
    ) -> dict[tuple[str, str], Rate]:
        """Cached rates younger than `max_stale` for every pair, or the error naming the reason."""
        now = self._clock()
        served: dict[tuple[str, str], Rate] = {}
        for pair in pairs:
            entry = self._cache.get(pair)
            if entry is None or now - entry.rate.observed_at > self.max_stale:
                raise error(
                    f"{reason}; no cached {pair[0]}/{pair[1]} price younger than "
                    f"{self.max_stale.total_seconds():.0f} s",
                    retry_after=retry_after,
                )
            served[pair] = entry.rate
        log.warning("pricing.coingecko.serving_stale", reason=reason, pairs=[f"{b}/{q}" for b, q in pairs])
        return served
