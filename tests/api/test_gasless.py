"""Gasless payments through the API on anvil: /gasless returns the typed data, the payer signs it as
returned (eth_signTypedData_v4 shape), /relay checks it and the gateway's relayer pays the gas; EIP-3009
for DevUSDC, Permit2 (the canonical code at its canonical address) for DevUSDT."""

# The anvil chain and app fixtures are test_payments_onchain's (imported, so test parameters shadow them).
# ruff: noqa: F811

from __future__ import annotations

import asyncio

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlalchemy import select
from test_payments_onchain import (  # noqa: F401  (fixtures)
    ANVIL_RELAYER,
    OTHER,
    PAYER,
    PAYOUT,
    app,
    balance,
    chain_env,
    new_intent,
    sign_and_send,
)
from test_reports import row as ledger_row

from sluice.chain.permit2 import PERMIT2_ADDRESS
from sluice.models.relay import RelayTransaction

from intents_fixtures import auth

pytestmark = [pytest.mark.db, pytest.mark.chain, pytest.mark.e2e]


async def gasless(client, key, intent_id, **body):
    return await client.post(f"/v1/payment_intents/{intent_id}/gasless", json=body, headers=auth(key))


async def relay(client, key, intent_id, **body):
    return await client.post(f"/v1/payment_intents/{intent_id}/relay", json=body, headers=auth(key))


def sign(account, typed_data: dict) -> str:
    """What a wallet's eth_signTypedData_v4 returns for the typed data exactly as the API sent it."""
    return (
        "0x"
        + bytes(Account.sign_message(encode_typed_data(full_message=typed_data), account.key).signature).hex()
    )


async def relay_rows(sessions, intent_id):
    async with sessions() as session:
        rows = await session.scalars(
            select(RelayTransaction).where(RelayTransaction.payment_intent_id == intent_id)
        )
        return list(rows)


async def test_eip3009_payment_is_relayed_and_its_gas_recorded(client, merchant, chain_env, sessions):
    chain, _, usdc, _ = chain_env
    intent = await new_intent(client, merchant.secret, asset="USDC")
    request = await gasless(client, merchant.secret, intent["id"], payer=PAYER.address)
    assert request.status_code == 200, request.text
    body = request.json()
    assert body["method"] == "eip3009" and body["methods"] == ["eip3009", "permit2"]
    assert body["typed_data"]["primaryType"] == "ReceiveWithAuthorization"
    assert body["approval_transaction"] is None
    payer_eth = chain.w3.eth.get_balance(PAYER.address)
    relayer_eth = chain.w3.eth.get_balance(ANVIL_RELAYER)
    before = balance(usdc, PAYER.address), balance(usdc, PAYOUT)

    relayed = await relay(
        client,
        merchant.secret,
        intent["id"],
        payer=PAYER.address,
        method="eip3009",
        signature=sign(PAYER, body["typed_data"]),
    )

    assert relayed.status_code == 200, relayed.text
    result = relayed.json()
    assert result["status"] == "succeeded" and result["gas_used"] > 50_000
    assert balance(usdc, PAYER.address) == before[0] - 25_000_000
    assert balance(usdc, PAYOUT) == before[1] + 25_000_000 * 99 // 100
    assert chain.w3.eth.get_balance(PAYER.address) == payer_eth  # the payer paid no gas
    paid = relayer_eth - chain.w3.eth.get_balance(ANVIL_RELAYER)
    assert paid == int(result["fee_paid"]) > 0
    (row,) = await relay_rows(sessions, intent["id"])
    assert (row.action, row.status, row.tx_hash, row.fee_paid) == (
        "pay_eip3009",
        "succeeded",
        result["tx_hash"],
        paid,
    )

    # The payments report shows what the relayer paid beside the payment the indexer records for the
    # same transaction (its ledger entry, written here as the indexer writes it).
    entry = ledger_row(intent, merchant.id, "Paid", 1, 25_000_000, merchant_amount=24_750_000)
    entry.tx_id = result["tx_hash"]
    async with sessions() as session, session.begin():
        session.add(entry)
    report = await client.get("/v1/reports/payments", headers=auth(merchant.secret))
    assert report.status_code == 200, report.text
    (line,) = [r for r in report.json()["data"] if r["payment_intent"] == intent["id"]]
    assert line["relayer_fee"] == str(paid)


async def test_permit2_payment_with_publishable_key_after_the_one_time_approval(client, merchant, chain_env):
    chain, _, _, usdt = chain_env
    intent = await new_intent(client, merchant.secret, asset="USDT")
    secret = intent["client_secret"]
    first = await gasless(
        client, merchant.publishable, intent["id"], payer=OTHER.address, client_secret=secret
    )
    assert first.status_code == 200, first.text
    assert first.json()["method"] == "permit2" and first.json()["methods"] == ["permit2"]
    approval = first.json()["approval_transaction"]
    assert approval["to"] == usdt.address and approval["from"] == OTHER.address
    assert sign_and_send(chain, OTHER, approval)["status"] == 1
    again = await gasless(
        client, merchant.publishable, intent["id"], payer=OTHER.address, client_secret=secret
    )
    typed = again.json()["typed_data"]
    assert again.json()["approval_transaction"] is None
    assert typed["primaryType"] == "PermitWitnessTransferFrom"
    assert typed["domain"]["verifyingContract"] == PERMIT2_ADDRESS
    assert typed["message"]["witness"] == intent["onchain"]["intent"]  # the payer sees the whole intent
    before = balance(usdt, OTHER.address)

    relayed = await relay(
        client,
        merchant.publishable,
        intent["id"],
        payer=OTHER.address,
        method="permit2",
        signature=sign(OTHER, typed),
        client_secret=secret,
    )

    assert relayed.status_code == 200, relayed.text
    assert relayed.json()["status"] == "succeeded"
    assert balance(usdt, OTHER.address) == before - 25_000_000


async def test_signature_of_another_account_or_intent_is_refused_before_sending(
    client, merchant, chain_env, sessions
):
    intent = await new_intent(client, merchant.secret, asset="USDC")
    other = await new_intent(client, merchant.secret, asset="USDC")
    typed = (await gasless(client, merchant.secret, intent["id"], payer=PAYER.address)).json()["typed_data"]
    typed_other = (await gasless(client, merchant.secret, other["id"], payer=PAYER.address)).json()[
        "typed_data"
    ]
    for signature in (sign(OTHER, typed), sign(PAYER, typed_other)):
        response = await relay(
            client, merchant.secret, intent["id"], payer=PAYER.address, method="eip3009", signature=signature
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "invalid_signature"
    # Signed for EIP-3009, presented as Permit2: not what the payer signed either.
    response = await relay(
        client,
        merchant.secret,
        intent["id"],
        payer=PAYER.address,
        method="permit2",
        signature=sign(PAYER, typed),
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_signature"
    assert await relay_rows(sessions, intent["id"]) == []  # nothing was sent


async def test_relaying_twice_is_refused_without_spending_gas(client, merchant, chain_env):
    chain, _, _, _ = chain_env
    intent = await new_intent(client, merchant.secret, asset="USDC")
    typed = (await gasless(client, merchant.secret, intent["id"], payer=PAYER.address)).json()["typed_data"]
    body = {"payer": PAYER.address, "method": "eip3009", "signature": sign(PAYER, typed)}
    assert (await relay(client, merchant.secret, intent["id"], **body)).status_code == 200
    relayer_eth = chain.w3.eth.get_balance(ANVIL_RELAYER)
    again = await relay(client, merchant.secret, intent["id"], **body)
    assert again.status_code == 400 and again.json()["error"]["code"] == "payment_already_relayed"
    assert chain.w3.eth.get_balance(ANVIL_RELAYER) == relayer_eth


async def test_permit2_without_approval_and_eip3009_on_a_token_without_it_are_4xx(
    client, merchant, chain_env
):
    intent = await new_intent(client, merchant.secret, asset="USDT")
    typed = (await gasless(client, merchant.secret, intent["id"], payer=PAYER.address)).json()["typed_data"]
    response = await relay(
        client,
        merchant.secret,
        intent["id"],
        payer=PAYER.address,
        method="permit2",
        signature=sign(PAYER, typed),
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "permit2_not_approved"
    response = await gasless(client, merchant.secret, intent["id"], payer=PAYER.address, method="eip3009")
    assert response.status_code == 400 and response.json()["error"]["code"] == "unsupported_payment_method"


async def test_native_and_manual_capture_intents_have_no_gasless_path(client, merchant, chain_env):
    native = await new_intent(client, merchant.secret, asset="ETH", amount="1000")
    manual = await new_intent(client, merchant.secret, asset="USDC", capture_method="manual")
    for intent in (native, manual):
        response = await gasless(client, merchant.secret, intent["id"], payer=PAYER.address)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "unsupported_payment_method"


async def test_bound_payer_and_malformed_signature_are_4xx(client, merchant, chain_env):
    intent = await new_intent(client, merchant.secret, asset="USDC", payer=PAYER.address)
    response = await gasless(client, merchant.secret, intent["id"], payer=OTHER.address)
    assert response.status_code == 400 and response.json()["error"]["code"] == "payer_mismatch"
    response = await relay(
        client, merchant.secret, intent["id"], payer=PAYER.address, method="eip3009", signature="0x1234"
    )
    assert 400 <= response.status_code < 500 and response.json()["error"]["code"]


async def test_concurrent_relays_are_in_flight_together_with_consecutive_nonces(
    client, merchant, chain_env, sessions
):
    """With a block every second (not one per transaction), two relays sent at once both go out
    before either is mined: the nonce manager hands them consecutive nonces, neither waits."""
    chain, _, _, _ = chain_env
    intents = [await new_intent(client, merchant.secret, asset="USDC") for _ in range(2)]
    bodies = []
    for intent in intents:
        typed = (await gasless(client, merchant.secret, intent["id"], payer=PAYER.address)).json()[
            "typed_data"
        ]
        bodies.append({"payer": PAYER.address, "method": "eip3009", "signature": sign(PAYER, typed)})
    w3 = chain.w3
    w3.provider.make_request("evm_setAutomine", [False])
    w3.provider.make_request("evm_setIntervalMining", [2])
    try:
        responses = await asyncio.gather(
            *(relay(client, merchant.secret, i["id"], **b) for i, b in zip(intents, bodies, strict=True))
        )
    finally:
        w3.provider.make_request("evm_setIntervalMining", [0])
        w3.provider.make_request("evm_setAutomine", [True])
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    rows = [(await relay_rows(sessions, i["id"]))[0] for i in intents]
    assert sorted(int(r.nonce) for r in rows) == [min(int(r.nonce) for r in rows) + k for k in range(2)]
    blocks = {w3.eth.get_transaction_receipt(r.tx_hash)["blockNumber"] for r in rows}
    assert len(blocks) == 1  # mined together: the second did not wait for the first's block
