"""Creating, reading, listing and cancelling payment intents."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sluice import jsoncodec
from sluice.audit.service import AuditContext
from sluice.chain.deploy import read_manifest
from sluice.chain.registry import Asset, NetworkConfig, Registry
from sluice.clock import utcnow
from sluice.config import Settings
from sluice.db.session import driver_connection
from sluice.errors import InvalidRequestError, NotFoundError, PermissionDeniedError, SluiceError
from sluice.events.outbox import EventType, intent_event
from sluice.ids import new_id, random_token
from sluice.intents.record import IntentRecord, QuoteRecord
from sluice.intents.repository import queries
from sluice.intents.repository.create import CreatedWriter, JsonText, insert_created, insert_quote
from sluice.intents.repository.intents import load_quote, quotes_of, save
from sluice.intents.schemas import MAX_UINT256, CreateIntent
from sluice.intents.signing import NonceAllocator
from sluice.intents.status import CaptureMethod, PaymentIntentStatus
from sluice.intents.transitions import Decision, Totals
from sluice.intents.transitions import cancel as cancel_decision
from sluice.intents.views import present
from sluice.merchants import payout
from sluice.merchants.service import Account, Principal
from sluice.pricing.base import PriceSource
from sluice.pricing.quotes import make_quote
from sluice.rails.base import Rail, Terms
from sluice.rails.defaults import default_rails
from sluice.rails.evm_deposit import DEPOSIT_RAIL, METHOD_RAILS, RAIL_METHODS
from sluice.rails.registry import Rails

MAX_SPLITS = 5
MIN_EXPIRES_IN = 60
MAX_EXPIRES_IN = 7 * 86400
DEFAULT_MAX_FEE_BPS = 3000


@cache
def max_fee_bps(network: str) -> int:
    """The contracts' fee bound on a network, from its manifest (the default deployment's otherwise)."""
    manifest = read_manifest(network)
    return int(manifest["max_fee_bps"]) if manifest and "max_fee_bps" in manifest else DEFAULT_MAX_FEE_BPS


def resolve_asset(network: NetworkConfig, symbol: str) -> Asset:
    if symbol.upper() == network.native_symbol.upper():
        return network.native_asset
    return network.asset(symbol)


def _check_mode(principal: Principal, network: NetworkConfig) -> None:
    if principal.livemode and network.testnet:
        raise InvalidRequestError(
            f"{network.name} is a test network: use a test key (sk_test_…)",
            param="network",
            code="livemode_mismatch",
        )
    if not principal.livemode and network.live:
        raise InvalidRequestError(
            f"{network.name} is a live network: use a live key (sk_live_…)",
            param="network",
            code="livemode_mismatch",
        )


class StaleAccountError(SluiceError, RuntimeError):
    """Raised when the caller's key or the merchant's payout terms changed while an intent was being
    signed for them: nothing was stored; the API retries once with a fresh account."""

    code = "account_changed"
    error_type = "invalid_request_error"
    http_status = 409

    def __init__(self) -> None:
        super().__init__(
            "the API key or the merchant's payout terms changed while the intent was being created; retry"
        )


@dataclass(frozen=True, slots=True)
class CreatedIntent:
    """A stored new intent, its quote if priced, and its API view as JSON (the response)."""

    intent: IntentRecord
    quote: QuoteRecord | None
    json: bytes


class PaymentIntentService:
    def __init__(
        self,
        registry: Registry,
        settings: Settings,
        prices: PriceSource | None,
        rails: Rails | None = None,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.prices = prices
        self.nonces = NonceAllocator()
        self.rails = rails if rails is not None else default_rails(registry, settings, self.nonces)

    # ---------------------------------------------------------------- create

    async def create(
        self, store: CreatedWriter, account: Account, params: CreateIntent, audit: AuditContext
    ) -> CreatedIntent:
        """Validates, signs and stores an intent with its `payment_intent.created` event and audit row.

        `store` writes through an asyncpg pool (sluice.db.pool.make_driver_pool), outside ORM sessions:
        nonces come in blocks, the three rows in one statement (sluice.intents.repository.create). `account`
        may come from a cache: the insert re-checks it and raises StaleAccountError if it changed.
        """
        principal = account.principal
        if account.suspended:
            raise PermissionDeniedError(
                "this merchant account is suspended: no new payment intents", code="account_suspended"
            )
        try:
            network = self.registry.network(params.network)
        except SluiceError as exc:
            raise InvalidRequestError(str(exc), param="network", code="unknown_network") from exc
        _check_mode(principal, network)
        try:
            asset = resolve_asset(network, params.asset)
        except SluiceError as exc:
            raise InvalidRequestError(str(exc), param="asset", code="unknown_asset") from exc
        payout_address = payout.for_family(account.payout_addresses, network.family)
        if payout_address is None:
            raise InvalidRequestError(
                f"the merchant has no {network.family} payout address; set payout_addresses.{network.family} "
                "before creating intents on this network",
                param="network",
                code="payout_address_missing",
            )
        rail, methods = self._methods(network, params)
        amount, quote, new_quote = await self._amount(store.pool, principal, params, network, asset)
        if params.allow_partial and params.capture_method != CaptureMethod.manual:
            raise InvalidRequestError(
                "allow_partial needs capture_method=manual (escrow)",
                param="allow_partial",
                code="parameter_invalid",
            )
        splits = self._splits(account.fee_bps, params, network, rail)
        payer = rail.validate_address(params.payer, "payer") if params.payer else None
        if params.allow_partial and payer is None:
            # Otherwise whoever deposits first (a front-runner, for 1 base unit) becomes the payer
            # and locks the customer out; the escrow refuses such intents (PayerRequired).
            raise InvalidRequestError(
                "allow_partial needs a payer: partial escrow deposits must all come from one named address",
                param="payer",
                code="parameter_missing",
            )
        expires_in = self.settings.intent_ttl_seconds if params.expires_in is None else params.expires_in
        if not MIN_EXPIRES_IN <= expires_in <= MAX_EXPIRES_IN:
            raise InvalidRequestError(
                f"expires_in must be between {MIN_EXPIRES_IN} and {MAX_EXPIRES_IN} seconds",
                param="expires_in",
            )
        created_at = utcnow()
        deadline = created_at.replace(microsecond=0) + timedelta(seconds=expires_in)
        if quote is not None and quote.locked_until < deadline:
            deadline = quote.locked_until  # the price lock bounds how long the amount stays payable
        manual = params.capture_method == CaptureMethod.manual
        reclaim_after = deadline + timedelta(seconds=self.settings.escrow_reclaim_seconds) if manual else None
        terms = Terms(
            network=network.name,
            capture_method=params.capture_method,
            token=asset.address,
            amount=amount,
            payer=payer,
            payout_address=payout_address,
            splits=splits,
            deadline=deadline,
            reclaim_after=reclaim_after,
            allow_partial=params.allow_partial,
            pool=store.pool,
        )
        bound = await rail.authorize(terms)
        deposit_address = bound.source if rail.name == DEPOSIT_RAIL else None
        if rail.name != DEPOSIT_RAIL and "deposit_address" in methods:
            # The same intent, known by the same reference, also payable at its deposit address.
            deposit = self.rails.get(DEPOSIT_RAIL)
            deposit_address = (await deposit.authorize(replace(terms, intent_ref=bound.intent_ref))).source
        intent_id = new_id("pi")
        # Built as the stored row it is about to be (sluice.intents.repository.create writes it).
        intent = IntentRecord(
            id=intent_id,
            merchant_id=principal.merchant_id,
            livemode=principal.livemode,
            status=PaymentIntentStatus.requires_payment,
            capture_method=params.capture_method,
            rail=rail.name,
            payment_method_types=list(methods),
            deposit_address=deposit_address,
            stray_deposits=0,
            network=network.name,
            chain_id=network.chain_id,
            asset=asset.symbol,
            token_address=asset.address,
            decimals=asset.decimals,
            amount=amount,
            amount_received=0,
            amount_capturable=0,
            amount_refunded=0,
            onchain_id=bound.intent_ref,
            nonce=bound.nonce,
            contract_address=bound.source,
            payer=payer,
            payout_address=payout_address,
            splits=splits,
            deadline=deadline,
            reclaim_after=reclaim_after,
            allow_partial=params.allow_partial,
            signature=bound.signature,
            client_secret=f"{intent_id}_secret_{random_token(24)}",
            quote_id=quote.id if quote else None,
            description=params.description,
            metadata_=dict(params.metadata),
            expires_at=deadline,
            canceled_at=None,
            cancellation_reason=None,
            created_at=created_at,
            updated_at=created_at,
        )
        # The response and the event's object are the same view, serialized once.
        body = jsoncodec.dumps(present(intent, str(self.settings.checkout_base_url), quote))
        event = {
            "id": new_id("evt"),
            "merchant_id": principal.merchant_id,
            "livemode": principal.livemode,
            "type": str(EventType.payment_intent_created),
            "object_id": intent_id,
            "data": JsonText('{"object":' + body + "}"),
            "request_id": audit.request_id,
            "created_at": created_at,
        }
        audit_row = audit.row(
            merchant_id=principal.merchant_id,
            api_key_id=principal.api_key_id,
            action="payment_intent.create",
            object_id=intent_id,
            at=created_at,
        )
        if new_quote:
            assert quote is not None
            async with store.pool.acquire() as conn, conn.transaction():
                await insert_quote(conn, quote)
                stored = await insert_created(conn, account, created_at, intent, event, audit_row)
                if not stored:
                    raise StaleAccountError()
        elif not await store.write(account, created_at, intent, event, audit_row):
            raise StaleAccountError()
        return CreatedIntent(intent, quote, body.encode())

    async def _amount(
        self,
        pool: Any,
        principal: Principal,
        params: CreateIntent,
        network: NetworkConfig,
        asset: Asset,
    ) -> tuple[int, QuoteRecord | None, bool]:
        """The amount owed, the quote it comes from if any, and whether that quote is new (unstored)."""
        given = [x is not None for x in (params.amount, params.price, params.quote_id)]
        if sum(given) != 1:
            raise InvalidRequestError(
                "give exactly one of amount (base units), price {amount, currency} or quote (qt_…)",
                param="amount",
                code="parameter_missing" if sum(given) == 0 else "parameter_invalid",
            )
        if params.amount is not None:
            if not 0 < params.amount <= MAX_UINT256:
                raise InvalidRequestError(
                    "amount must be a positive integer that fits uint256", param="amount"
                )
            return params.amount, None, False
        if params.quote_id is not None:
            async with pool.acquire() as conn:
                quote = await load_quote(conn, principal.merchant_id, params.quote_id)
            if quote is None:
                raise NotFoundError(f"no quote {params.quote_id!r}", param="quote")
            if quote.locked_until <= utcnow():
                raise InvalidRequestError(
                    "the quote's price lock has expired; request a new quote",
                    param="quote",
                    code="quote_expired",
                )
            if (quote.network, quote.asset) != (network.name, asset.symbol):
                raise InvalidRequestError("the quote is for another network or asset", param="quote")
            return quote.amount, quote, False
        assert params.price is not None
        quote = await self._price(principal, network, asset, params.price.amount, params.price.currency)
        return quote.amount, quote, True

    async def quote(
        self,
        session: AsyncSession,
        principal: Principal,
        network: NetworkConfig,
        asset: Asset,
        fiat_amount: Any,
        currency: str,
    ) -> QuoteRecord:
        """Prices a fiat amount in the asset, locks it, and stores the quote."""
        quote = await self._price(principal, network, asset, fiat_amount, currency)
        await insert_quote(await driver_connection(session), quote)
        return quote

    async def _price(
        self,
        principal: Principal,
        network: NetworkConfig,
        asset: Asset,
        fiat_amount: Any,
        currency: str,
    ) -> QuoteRecord:
        """A new quote (every attribute set, not stored yet)."""
        if self.prices is None:
            raise InvalidRequestError(
                "no price source is configured", param="price", code="pricing_unavailable"
            )
        priced = await make_quote(
            self.prices, fiat_amount, currency, asset.symbol, asset.decimals, self.settings.price_lock_seconds
        )
        return QuoteRecord(
            id=new_id("qt"),
            merchant_id=principal.merchant_id,
            fiat_amount=priced.fiat_amount,
            currency=priced.currency,
            network=network.name,
            asset=asset.symbol,
            decimals=asset.decimals,
            rate=priced.rate,
            source=priced.source,
            amount=priced.amount,
            locked_until=priced.locked_until,
            created_at=priced.created_at,
        )

    def _methods(self, network: NetworkConfig, params: CreateIntent) -> tuple[Rail, tuple[str, ...]]:
        """The intent's rail and the payment methods it offers (`payment_method_types`, the first is
        the rail; without them, `rail` or the network's default alone)."""
        if params.payment_method_types is None:
            rail = self.rails.for_network(network.rails, params.rail)
            return rail, (RAIL_METHODS.get(rail.name, rail.name),)
        methods = tuple(params.payment_method_types)
        if not methods or len(set(methods)) != len(methods):
            raise InvalidRequestError(
                "payment_method_types lists one or more distinct methods",
                param="payment_method_types",
                code="parameter_invalid",
            )
        rails = [self.rails.for_network(network.rails, METHOD_RAILS.get(m, m)) for m in methods]
        if params.rail is not None and params.rail != rails[0].name:
            raise InvalidRequestError(
                f"rail {params.rail!r} is not the first of payment_method_types",
                param="rail",
                code="parameter_invalid",
            )
        others = {r.name for r in rails[1:]}
        if others - {DEPOSIT_RAIL} or (others and rails[0].family != "evm"):
            raise InvalidRequestError(
                "only a deposit address can be offered beside an EVM network's first payment method",
                param="payment_method_types",
                code="parameter_invalid",
            )
        return rails[0], methods

    def _splits(
        self, fee_bps: int | None, params: CreateIntent, network: NetworkConfig, rail: Rail
    ) -> list[dict[str, Any]]:
        """The signed payees after the merchant: the platform fee (the merchant's override, else the
        configured one), then the request's splits."""
        splits: list[dict[str, Any]] = []
        if fee_bps is None:
            fee_bps = self.settings.platform_fee_bps
        if fee_bps:
            recipient = self.settings.fee_recipient(network.family)
            if recipient is None:
                raise InvalidRequestError(
                    f"the platform fee has no recipient on {network.family} networks: the operator must "
                    f"set {self.settings.fee_recipient_variable(network.family)}",
                    code="platform_misconfigured",
                )
            splits.append(
                {
                    "recipient": rail.validate_address(recipient, "platform_fee_recipient"),
                    "bps": fee_bps,
                    "kind": "platform",
                }
            )
        for i, split in enumerate(params.splits):
            if not 0 < split.bps <= 10_000:
                raise InvalidRequestError("a split's bps is between 1 and 10000", param=f"splits.{i}.bps")
            splits.append(
                {
                    "recipient": rail.validate_address(split.recipient, f"splits.{i}.recipient"),
                    "bps": split.bps,
                    "kind": "split",
                }
            )
        if len(splits) > MAX_SPLITS:
            raise InvalidRequestError(
                f"at most {MAX_SPLITS - (1 if fee_bps else 0)} splits", param="splits", code="too_many_splits"
            )
        total = sum(s["bps"] for s in splits)
        bound = max_fee_bps(network.name)
        if total > bound:
            raise InvalidRequestError(
                f"splits and platform fee total {total} bps, above the contract's bound of {bound}",
                param="splits",
                code="fee_too_high",
            )
        return splits

    # ------------------------------------------------------------------ read

    async def get(
        self, session: AsyncSession, principal: Principal, intent_id: str, *, lock: bool = False
    ) -> IntentRecord:
        intent = await queries.get(session, principal.merchant_id, intent_id, lock=lock)
        if intent is None or intent.livemode != principal.livemode:
            raise NotFoundError(f"no such payment_intent: {intent_id!r}", param="id")
        return intent

    async def list(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        limit: int,
        starting_after: str | None,
        ending_before: str | None,
        status: PaymentIntentStatus | None,
        created_gte: datetime | None,
        created_lte: datetime | None,
    ) -> tuple[builtins.list[IntentRecord], bool]:
        return await queries.page(
            session,
            principal.merchant_id,
            livemode=principal.livemode,
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
            status=status,
            created_gte=created_gte,
            created_lte=created_lte,
        )

    # ---------------------------------------------------------------- cancel

    async def cancel(
        self,
        session: AsyncSession,
        principal: Principal,
        intent_id: str,
        reason: str | None,
        *,
        totals: Totals | None = None,
    ) -> IntentRecord:
        """Moves the intent to canceled in the database (ChainOperations.cancel makes it unpayable
        first; after a void it passes the escrow's `totals`) with its `payment_intent.canceled` event."""
        intent = await self.get(session, principal, intent_id, lock=True)
        await self.apply(session, intent, cancel_decision(intent, reason, now=utcnow(), totals=totals))
        return intent

    async def apply(self, session: AsyncSession, intent: IntentRecord, decision: Decision) -> None:
        """Moves an intent this transaction has locked to what the transitions decided and records the
        events they announce, carrying the intent as the API shows it now (sluice.intents.repository)."""
        decision.apply(intent)
        conn = await driver_connection(session)
        quote = (await quotes_of(conn, [intent])).get(intent.quote_id or "")
        checkout = str(self.settings.checkout_base_url)
        events = [
            intent_event(intent, type, checkout, quote=quote, previous_attributes=decision.previous)
            for type in decision.events
        ]
        await save(conn, [intent], events)

    async def views(
        self, session: AsyncSession, intents: Sequence[IntentRecord]
    ) -> builtins.list[dict[str, Any]]:
        """The API views of intents with their quotes, as GET, lists, operations and webhooks show them."""
        quotes = await quotes_of(await driver_connection(session), intents)
        checkout = str(self.settings.checkout_base_url)
        return [present(i, checkout, quotes.get(i.quote_id) if i.quote_id else None) for i in intents]

    async def view(self, session: AsyncSession, intent: IntentRecord) -> dict[str, Any]:
        return (await self.views(session, [intent]))[0]
