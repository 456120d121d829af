"""Refunds of a deposit address's over- or late payment over the API, on anvil with the indexer
running: the merchant asks for the typed data, signs it with its payout key, and the gateway relays
SluiceDeposits' `refund` to the address the merchant gave (never to the sender); recorded (refund
object, relay_transactions, the `refunded` ledger entry and amount_refunded) and announced by webhook
events. Bad requests are 400s with a machine-readable code."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import asyncpg
import pytest
from deposit_env import DepositEnv
from eth_account import Account

from indexer_env import PAYER
from intents_fixtures import auth

pytestmark = [pytest.mark.db, pytest.mark.chain, pytest.mark.e2e]

USDC_25 = 25_000_000


async def merchant_with_key(deposits: DepositEnv) -> tuple[DepositEnv, Any]:
    """A merchant whose payout key the test holds (it signs the refunds)."""
    from sluice.config import to_asyncpg_url
    from sluice.db.session import make_engine, make_sessionmaker
    from sluice.merchants.service import merchant_service
    from sluice.models.merchant import ApiKeyKind, Mode

    payout = Account.create()
    engine = make_engine(to_asyncpg_url(deposits.db_url), pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            merchant = await merchant_service.create(session, "Refunding shop", payout.address)
            key = await merchant_service.issue_key(session, merchant.id, ApiKeyKind.secret, Mode.test)
    finally:
        await engine.dispose()
    return replace(deposits, secret=key.secret), payout


async def post(env: DepositEnv, path: str, body: dict[str, Any]) -> Any:
    return await env.client.post(path, json=body, headers=auth(env.secret))


async def query(env: DepositEnv, sql: str, *args: Any) -> list[Any]:
    conn = await asyncpg.connect(env.db_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def test_an_overpayment_is_refunded_to_the_address_the_merchant_gives(deposits: DepositEnv):
    env, payout = await merchant_with_key(deposits)
    usdc = env.chain.usdc
    intent = await env.create()
    address = intent["deposit"]["address"]
    env.send_token(usdc, PAYER, address, USDC_25 + 2_000_000)  # 2 USDC too much
    await env.wait(intent["id"], status="succeeded", amount_received=str(USDC_25 + 2_000_000))
    customer = Account.create().address  # the customer's own wallet, not the exchange that sent

    asked = await post(
        env, f"/v1/payment_intents/{intent['id']}/deposit_refund_authorizations", {"destination": customer}
    )
    assert asked.status_code == 200, asked.text
    authorization = asked.json()
    assert authorization["amount"] == "2000000" and authorization["token"] == usdc.address
    typed = authorization["typed_data"]
    assert typed["primaryType"] == "Refund" and typed["message"]["to"] == customer
    signature = Account.sign_typed_data(payout.key, full_message=typed).signature.to_0x_hex()

    # A signature by another key is refused before anything is sent.
    forged = Account.sign_typed_data(Account.create().key, full_message=typed).signature.to_0x_hex()
    body = {
        "payment_intent": intent["id"],
        "destination": customer,
        "amount": authorization["amount"],
        "deadline": authorization["deadline"],
    }
    bad = await post(env, "/v1/refunds", {**body, "merchant_signature": forged})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_signature"

    made = await post(env, "/v1/refunds", {**body, "merchant_signature": signature})
    assert made.status_code == 200, made.text
    refund = made.json()
    assert refund["status"] == "succeeded" and refund["destination"] == customer
    assert refund["amount"] == "2000000" and refund["tx_hash"]
    assert usdc.functions.balanceOf(customer).call() == 2_000_000
    assert usdc.functions.balanceOf(address).call() == USDC_25  # what the sweep takes stays

    # Recorded and announced: the refund's events, the relayer's gas, the ledger's refunded entry.
    events = await query(env, "SELECT type FROM events WHERE object_id = $1 ORDER BY seq", refund["id"])
    assert [e["type"] for e in events] == ["refund.created", "refund.succeeded"]
    relays = await query(
        env,
        "SELECT action, status, fee_paid FROM relay_transactions WHERE payment_intent_id = $1",
        intent["id"],
    )
    assert [(r["action"], r["status"]) for r in relays] == [("deposit_refund", "succeeded")]
    assert relays[0]["fee_paid"] > 0
    refunded = await env.wait(intent["id"], amount_refunded="2000000")
    assert refunded["status"] == "succeeded"
    kinds = [e[0] for e in await env.entries(intent["id"])]
    assert kinds == ["received", "refunded"]

    # Nothing is left to refund; the same authorization cannot be used twice either.
    again = await post(
        env, f"/v1/payment_intents/{intent['id']}/deposit_refund_authorizations", {"destination": customer}
    )
    assert again.status_code == 400 and again.json()["error"]["code"] == "nothing_refundable"
    replay = await post(env, "/v1/refunds", {**body, "merchant_signature": signature})
    assert replay.status_code == 400 and replay.json()["error"]["code"] == "nothing_refundable"


async def test_bad_refund_requests_are_clear_400s(deposits: DepositEnv):
    env, _ = await merchant_with_key(deposits)
    intent = await env.create()
    path = f"/v1/payment_intents/{intent['id']}/deposit_refund_authorizations"
    customer = Account.create().address

    nothing = await post(env, path, {"destination": customer})  # unpaid: nothing to refund
    assert nothing.status_code == 400 and nothing.json()["error"]["code"] == "nothing_refundable"

    env.send_token(env.chain.usdc, PAYER, intent["deposit"]["address"], USDC_25 + 1_000_000)
    await env.wait(intent["id"], status="succeeded", amount_received=str(USDC_25 + 1_000_000))
    letter = next(i for i, c in enumerate(customer) if i > 1 and c.isalpha())
    bad_checksum = customer[:letter] + customer[letter].swapcase() + customer[letter + 1 :]
    for destination in ("0x1234", "0x" + "00" * 20, bad_checksum, intent["deposit"]["address"]):
        bad = await post(env, path, {"destination": destination})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_address", destination
    too_much = await post(env, path, {"destination": customer, "amount": "1000001"})
    assert too_much.status_code == 400 and too_much.json()["error"]["code"] == "amount_too_large"
    missing = await post(env, "/v1/refunds", {"payment_intent": intent["id"], "destination": customer})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "parameter_missing"
    expired = await post(
        env,
        "/v1/refunds",
        {
            "payment_intent": intent["id"],
            "destination": customer,
            "amount": "1000000",
            "deadline": int(time.time()) - 10,
            "merchant_signature": "0x" + "11" * 65,
        },
    )
    assert expired.status_code == 400 and expired.json()["error"]["code"] == "authorization_expired"
