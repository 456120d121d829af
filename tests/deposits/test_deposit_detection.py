"""Deposit addresses on anvil, end to end: an intent created over the API with
`payment_method_types: ["deposit_address"]` is paid by plain transfers (from an account, from a
contract, in native coin), found by the indexer running in the background, moved by the shared
transitions and announced; partial, over-, late, repeated and wrong-token payments are recorded,
and a reorganisation that drops the deposit moves the intent back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from deposit_env import DepositEnv
from eth_abi import encode

from sluice.chain.multicall import ADDRESS as MULTICALL3
from sluice.clock import utcnow

from indexer_env import OWNER, PAYER, PAYER2

pytestmark = [pytest.mark.db, pytest.mark.chain, pytest.mark.e2e]

USDC_25 = 25_000_000


async def test_a_plain_erc20_transfer_from_another_account_pays(deposits: DepositEnv):
    intent = await deposits.create()
    deposit = intent["deposit"]
    usdc = deposits.chain.usdc
    assert intent["rail"] == "evm-deposit" and intent["payment_method_types"] == ["deposit_address"]
    assert deposit["amount"] == str(USDC_25) and deposit["chain_id"] == deposits.chain.chain_id
    assert deposit["uri"] == (
        f"ethereum:{usdc.address}@{deposits.chain.chain_id}/transfer"
        f"?address={deposit['address']}&uint256={USDC_25}"
    )
    assert deposits.chain.w3.eth.get_code(deposit["address"]) == b""  # counterfactual: nothing deployed

    deposits.send_token(usdc, PAYER, deposit["address"], USDC_25)

    paid = await deposits.wait(intent["id"], status="succeeded")
    assert paid["amount_received"] == str(USDC_25)
    assert paid["deposit"]["amount_remaining"] == "0"
    assert await deposits.entries(intent["id"]) == [("received", str(USDC_25), usdc.address)]
    assert await deposits.event_types(intent["id"]) == ["payment_intent.created", "payment_intent.succeeded"]


async def test_a_transfer_made_by_a_contract_pays(deposits: DepositEnv):
    """An exchange's hot wallet is often a contract: Multicall3 stands in for one here, holding the
    tokens and calling `transfer` itself (msg.sender is the contract, no EOA sends the tokens)."""
    intent = await deposits.create()
    usdc = deposits.chain.usdc
    usdc.functions.mint(MULTICALL3, USDC_25).transact({"from": OWNER})
    transfer = bytes.fromhex("a9059cbb") + encode(
        ["address", "uint256"], [intent["deposit"]["address"], USDC_25]
    )
    data = bytes.fromhex("82ad56cb") + encode(["(address,bool,bytes)[]"], [[(usdc.address, False, transfer)]])
    tx = deposits.chain.w3.eth.send_transaction({"from": PAYER2, "to": MULTICALL3, "data": "0x" + data.hex()})
    assert deposits.chain.w3.eth.wait_for_transaction_receipt(tx)["status"] == 1

    paid = await deposits.wait(intent["id"], status="succeeded")
    assert paid["amount_received"] == str(USDC_25)
    assert await deposits.entries(intent["id"]) == [("received", str(USDC_25), usdc.address)]


async def test_native_coin_pays_through_batched_balance_reads(deposits: DepositEnv):
    amount = 10**17
    intent = await deposits.create(asset="ETH", amount=str(amount))
    address = intent["deposit"]["address"]
    assert intent["deposit"]["token"] is None
    assert intent["deposit"]["uri"] == f"ethereum:{address}@{deposits.chain.chain_id}?value={amount}"

    deposits.send_native(PAYER, address, amount // 4)
    part = await deposits.wait(intent["id"], amount_received=str(amount // 4))
    assert part["status"] == "requires_payment"
    deposits.send_native(PAYER2, address, amount - amount // 4)

    await deposits.wait(intent["id"], status="succeeded", amount_received=str(amount))
    assert [e[:2] for e in await deposits.entries(intent["id"])] == [
        ("received", str(amount // 4)),
        ("received", str(amount - amount // 4)),
    ]
    assert await deposits.event_types(intent["id"]) == [
        "payment_intent.created",
        "payment_intent.partially_funded",
        "payment_intent.succeeded",
    ]


async def test_partial_payments_add_up_and_an_overpayment_is_announced(deposits: DepositEnv):
    intent = await deposits.create()
    usdc, address = deposits.chain.usdc, intent["deposit"]["address"]

    deposits.send_token(usdc, PAYER, address, 20_000_000)
    part = await deposits.wait(intent["id"], amount_received="20000000")
    assert part["status"] == "requires_payment" and part["deposit"]["amount_remaining"] == "5000000"
    deposits.send_token(usdc, PAYER2, address, 7_000_000)

    await deposits.wait(intent["id"], status="succeeded", amount_received="27000000")
    assert await deposits.event_types(intent["id"]) == [
        "payment_intent.created",
        "payment_intent.partially_funded",
        "payment_intent.succeeded",
        "payment_intent.overpaid",
    ]


async def test_a_second_payment_to_a_used_address_is_recorded_and_announced(deposits: DepositEnv):
    intent = await deposits.create()
    usdc, address = deposits.chain.usdc, intent["deposit"]["address"]
    deposits.send_token(usdc, PAYER, address, USDC_25)
    await deposits.wait(intent["id"], status="succeeded")

    deposits.send_token(usdc, PAYER, address, USDC_25)

    again = await deposits.wait(intent["id"], amount_received=str(2 * USDC_25))
    assert again["status"] == "succeeded"
    assert len(await deposits.entries(intent["id"])) == 2
    assert (await deposits.event_types(intent["id"]))[-1] == "payment_intent.overpaid"


async def test_underpaid_at_expiry_then_a_late_payment_is_recorded(deposits: DepositEnv):
    from sluice.db.session import make_engine, make_sessionmaker
    from sluice.jobs.tasks import expire_intents

    intent = await deposits.create()
    usdc, address = deposits.chain.usdc, intent["deposit"]["address"]
    deposits.send_token(usdc, PAYER, address, 10_000_000)
    await deposits.wait(intent["id"], amount_received="10000000")

    engine = make_engine(deposits.db_url.replace("postgresql://", "postgresql+asyncpg://"), pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            expired = await expire_intents(session, utcnow() + timedelta(days=1), "http://127.0.0.1")
    finally:
        await engine.dispose()
    assert intent["id"] in expired
    deposits.send_token(usdc, PAYER, address, 15_000_000)

    late = await deposits.wait(intent["id"], amount_received=str(USDC_25))
    assert late["status"] == "expired"
    assert await deposits.event_types(intent["id"]) == [
        "payment_intent.created",
        "payment_intent.partially_funded",
        "payment_intent.expired",
        "payment_intent.underpaid",
        "payment_intent.late_payment",
    ]


async def test_a_wrong_token_is_recorded_apart_and_counts_toward_nothing(deposits: DepositEnv):
    intent = await deposits.create()
    address = intent["deposit"]["address"]
    deposits.usdt.functions.mint(PAYER, USDC_25).transact({"from": OWNER})
    deposits.send_token(deposits.usdt, PAYER, address, USDC_25)
    deposits.send_token(deposits.chain.usdc, PAYER, address, 1_000_000)

    part = await deposits.wait(intent["id"], amount_received="1000000")
    assert part["status"] == "requires_payment"
    assert sorted(await deposits.entries(intent["id"])) == sorted(
        [("stray", str(USDC_25), deposits.usdt.address), ("received", "1000000", deposits.chain.usdc.address)]
    )
    assert "payment_intent.stray_deposit" in await deposits.event_types(intent["id"])


async def test_a_reorg_that_drops_the_deposit_moves_the_intent_back(deposits: DepositEnv):
    rpc = deposits.chain.rpc
    intent = await deposits.create()
    snapshot = rpc.call("evm_snapshot")
    deposits.send_token(deposits.chain.usdc, PAYER, intent["deposit"]["address"], USDC_25)
    await deposits.wait(intent["id"], status="succeeded")

    assert rpc.call("evm_revert", snapshot) is True
    rpc.mine(3)  # the other fork is longer: the deposit is gone from the canonical chain

    back = await deposits.wait(intent["id"], status="requires_payment")
    assert back["amount_received"] == "0"
    assert await deposits.entries(intent["id"]) == []
    assert (await deposits.event_types(intent["id"]))[-1] == "payment_intent.reverted"
