"""`present` (every response and outbox payload) builds exactly `PaymentIntentPublic`'s JSON, and its
on-chain part is the EIP-712 typed data of the struct the operator signed."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import JSON
from sqlalchemy import inspect as sa_inspect

from sluice.chain.intents import typed_data
from sluice.db.base import Money
from sluice.intents.onchain import contract_kind, to_onchain
from sluice.intents.record import RECORD_COLUMNS, IntentRecord, QuoteRecord, quote_record_of, record_of
from sluice.intents.repository.intents import QUOTE_SELECT
from sluice.intents.views import OnchainPublic, PaymentIntentPublic, QuotePublic, present
from sluice.models.payment_intent import PaymentIntent
from sluice.models.quote import Quote

_MAPPER = sa_inspect(PaymentIntent)

BASE = datetime(2026, 11, 26, 5, 0, 0, 123456, tzinfo=UTC)
TOKEN = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
PAYMENTS = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"
ESCROW = "0x9fe46736679d2d9a65f0992f6272de9f3c7fa6e0"


def _intent(**overrides: Any) -> PaymentIntent:
    fields: dict[str, Any] = {
        "id": "pi_test123",
        "merchant_id": "mch_1",
        "livemode": False,
        "status": "requires_payment",
        "capture_method": "automatic",
        "rail": "evm-contract",
        "payment_method_types": ["contract_call"],
        "deposit_address": None,
        "stray_deposits": 0,
        "network": "local",
        "chain_id": 31337,
        "asset": "USDC",
        "token_address": TOKEN,
        "decimals": 6,
        "amount": 25_000_000,
        "amount_received": 0,
        "amount_capturable": 0,
        "amount_refunded": 0,
        "onchain_id": bytes(range(32)),
        "nonce": 2**200 + 7,
        "contract_address": PAYMENTS,
        "payer": None,
        "payout_address": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
        "splits": [
            {"recipient": "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc", "bps": 100},
            {"recipient": "0x90f79bf6eb2c4f870365e785982e1f101e93b906", "bps": 50},
        ],
        "deadline": BASE + timedelta(hours=1),
        "reclaim_after": None,
        "allow_partial": False,
        "signature": bytes([7]) * 65,
        "client_secret": "pi_test123_secret_abc",
        "quote_id": None,
        "description": None,
        "metadata_": {},
        "expires_at": BASE + timedelta(hours=1),
        "created_at": BASE,
        "canceled_at": None,
        "cancellation_reason": None,
    }
    fields.update(overrides)
    return PaymentIntent(**fields)


def _quote() -> Quote:
    return Quote(
        id="qt_1",
        merchant_id="mch_1",
        fiat_amount=Decimal("25.00000000"),
        currency="EUR",
        network="local",
        asset="USDC",
        decimals=6,
        rate=Decimal("1.080000000000000000"),
        source="fixed",
        amount=27_000_000,
        locked_until=BASE + timedelta(minutes=10),
        created_at=BASE,
    )


CASES: dict[str, dict[str, Any]] = {
    "automatic_new": {},
    "automatic_succeeded_with_payer": {
        "status": "succeeded",
        "amount_received": 25_000_000,
        "payer": "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65",
    },
    "processing_livemode_metadata": {
        "status": "processing",
        "livemode": True,
        "metadata_": {"order": "1234", "note": "ünïcode ✓", "empty": ""},
        "description": "Order #1234",
    },
    "manual_requires_capture": {
        "capture_method": "manual",
        "contract_address": ESCROW,
        "status": "requires_capture",
        "amount_received": 25_000_000,
        "amount_capturable": 25_000_000,
        "reclaim_after": BASE + timedelta(days=7),
        "allow_partial": True,
    },
    "manual_canceled": {
        "capture_method": "manual",
        "contract_address": ESCROW,
        "status": "canceled",
        "amount_received": 10_000_000,
        "amount_refunded": 10_000_000,
        "reclaim_after": BASE + timedelta(days=7),
        "canceled_at": BASE + timedelta(minutes=30),
        "cancellation_reason": "reclaimed",
    },
    "deposit_address_partly_paid": {
        "rail": "evm-deposit",
        "payment_method_types": ["deposit_address", "contract_call"],
        "deposit_address": "0x1111111111111111111111111111111111111111",
        "amount_received": 5_000_000,
    },
    "native_no_splits_huge_amount": {
        "asset": "ETH",
        "token_address": None,
        "decimals": 18,
        "amount": 2**255 + 1,
        "splits": [],
        "chain_id": 8453,
    },
    "expired": {"status": "expired", "expires_at": BASE - timedelta(seconds=1)},
}


def _onchain_reference(intent: IntentRecord) -> dict[str, Any]:
    """The on-chain part rebuilt the slow, canonical way: `typed_data` of the signed struct."""
    onchain = to_onchain(intent)
    kind = contract_kind(intent)
    data = typed_data(onchain, chain_id=intent.chain_id, contract=intent.contract_address, kind=kind)
    message = dict(data["message"])
    for key in ("nonce", "amount", "deadline", "reclaimAfter"):
        message[key] = str(message[key])
    message["id"] = "0x" + onchain.id.hex()
    view = {
        "chain_id": intent.chain_id,
        "contract": intent.contract_address,
        "kind": kind,
        "intent": message,
        "signature": "0x" + bytes(intent.signature).hex(),
        "typed_data": {**data, "message": message},
    }
    return OnchainPublic(**view).model_dump(mode="json")


@pytest.mark.parametrize("with_quote", [False, True], ids=["no_quote", "quote"])
@pytest.mark.parametrize("case", list(CASES))
def test_present_is_the_public_schema(case: str, with_quote: bool) -> None:
    intent = _record(_intent(**CASES[case]))
    quote = _quote_record(_quote()) if with_quote else None
    view = present(intent, "https://pay.example.com/c/", quote)
    # What the schema makes of it is what it is: every field, its type and its key order.
    expected = PaymentIntentPublic.model_validate(view).model_dump(mode="json")
    assert view == expected
    # Same JSON text too: key order and value types (int vs str, bool) all alike.
    assert json.dumps(view) == json.dumps(expected)
    # The signed EVM intent is the contract-call rail's; a deposit-address intent has none.
    assert view["onchain"] == (_onchain_reference(intent) if intent.rail == "evm-contract" else None)
    assert view["quote"] == (QuotePublic.of(quote).model_dump(mode="json") if quote is not None else None)
    assert view["quote"] is None or view["quote"]["fiat_amount"] == "25.00"


def _quote_record(quote: Quote) -> QuoteRecord:
    """The QuoteRecord the indexer would load for this quote (a row of QUOTE_SELECT: amount as text)."""
    names = [f.name for f in fields(QuoteRecord)]
    return quote_record_of(str(getattr(quote, n)) if n == "amount" else getattr(quote, n) for n in names)


def _record(intent: PaymentIntent) -> IntentRecord:
    """The IntentRecord the indexer would load for this intent (a row of RECORD_SELECT)."""
    by_column = {a.columns[0].name: getattr(intent, a.key) for a in _MAPPER.column_attrs}
    # As RECORD_SELECT returns them: JSON columns as text.
    return record_of(
        json.dumps(by_column[name]) if kind == "json" else by_column[name] for name, kind in RECORD_COLUMNS
    )


def test_intent_record_has_every_column_of_the_model() -> None:
    assert [f.name for f in fields(IntentRecord)] == [a.key for a in _MAPPER.column_attrs]
    # RECORD_COLUMNS is written out (the indexer does not import SQLAlchemy): the model's columns, in
    # order, with the Money and JSON ones marked, as record_of decodes them.
    derived = []
    for attr in _MAPPER.column_attrs:
        column = attr.columns[0]
        kind = None
        if isinstance(column.type, Money):
            kind = "money"
        elif isinstance(column.type, JSON):
            kind = "json"
        derived.append((column.name, kind))
    assert tuple(derived) == RECORD_COLUMNS


def test_quote_record_has_every_column_of_the_model() -> None:
    columns = [a.columns[0].name for a in sa_inspect(Quote).column_attrs]
    assert sorted(f.name for f in fields(QuoteRecord)) == sorted(columns)
    # QUOTE_SELECT reads them in QuoteRecord's order (quote_record_of builds the record positionally).
    selected = [part.strip().removesuffix("::text") for part in QUOTE_SELECT.split(",")]
    assert selected == [f.name for f in fields(QuoteRecord)]


def test_present_does_not_share_mutable_intent_state() -> None:
    intent = _record(_intent(metadata_={"a": "1"}))
    view = present(intent, "https://pay.example.com")
    view["metadata"]["a"] = "2"
    assert intent.metadata_ == {"a": "1"}
