"""An intent signs the payout address of its network's chain family: a merchant paid out on EVM only
cannot create Solana intents until it names a Solana wallet, and the platform fee on Solana goes to
the platform's Solana recipient, never to its EVM address."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from solders.keypair import Keypair

sys.path.insert(0, str(Path(__file__).parents[2] / "api"))

from api.app import create_app
from sluice.chain.registry import Registry
from sluice.config import to_asyncpg_url
from sluice.db.session import make_engine, make_sessionmaker
from sluice.merchants.service import merchant_service
from sluice.models.merchant import ApiKeyKind, Merchant, Mode
from sluice.models.payment_intent import PaymentIntent
from sluice.rails.solana.networks import network_configs
from sluice.rails.solana.rail import SolanaRail

from intents_fixtures import FEE_RECIPIENT, auth, make_registry, make_settings

pytestmark = pytest.mark.db

BODY = {"network": "solana-local", "asset": "USDC", "amount": "25000000"}


async def test_the_intent_signs_its_familys_payout_and_fee_recipient(db_url: str) -> None:
    platform_solana, merchant_solana = str(Keypair().pubkey()), str(Keypair().pubkey())
    settings = make_settings(db_url, platform_fee_bps=100)
    registry = Registry({**{n.name: n for n in make_registry()}, **network_configs()})
    app = create_app(settings, database_url=to_asyncpg_url(db_url), registry=registry)
    engine = make_engine(to_asyncpg_url(db_url), pool_size=1)
    async with app.router.lifespan_context(app):
        app.state.intents.rails.add(SolanaRail())
        async with make_sessionmaker(engine)() as session, session.begin():
            merchant = await merchant_service.create(session, "Two chains", "0x" + "cd" * 20)
            key = await merchant_service.issue_key(session, merchant.id, ApiKeyKind.secret, Mode.test)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            missing = await client.post("/v1/payment_intents", json=BODY, headers=auth(key.secret))
            assert missing.status_code == 400
            assert missing.json()["error"]["code"] == "payout_address_missing"
            assert "solana" in missing.json()["error"]["message"]

            async with make_sessionmaker(engine)() as session, session.begin():
                row = await session.get(Merchant, merchant.id)
                assert row is not None
                row.payout_addresses = {**row.payout_addresses, "solana": merchant_solana}
            # The platform has an EVM fee recipient (the fixtures') but none on Solana yet.
            no_fee_recipient = await client.post("/v1/payment_intents", json=BODY, headers=auth(key.secret))
            assert no_fee_recipient.status_code == 400
            error = no_fee_recipient.json()["error"]
            assert error["code"] == "platform_misconfigured"
            assert "SLUICE_PLATFORM_FEE_RECIPIENT_SOLANA" in error["message"]

            app.state.settings.platform_fee_recipient_solana = platform_solana
            created = await client.post("/v1/payment_intents", json=BODY, headers=auth(key.secret))
            assert created.status_code == 200, created.text
            async with make_sessionmaker(engine)() as session:
                stored = await session.get(PaymentIntent, created.json()["id"])
                assert stored is not None
                assert stored.payout_address == merchant_solana
                assert [s["recipient"] for s in stored.splits] == [platform_solana]
                assert FEE_RECIPIENT not in str(stored.splits)
            evm = await client.post(
                "/v1/payment_intents",
                json={"network": "local", "asset": "USDC", "amount": "1000"},
                headers=auth(key.secret),
            )
            assert evm.status_code == 200, evm.text
            assert evm.json()["onchain"]["intent"]["merchant"].lower() == "0x" + "cd" * 20
    await engine.dispose()
