"""Several price sources tried in order: the first that can price a pair now answers."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from sluice.errors import PricingUnavailableError, SluiceValueError, UnsupportedPairError
from sluice.pricing.base import PriceSource, Rate, normalize_pair

log = structlog.get_logger(__name__)


class CompositePriceSource:
    """Falls back along `sources` on UnsupportedPairError and PricingUnavailableError.

    Any other error (a StablecoinDepegError above all) stops the search: a later source that
    would still quote the pair must not override a source that refused it on purpose.
    """

    name = "composite"

    def __init__(self, sources: Sequence[PriceSource]) -> None:
        if not sources:
            raise SluiceValueError("a composite price source needs at least one source")
        self.sources = tuple(sources)

    async def rate(self, base: str, quote: str) -> Rate:
        base, quote = normalize_pair(base, quote)
        failures: list[PricingUnavailableError] = []
        for source in self.sources:
            try:
                return await source.rate(base, quote)
            except UnsupportedPairError:
                continue
            except PricingUnavailableError as exc:
                log.warning(
                    "pricing.source_failed",
                    source=getattr(source, "name", type(source).__name__),
                    pair=f"{base}/{quote}",
                    error=str(exc),
                )
                failures.append(exc)
        if not failures:
            raise UnsupportedPairError(f"no configured price source prices {base}/{quote}")
        waits = [f.retry_after for f in failures if f.retry_after is not None]
        raise PricingUnavailableError(
            f"no price for {base}/{quote}: " + "; ".join(str(f) for f in failures),
            retry_after=min(waits) if waits else None,
        ) from failures[-1]
