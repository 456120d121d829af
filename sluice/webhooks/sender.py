"""One HTTP POST of a signed webhook: time-outs, no redirects, the response body cut at 2 KB."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpcore
import httpx

from sluice.config import Settings
from sluice.webhooks.ssrf import GuardedBackend, Resolver, WebhookUrlError, parse_url, system_resolver

MAX_RESPONSE_BYTES = 2048
USER_AGENT = "Sluice-Webhooks/1"


@dataclass(frozen=True, slots=True)
class SendResult:
    status_code: int | None
    latency_ms: int
    error: str | None
    body: str | None
    #: Seconds the receiver asked to wait (Retry-After on 429/503).
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool whose sockets go through the SSRF guard; no
    proxies from the environment (a proxy would connect on the guard's behalf)."""

    def __init__(self, *, allow_private: bool, resolver: Resolver, max_connections: int) -> None:
        super().__init__(trust_env=False)
        ssl_context = httpx.create_ssl_context(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
            network_backend=GuardedBackend(allow_private=allow_private, resolver=resolver),
        )


class WebhookSender:
    def __init__(
        self,
        settings: Settings,
        *,
        resolver: Resolver = system_resolver,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.total_timeout = settings.webhook_timeout
        self._client = httpx.AsyncClient(
            transport=transport
            or GuardedTransport(
                allow_private=settings.webhook_allow_private,
                resolver=resolver,
                max_connections=max(settings.webhook_concurrency, 10),
            ),
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(settings.webhook_timeout, connect=settings.webhook_connect_timeout),
            headers={"user-agent": USER_AGENT, "content-type": "application/json"},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, url: str, headers: dict[str, str], body: bytes, *, livemode: bool) -> SendResult:
        """POSTs `body`; never raises for a network or HTTP failure (the result says what happened)."""
        started = time.perf_counter()

        def elapsed() -> int:
            return int((time.perf_counter() - started) * 1000)

        try:
            parse_url(url, livemode=livemode)
        except WebhookUrlError as exc:
            return SendResult(None, 0, f"refused: {exc}", None)
        try:
            async with asyncio.timeout(self.total_timeout):
                async with self._client.stream("POST", url, content=body, headers=headers) as response:
                    data = b""
                    async for chunk in response.aiter_raw():
                        data += chunk
                        if len(data) >= MAX_RESPONSE_BYTES:
                            break
                    text = data[:MAX_RESPONSE_BYTES].decode("utf-8", errors="replace")
                    status = response.status_code
                    error = None
                    if 300 <= status < 400:
                        location = response.headers.get("location", "")
                        error = f"redirect not followed (HTTP {status} to {location[:200]!r})"
                    elif not 200 <= status < 300:
                        error = f"HTTP {status}"
                    retry_after = (
                        parse_retry_after(response.headers.get("retry-after"))
                        if status in (429, 503)
                        else None
                    )
                    return SendResult(status, elapsed(), error, text, retry_after)
        except TimeoutError:
            return SendResult(None, elapsed(), f"timed out after {self.total_timeout:g} s", None)
        except httpx.TimeoutException as exc:
            return SendResult(None, elapsed(), f"timed out ({type(exc).__name__})", None)
        except httpx.HTTPError as exc:
            return SendResult(None, elapsed(), f"{type(exc).__name__}: {exc}"[:500], None)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds (`120`) or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
