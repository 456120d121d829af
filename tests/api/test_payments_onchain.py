"""The API's unsigned transactions really work: signed as returned, sent to anvil, accepted by the
real contracts; escrow capture and refunds go through the operator relayer."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import Web3

from sluice.chain.deploy import DeployParams, LocalSender, deploy
from sluice.chain.keys import ANVIL_RELAYER_KEY
from sluice.chain.registry import BUILTIN, Asset, DeployedContracts, Registry
from sluice.config import to_asyncpg_url

from chains import ANVIL_KEYS, Chain, anvil_chain, run_anvil
from intents_fixtures import FEE_RECIPIENT, OPERATOR_KEY, auth, make_settings
from reverts import decode_revert

#: `sluice dev`'s relayer (anvil account 8), which the settings fall back to on a test network.
ANVIL_RELAYER = Account.from_key(ANVIL_RELAYER_KEY).address

pytestmark = [pytest.mark.db, pytest.mark.chain, pytest.mark.e2e]

PAYOUT = Web3.to_checksum_address("0x" + "ab" * 20)
PAYER = Account.from_key(ANVIL_KEYS[1])
OTHER = Account.from_key(ANVIL_KEYS[2])


@pytest.fixture(scope="module")
def chain_env(tmp_path_factory):
    with run_anvil() as url:
        chain = anvil_chain(url)
        operator = Account.from_key(OPERATOR_KEY).address
        result = deploy(
            chain.w3,
            "local",
            LocalSender(chain.accounts[0]),
            DeployParams(owner=chain.accounts[0].address, operator=operator, relayer=ANVIL_RELAYER),
            directory=tmp_path_factory.mktemp("deployments"),
        )
        usdc = chain.deploy("DevUSDC")
        usdt = chain.deploy("DevUSDT")
        for token in (usdc, usdt):
            for who in (PAYER.address, OTHER.address):
                token.functions.mint(who, 10**12).transact({"from": chain.accounts[0].address})
        chain.w3.eth.send_transaction({"from": chain.accounts[0].address, "to": operator, "value": 10**19})
        contracts = result.manifest["contracts"]
        network = replace(
            BUILTIN["local"],
            rpc_urls=(url,),
            contracts=DeployedContracts(
                payments=contracts["SluicePayments"]["address"], escrow=contracts["SluiceEscrow"]["address"]
            ),
            assets={
                "ETH": Asset("ETH", None, 18),
                "USDC": Asset("USDC", usdc.address, 6, stablecoin=True),
                "USDT": Asset("USDT", usdt.address, 6, stablecoin=True),
            },
        )
        yield chain, Registry({"local": network}), usdc, usdt


@pytest.fixture
async def app(db_url, chain_env):
    from api.app import create_app

    chain, registry, _, _ = chain_env
    snapshot = chain.snapshot()
    application = create_app(make_settings(db_url), database_url=to_asyncpg_url(db_url), registry=registry)
    async with application.router.lifespan_context(application):
        yield application
    chain.revert(snapshot)


async def new_intent(client: httpx.AsyncClient, key: str, **body) -> dict:
    payload = {"network": "local", "asset": "USDC", "amount": "25000000", **body}
    response = await client.post("/v1/payment_intents", json=payload, headers=auth(key))
    assert response.status_code == 200, response.text
    return response.json()


async def wallet_transactions(client, key, intent_id, **body) -> dict:
    response = await client.post(
        f"/v1/payment_intents/{intent_id}/transactions", json=body, headers=auth(key)
    )
    assert response.status_code == 200, response.text
    return response.json()


def sign_and_send(chain: Chain, account, tx: dict) -> dict:
    """Signs the transaction exactly as the API returned it and sends it raw."""
    signed = account.sign_transaction(tx)
    tx_hash = chain.w3.eth.send_raw_transaction(signed.raw_transaction)
    return dict(chain.w3.eth.wait_for_transaction_receipt(tx_hash))


async def funded_escrow(client: httpx.AsyncClient, key: str, chain: Chain) -> dict:
    """A manual-capture intent whose escrow PAYER funded (approve + deposit, signed and sent)."""
    intent = await new_intent(client, key, capture_method="manual")
    built = await wallet_transactions(client, key, intent["id"], payer=PAYER.address, method="approve")
    for tx in built["transactions"]:
        assert sign_and_send(chain, PAYER, tx)["status"] == 1
    return intent


def balance(token, who: str) -> int:
    return int(token.functions.balanceOf(who).call())


@pytest.mark.parametrize("symbol", ["USDC", "USDT"])
async def test_approve_then_pay_moves_exact_amounts(client, merchant, chain_env, symbol):
    chain, _, usdc, usdt = chain_env
    token = usdc if symbol == "USDC" else usdt
    intent = await new_intent(client, merchant.secret, asset=symbol)
    built = await wallet_transactions(
        client, merchant.secret, intent["id"], payer=PAYER.address, method="approve"
    )
    assert built["steps"] == ["approve", "pay"]
    assert all(
        set(tx) >= {"from", "to", "data", "value", "nonce", "gas", "chainId"} for tx in built["transactions"]
    )
    assert built["qr_svg"].lstrip().startswith("<")
    before = balance(token, PAYOUT), balance(token, FEE_RECIPIENT), balance(token, PAYER.address)
    for tx in built["transactions"]:
        assert sign_and_send(chain, PAYER, tx)["status"] == 1
    after = balance(token, PAYOUT), balance(token, FEE_RECIPIENT), balance(token, PAYER.address)
    assert after[0] - before[0] == 24_750_000
    assert after[1] - before[1] == 250_000
    assert before[2] - after[2] == 25_000_000


async def test_native_pay(client, merchant, chain_env):
    chain, _, _, _ = chain_env
    intent = await new_intent(client, merchant.secret, asset="ETH", amount=str(10**16))
    built = await wallet_transactions(
        client, merchant.secret, intent["id"], payer=PAYER.address, method="native"
    )
    before = chain.w3.eth.get_balance(PAYOUT)
    [tx] = built["transactions"]
    assert int(tx["value"], 16) == 10**16
    assert sign_and_send(chain, PAYER, tx)["status"] == 1
    assert chain.w3.eth.get_balance(PAYOUT) - before == 10**16 * 99 // 100


async def test_permit_flow_with_publishable_key_and_client_secret(client, merchant, chain_env):
    chain, _, usdc, _ = chain_env
    intent = await new_intent(client, merchant.secret)
    first = await wallet_transactions(
        client,
        merchant.publishable,
        intent["id"],
        payer=OTHER.address,
        method="permit",
        client_secret=intent["client_secret"],
    )
    assert first["transactions"] == [] and first["permit"]["primaryType"] == "Permit"
    typed = first["permit"]
    message = {k: int(v) if k in ("value", "nonce", "deadline") else v for k, v in typed["message"].items()}
    signable = encode_typed_data(full_message={**typed, "message": message})
    permit_sig = "0x" + OTHER.sign_message(signable).signature.hex()
    second = await wallet_transactions(
        client,
        merchant.publishable,
        intent["id"],
        payer=OTHER.address,
        method="permit",
        permit_signature=permit_sig,
        client_secret=intent["client_secret"],
    )
    before = balance(usdc, PAYOUT)
    [tx] = second["transactions"]
    assert sign_and_send(chain, OTHER, tx)["status"] == 1
    assert balance(usdc, PAYOUT) - before == 24_750_000


async def test_publishable_key_without_client_secret_sees_nothing(client, merchant):
    intent = await new_intent(client, merchant.secret)
    response = await client.post(
        f"/v1/payment_intents/{intent['id']}/transactions",
        json={"payer": PAYER.address, "method": "approve"},
        headers=auth(merchant.publishable),
    )
    assert response.status_code == 404


async def test_transactions_for_payer_a_fail_when_b_sends_them(client, merchant, chain_env):
    chain, _, usdc, _ = chain_env
    intent = await new_intent(client, merchant.secret, payer=PAYER.address)
    # The API refuses to build for another address than the bound payer…
    response = await client.post(
        f"/v1/payment_intents/{intent['id']}/transactions",
        json={"payer": OTHER.address, "method": "approve"},
        headers=auth(merchant.secret),
    )
    assert response.status_code == 400
    # …and the contract refuses B sending A's payment.
    built = await wallet_transactions(
        client, merchant.secret, intent["id"], payer=PAYER.address, method="approve"
    )
    _approve, pay = built["transactions"]
    usdc.functions.approve(pay["to"], 25_000_000).transact({"from": OTHER.address})
    call = {"from": OTHER.address, "to": pay["to"], "data": pay["data"]}
    with pytest.raises(Exception) as info:
        chain.w3.eth.call(call)
    assert decode_revert(bytes.fromhex(info.value.data[2:])).name == "WrongPayer"


async def test_expired_intent_fails_on_chain_with_intent_expired(client, merchant, chain_env):
    chain, _, _usdc, _ = chain_env
    intent = await new_intent(client, merchant.secret, expires_in=60)
    built = await wallet_transactions(
        client, merchant.secret, intent["id"], payer=PAYER.address, method="approve"
    )
    approve, pay = built["transactions"]
    assert sign_and_send(chain, PAYER, approve)["status"] == 1
    chain.time_travel(120)
    with pytest.raises(Exception) as info:
        chain.w3.eth.call({"from": PAYER.address, "to": pay["to"], "data": pay["data"]})
    assert decode_revert(bytes.fromhex(info.value.data[2:])).name == "IntentExpired"


async def test_escrow_deposit_capture_and_refund_through_the_api(client, merchant, chain_env):
    chain, _, usdc, _ = chain_env
    intent = await new_intent(client, merchant.secret, capture_method="manual")
    built = await wallet_transactions(
        client, merchant.secret, intent["id"], payer=PAYER.address, method="approve"
    )
    assert built["steps"] == ["approve", "deposit"]
    for tx in built["transactions"]:
        assert sign_and_send(chain, PAYER, tx)["status"] == 1
    payout_before, payer_before = balance(usdc, PAYOUT), balance(usdc, PAYER.address)

    captured = await client.post(
        f"/v1/payment_intents/{intent['id']}/capture",
        json={"amount_to_capture": "10000000"},
        headers=auth(merchant.secret),
    )
    assert captured.status_code == 200, captured.text
    body = captured.json()
    assert body["status"] == "requires_capture"
    assert body["amount_received"] == "25000000" and body["amount_capturable"] == "15000000"
    assert balance(usdc, PAYOUT) - payout_before == 9_900_000

    too_much = await client.post(
        f"/v1/payment_intents/{intent['id']}/capture",
        json={"amount_to_capture": "15000001"},
        headers=auth(merchant.secret),
    )
    assert too_much.status_code == 400 and too_much.json()["error"]["code"] == "amount_too_large"

    refund = await client.post(
        "/v1/refunds",
        json={"payment_intent": intent["id"], "reason": "requested_by_customer"},
        headers=auth(merchant.secret),
    )
    assert refund.status_code == 200, refund.text
    assert refund.json()["amount"] == "15000000" and refund.json()["status"] == "succeeded"
    assert balance(usdc, PAYER.address) - payer_before == 15_000_000
    after = (await client.get(f"/v1/payment_intents/{intent['id']}", headers=auth(merchant.secret))).json()
    assert after["status"] == "succeeded" and after["amount_refunded"] == "15000000"
    listed = (
        await client.get(f"/v1/refunds?payment_intent={intent['id']}", headers=auth(merchant.secret))
    ).json()
    assert [r["id"] for r in listed["data"]] == [refund.json()["id"]]


async def test_capture_of_an_unfunded_escrow_is_an_invalid_state(client, merchant):
    intent = await new_intent(client, merchant.secret, capture_method="manual")
    response = await client.post(f"/v1/payment_intents/{intent['id']}/capture", headers=auth(merchant.secret))
    assert (
        response.status_code == 400 and response.json()["error"]["code"] == "payment_intent_unexpected_state"
    )


async def test_refund_of_an_automatic_payment_is_unsupported(client, merchant):
    intent = await new_intent(client, merchant.secret)
    response = await client.post(
        "/v1/refunds", json={"payment_intent": intent["id"]}, headers=auth(merchant.secret)
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "refund_unsupported"


async def test_another_merchant_cannot_capture_or_refund(client, merchant, other_merchant):
    intent = await new_intent(client, merchant.secret, capture_method="manual")
    capture = await client.post(
        f"/v1/payment_intents/{intent['id']}/capture", headers=auth(other_merchant.secret)
    )
    refund = await client.post(
        "/v1/refunds", json={"payment_intent": intent["id"]}, headers=auth(other_merchant.secret)
    )
    assert capture.status_code == 404 and refund.status_code == 404


async def test_cancelled_intent_can_no_longer_be_paid(client, merchant, chain_env):
    chain, _, _, _ = chain_env
    intent = await new_intent(client, merchant.secret)
    built = await wallet_transactions(
        client, merchant.secret, intent["id"], payer=PAYER.address, method="approve"
    )
    approve, pay = built["transactions"]
    assert sign_and_send(chain, PAYER, approve)["status"] == 1
    cancelled = await client.post(f"/v1/payment_intents/{intent['id']}/cancel", headers=auth(merchant.secret))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "canceled"
    with pytest.raises(Exception) as info:
        chain.w3.eth.call({"from": PAYER.address, "to": pay["to"], "data": pay["data"]})
    assert decode_revert(bytes.fromhex(info.value.data[2:])).name == "NonceAlreadyUsed"


async def test_cancelling_a_funded_escrow_returns_the_funds_to_the_payer(client, merchant, chain_env):
    chain, _, usdc, _ = chain_env
    intent = await funded_escrow(client, merchant.secret, chain)
    # The API learns of the deposit (here through a capture attempt's read; later from the indexer).
    partial = await client.post(
        f"/v1/payment_intents/{intent['id']}/capture",
        json={"amount_to_capture": "1"},
        headers=auth(merchant.secret),
    )
    assert partial.json()["status"] == "requires_capture"
    before = balance(usdc, PAYER.address)
    cancelled = await client.post(f"/v1/payment_intents/{intent['id']}/cancel", headers=auth(merchant.secret))
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "canceled"
    assert balance(usdc, PAYER.address) - before == 25_000_000 - 1
    assert cancelled.json()["amount_refunded"] == str(25_000_000 - 1)


async def test_another_merchant_cannot_see_a_refund(client, merchant, other_merchant, chain_env):
    chain, _, _, _ = chain_env
    intent = await funded_escrow(client, merchant.secret, chain)
    created = await client.post(
        "/v1/refunds", json={"payment_intent": intent["id"]}, headers=auth(merchant.secret)
    )
    refund = created.json()
    seen = await client.get(f"/v1/refunds/{refund['id']}", headers=auth(other_merchant.secret))
    assert seen.status_code == 404
    listed = await client.get("/v1/refunds", headers=auth(other_merchant.secret))
    assert listed.json()["data"] == []
    mine = await client.get(f"/v1/refunds/{refund['id']}", headers=auth(merchant.restricted))
    assert mine.status_code == 200 and mine.json()["amount"] == "25000000"


async def test_capture_and_refund_record_their_events(client, merchant, chain_env):
    chain, _, _, _ = chain_env
    intent = await funded_escrow(client, merchant.secret, chain)
    captured = await client.post(
        f"/v1/payment_intents/{intent['id']}/capture",
        json={"amount_to_capture": "10000000"},
        headers=auth(merchant.secret),
    )
    assert captured.status_code == 200, captured.text
    refund = await client.post(
        "/v1/refunds", json={"payment_intent": intent["id"]}, headers=auth(merchant.secret)
    )
    assert refund.status_code == 200, refund.text
    events = (await client.get("/v1/events?limit=20", headers=auth(merchant.secret))).json()["data"]
    by_type = {e["type"]: e for e in events}
    partial = by_type["payment_intent.amount_capturable_updated"]
    assert partial["data"]["object"]["amount_capturable"] == "15000000"
    assert partial["data"]["previous_attributes"]["amount_capturable"] == "25000000"
    done = by_type["payment_intent.succeeded"]
    assert done["data"]["object"]["status"] == "succeeded"
    assert done["data"]["previous_attributes"]["status"] == "requires_capture"
    assert by_type["refund.created"]["data"]["object"]["id"] == refund.json()["id"]
    assert by_type["refund.succeeded"]["data"]["object"] == refund.json()


async def test_native_coin_needs_no_method_and_a_token_must_name_one(client, merchant, chain_env):
    chain, _, _, _ = chain_env
    intent = await new_intent(client, merchant.secret, asset="ETH", amount=str(10**16))
    built = await wallet_transactions(client, merchant.secret, intent["id"], payer=PAYER.address)
    assert built["method"] == "native"
    [tx] = built["transactions"]
    assert sign_and_send(chain, PAYER, tx)["status"] == 1
    token = await new_intent(client, merchant.secret)
    response = await client.post(
        f"/v1/payment_intents/{token['id']}/transactions",
        json={"payer": PAYER.address},
        headers=auth(merchant.secret),
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "method"
    assert response.json()["error"]["code"] == "parameter_missing"


async def test_the_zero_address_cannot_be_a_payer(client, merchant):
    intent = await new_intent(client, merchant.secret)
    response = await client.post(
        f"/v1/payment_intents/{intent['id']}/transactions",
        json={"payer": "0x" + "00" * 20, "method": "approve"},
        headers=auth(merchant.secret),
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "code": "invalid_address",
        "message": "payer is the zero address, which no one controls",
        "param": "payer",
    }
