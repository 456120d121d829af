"""Report filters, checked against the registry: bad values are a 400 naming the parameter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sluice.chain.registry import Registry
from sluice.errors import InvalidRequestError, SluiceError
from sluice.intents.service import resolve_asset
from sluice.merchants.service import Principal
from sluice.models.payment_intent import PaymentIntentStatus


@dataclass(frozen=True)
class AssetRef:
    """One asset on one network as the indexer stores it (token address, None for the native coin)."""

    network: str
    symbol: str
    token: str | None
    decimals: int


@dataclass(frozen=True)
class ReportFilters:
    #: Networks the caller may see (test keys: test networks; live keys: mainnets), after `network`.
    networks: tuple[str, ...]
    asset: AssetRef | None = None
    status: PaymentIntentStatus | None = None
    created_gte: datetime | None = None
    created_lte: datetime | None = None


class AssetBook:
    """Resolves (network, token address) to symbol and decimals for display."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._cache: dict[tuple[str, str | None], AssetRef] = {}

    def ref(self, network: str, token: str | None) -> AssetRef:
        key = (network, token.lower() if token else None)
        found = self._cache.get(key)
        if found is None:
            found = self._resolve(network, token)
            self._cache[key] = found
        return found

    def _resolve(self, network: str, token: str | None) -> AssetRef:
        try:
            config = self.registry.network(network)
            asset = config.native_asset if token is None else config.asset_for_token(token)
        except SluiceError:  # an asset no longer configured: show the address, base units only
            return AssetRef(network, token or "NATIVE", token, 0)
        return AssetRef(network, asset.symbol, asset.address, asset.decimals)


def build_filters(
    registry: Registry,
    principal: Principal,
    *,
    network: str | None,
    asset: str | None,
    status: str | None,
    created_gte: datetime | None,
    created_lte: datetime | None,
) -> ReportFilters:
    visible = [n for n in registry if n.live == principal.livemode]
    if network is not None:
        match = [n for n in visible if n.name == network]
        if not match:
            mode = "live" if principal.livemode else "test"
            raise InvalidRequestError(
                f"no {mode} network named {network!r}; see GET /v1/networks",
                param="network",
                code="parameter_invalid",
            )
        visible = match
    ref = None
    if asset is not None:
        if network is None:
            raise InvalidRequestError(
                "filter by asset together with network", param="asset", code="parameter_missing"
            )
        try:
            found = resolve_asset(visible[0], asset)
        except SluiceError:
            raise InvalidRequestError(
                f"no asset {asset!r} on {visible[0].name}", param="asset", code="parameter_invalid"
            ) from None
        ref = AssetRef(visible[0].name, found.symbol, found.address, found.decimals)
    parsed_status = None
    if status is not None:
        try:
            parsed_status = PaymentIntentStatus(status)
        except ValueError:
            allowed = ", ".join(s.value for s in PaymentIntentStatus)
            raise InvalidRequestError(
                f"unknown status {status!r}; one of {allowed}", param="status", code="parameter_invalid"
            ) from None
    if created_gte is not None and created_lte is not None and created_gte > created_lte:
        raise InvalidRequestError(
            "created[gte] is after created[lte]", param="created[gte]", code="parameter_invalid"
        )
    return ReportFilters(tuple(n.name for n in visible), ref, parsed_status, created_gte, created_lte)
