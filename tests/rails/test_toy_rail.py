"""The seam is real: a rail that exists only in this test (a toy chain where a payment is a line in a
list) plugs into the product unchanged. An intent created on its network is paid through it,
observed into ledger entries, stored by the indexer's batch, moved by the transitions to
`succeeded`, and announced in the outbox, with nothing outside the rail written for it."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))

from api.app import create_app
from indexer.batch import BatchTarget, index_batch
from sluice.accounts import platform_keys
from sluice.chain.registry import BUILTIN, Asset, Registry
from sluice.config import to_asyncpg_url
from sluice.db.session import make_engine, make_sessionmaker
from sluice.errors import InvalidRequestError
from sluice.ledger.entries import ChainPosition, EntryKind, LedgerEntry
from sluice.merchants.service import merchant_service
from sluice.models.merchant import ApiKeyKind, Mode
from sluice.rails.base import Authorization, Finality, PayerInstructions, Terms

from intents_fixtures import auth, make_registry, make_settings

pytestmark = pytest.mark.db


@dataclass(frozen=True)
class ToyTransfer:
    """One payment on the toy chain: `amount` sent to the intent's reference, in block `block`."""

    reference: bytes
    amount: int
    sender: str
    block: int
    tx: str


class ToyRail:
    """Pay by appending a transfer to the toy chain; addresses are `toy:` + a name."""

    name: ClassVar[str] = "toy"
    family: ClassVar[str] = "toy"

    def validate_address(self, address: str, param: str = "address") -> str:
        if not address.startswith("toy:") or len(address) < 5:
            raise InvalidRequestError(f"{param} is not a toy address", param=param, code="invalid_address")
        return address

    def finality(self, network: str) -> Finality:
        return Finality("confirmations", confirmations=1)

    async def authorize(self, terms: Terms) -> Authorization:
        return Authorization(intent_ref=os.urandom(32), source="toy-ledger")

    async def build(self, intent: Any, payer: str, **options: Any) -> PayerInstructions:
        return PayerInstructions(
            rail=self.name,
            transactions=[{"to": "toy-ledger", "reference": bytes(intent.onchain_id).hex(), "amount": "x"}],
            uri=f"toy:pay?ref={bytes(intent.onchain_id).hex()}&amount={intent.amount}",
        )

    def decode(self, network: str, observed: Sequence[Any]) -> list[LedgerEntry]:
        return [
            LedgerEntry(
                kind=EntryKind.received,
                network=network,
                rail=self.name,
                intent_ref=t.reference,
                tx_id=t.tx,
                position=ChainPosition(height=t.block, index=i, tx_index=0, block_id=f"b{t.block}", time=0),
                amount=t.amount,
                payer=t.sender,
                source="toy-ledger",
            )
            for i, t in enumerate(observed)
        ]


def toy_registry() -> Registry:
    base = make_registry()
    toy = replace(
        BUILTIN["local"],
        name="toy-local",
        chain_id=0,
        family="toy",
        rails=("toy",),
        native_symbol="TOY",
        native_decimals=2,
        assets={"TOY": Asset("TOY", None, 2)},
    )
    networks: Mapping[str, Any] = {n.name: n for n in base}
    return Registry({**networks, "toy-local": toy})


async def make_merchant(db_url: str, client: httpx.AsyncClient) -> str:
    """A merchant with a toy payout address, set through the platform API like any family's (checked
    by the toy rail's own rule), and its test secret key."""
    engine = make_engine(to_asyncpg_url(db_url), pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            merchant = await merchant_service.create(session, "Toy shop")
            key = await merchant_service.issue_key(session, merchant.id, ApiKeyKind.secret, Mode.test)
            platform = (await platform_keys.issue(session, "toy")).secret
    finally:
        await engine.dispose()
    bad = await client.post(
        f"/v1/accounts/{merchant.id}",
        json={"payout_addresses": {"toy": "0x" + "ab" * 20}},
        headers=auth(platform),
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "payout_addresses.toy"
    good = await client.post(
        f"/v1/accounts/{merchant.id}", json={"payout_addresses": {"toy": "toy:shop"}}, headers=auth(platform)
    )
    assert good.status_code == 200 and good.json()["payout_addresses"] == {"toy": "toy:shop"}
    return key.secret


async def test_an_intent_paid_through_a_toy_rail_succeeds_and_is_announced(db_url: str):
    settings = make_settings(db_url, platform_fee_bps=0)
    app = create_app(settings, database_url=to_asyncpg_url(db_url), registry=toy_registry())
    async with app.router.lifespan_context(app):
        app.state.intents.rails.add(ToyRail())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            secret = await make_merchant(db_url, client)
            created = await client.post(
                "/v1/payment_intents",
                json={"network": "toy-local", "asset": "TOY", "amount": "500"},
                headers=auth(secret),
            )
            assert created.status_code == 200, created.text
            intent = created.json()
            assert (intent["rail"], intent["status"], intent["onchain"]) == ("toy", "requires_payment", None)

            # The payer's instructions come from the toy rail, which also checks the payer's address.
            bad = await client.post(
                f"/v1/payment_intents/{intent['id']}/transactions",
                json={"payer": "0x" + "11" * 20, "method": "native"},
                headers=auth(secret),
            )
            assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_address"
            steps = await client.post(
                f"/v1/payment_intents/{intent['id']}/transactions",
                json={"payer": "toy:alice", "method": "native"},
                headers=auth(secret),
            )
            assert steps.status_code == 200, steps.text
            assert steps.json()["rail"] == "toy" and steps.json()["transactions"][0]["to"] == "toy-ledger"

            # The payer pays on the toy chain; the rail turns it into ledger entries.
            conn = await asyncpg.connect(db_url)
            try:
                reference = await conn.fetchval(
                    "SELECT onchain_id FROM payment_intents WHERE id = $1", intent["id"]
                )
                chain = [
                    ToyTransfer(bytes(reference), 200, "toy:alice", block=1, tx="t1"),
                    ToyTransfer(bytes(reference), 300, "toy:alice", block=2, tx="t2"),
                ]
                rail = ToyRail()
                target = BatchTarget("toy-local", 0, confirmed_block=0, checkout_base_url="http://127.0.0.1")
                # Block 1 seen, not final: part paid. Then both final: succeeded. Then the same again.
                async with conn.transaction():
                    first = await index_batch(conn, target, rail.decode("toy-local", chain[:1]), {})
                final = replace(target, confirmed_block=2)
                async with conn.transaction():
                    second = await index_batch(conn, final, rail.decode("toy-local", chain), {})
                async with conn.transaction():
                    again = await index_batch(conn, final, rail.decode("toy-local", chain), {})
                stored = await conn.fetch(
                    "SELECT kind, rail, amount::text, payment_intent_id FROM ledger_entries ORDER BY height"
                )
                outbox = await conn.fetch(
                    "SELECT type FROM events WHERE object_id = $1 ORDER BY seq", intent["id"]
                )
            finally:
                await conn.close()
            assert [e.type for e in first] == ["payment_intent.partially_funded"]
            assert [e.type for e in second] == ["payment_intent.succeeded"]
            assert again == []
            assert [tuple(r) for r in stored] == [
                ("received", "toy", "200", intent["id"]),
                ("received", "toy", "300", intent["id"]),
            ]
            assert [r["type"] for r in outbox] == [
                "payment_intent.created",
                "payment_intent.partially_funded",
                "payment_intent.succeeded",
            ]

            paid = (await client.get(f"/v1/payment_intents/{intent['id']}", headers=auth(secret))).json()
            assert (paid["status"], paid["amount_received"]) == ("succeeded", "500")
