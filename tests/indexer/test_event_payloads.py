"""The indexer's outbox events carry the intent exactly as the API presents it.

The indexer loads intents with its own locked SELECT (`sluice.intents.repository.intents`) and builds
the payloads in a worker thread: the payload of each intent's latest event must equal the API's view
of the intent loaded afterwards as the API loads it (`sluice.intents.repository.queries`), through the
public schema.
"""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from sluice.chain.intents import ZERO_ADDRESS
from sluice.intents.record import quote_record_of
from sluice.intents.repository.intents import QUOTE_SELECT
from sluice.intents.repository.queries import records, select_records
from sluice.intents.views import PaymentIntentPublic, present
from sluice.models.payment_intent import PaymentIntent

from indexer_env import (
    ChainEnv,
    deposit_tx,
    index_until,
    indexer_settings,
    make_intents,
    pay_tx,
    send_blocks,
)

pytestmark = [pytest.mark.db, pytest.mark.chain]


def rows(db_url: str, sql: str) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


async def test_latest_event_of_each_intent_is_its_api_view(env: ChainEnv, db_url, merchant_id):
    usdc = make_intents(env, db_url, merchant_id, 2, amount=25_000_000)
    [native] = make_intents(env, db_url, merchant_id, 1, token=ZERO_ADDRESS, amount=10**16)
    [escrow] = make_intents(env, db_url, merchant_id, 1, kind="escrow", amount=7_000_000)
    # One intent priced in fiat: its events carry the quote, as GET /v1/payment_intents/{id} does.
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO quotes (id, merchant_id, fiat_amount, currency, network, asset, decimals, rate, "
            "source, amount, locked_until, created_at) VALUES ('qt_payloads', %s, 25.00, 'usd', 'local', "
            "'USDC', 6, 1, 'fixed', 25000000, now() + interval '15 minutes', now())",
            (merchant_id,),
        )
        conn.execute("UPDATE payment_intents SET quote_id = 'qt_payloads' WHERE id = %s", (usdc[0].id,))
    send_blocks(env, [*(pay_tx(env, i) for i in [*usdc, native]), deposit_tx(env, escrow)], per_block=2)

    await index_until(env, db_url)

    latest = {
        object_id: data["object"]
        for object_id, data in rows(
            db_url, "SELECT object_id, data FROM events WHERE object_id IS NOT NULL ORDER BY seq"
        )
    }
    checkout = str(indexer_settings(db_url).checkout_base_url)
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with Session(engine) as session:
            ids = [i.id for i in [*usdc, native, escrow]]
            intents = records(session.execute(select_records().where(PaymentIntent.id.in_(ids))).all())
            assert len(intents) == 4
            statuses = {i.id: str(i.status) for i in intents}
            assert statuses[escrow.id] == "requires_capture"
            assert {statuses[i.id] for i in [*usdc, native]} == {"succeeded"}
            for intent in intents:
                quote = None
                if intent.quote_id:
                    row = session.execute(
                        text(f"SELECT {QUOTE_SELECT} FROM quotes WHERE id = :id"), {"id": intent.quote_id}
                    ).one()
                    quote = quote_record_of(row)
                view = PaymentIntentPublic.model_validate(present(intent, checkout, quote))
                assert latest[intent.id] == view.model_dump(mode="json")
            assert latest[usdc[0].id]["quote"]["id"] == "qt_payloads"
    finally:
        engine.dispose()
