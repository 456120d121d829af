"""The platform operator's API: merchant accounts, fee bounds, suspension, fee revenue."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from sluice.accounts import platform_keys
from sluice.models.audit import AuditLog
from sluice.models.chain import LedgerRow
from sluice.models.merchant import Merchant
from sluice.rails.evm_contract import ENTRY_OF_EVENT

from intents_fixtures import FEE_RECIPIENT, auth, make_registry

pytestmark = pytest.mark.db
USDC = make_registry().asset("local", "USDC").address


@pytest.fixture
async def platform(sessions) -> str:
    async with sessions() as session, session.begin():
        return (await platform_keys.issue(session, "tests")).secret


async def test_create_update_and_list_accounts(client, platform, sessions, mailer):
    created = await client.post(
        "/v1/accounts",
        json={
            "name": "Shop",
            "payout_address": "0x" + "cd" * 20,
            "fee_bps": 250,
            "owner_email": "boss@shop.example",
        },
        headers=auth(platform),
    )
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["object"] == "account" and body["status"] == "active"
    assert body["fee_bps"] == body["effective_fee_bps"] == 250
    assert (
        mailer.outbox[-1].to == "boss@shop.example" and "/dashboard/accept?token=" in mailer.outbox[-1].body
    )
    updated = await client.post(f"/v1/accounts/{body['id']}", json={"fee_bps": None}, headers=auth(platform))
    assert updated.json()["fee_bps"] is None and updated.json()["effective_fee_bps"] == 100
    listed = await client.get("/v1/accounts", headers=auth(platform))
    assert [a["id"] for a in listed.json()["data"]] == [body["id"]]
    async with sessions() as session:
        merchant = await session.get(Merchant, body["id"])
        assert merchant is not None and merchant.fee_bps is None
        actions = (
            (await session.execute(select(AuditLog.action).order_by(AuditLog.created_at, AuditLog.id)))
            .scalars()
            .all()
        )
    assert actions == ["account.create", "account.update"]


async def test_a_fee_above_the_contracts_maximum_is_refused(client, platform, sessions):
    bounds = (await client.get("/v1/platform/fee_bounds", headers=auth(platform))).json()
    assert bounds["max_fee_bps"] == 3000
    at_bound = await client.post("/v1/accounts", json={"name": "A", "fee_bps": 3000}, headers=auth(platform))
    assert at_bound.status_code == 200
    above = await client.post("/v1/accounts", json={"name": "B", "fee_bps": 3001}, headers=auth(platform))
    assert above.status_code == 400
    assert above.json()["error"] == {
        "type": "invalid_request_error",
        "code": "fee_too_high",
        "message": "fee_bps must be between 0 and 3000 (the contracts' maximum fee)",
        "param": "fee_bps",
    }
    too_high_update = await client.post(
        f"/v1/accounts/{at_bound.json()['id']}", json={"fee_bps": 5000}, headers=auth(platform)
    )
    assert too_high_update.status_code == 400
    async with sessions() as session:
        names = (await session.execute(select(Merchant.name, Merchant.fee_bps))).all()
    assert [tuple(n) for n in names] == [("A", 3000)]


async def test_merchant_keys_cannot_use_the_platform_api(client, merchant):
    response = await client.post("/v1/accounts", json={"name": "X"}, headers=auth(merchant.secret))
    assert response.status_code == 401
    assert (await client.get("/v1/accounts")).status_code == 401


async def test_suspension_refuses_new_intents_until_reactivated(client, platform, merchant):
    body = {"network": "local", "asset": "USDC", "amount": "1000000"}
    existing = await client.post("/v1/payment_intents", json=body, headers=auth(merchant.secret))
    assert existing.status_code == 200
    suspended = await client.post(f"/v1/accounts/{merchant.id}/suspend", headers=auth(platform))
    assert suspended.json()["status"] == "suspended"
    refused = await client.post("/v1/payment_intents", json=body, headers=auth(merchant.secret))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "account_suspended"
    # What exists is still readable (and settles: the indexer does not look at the status).
    still = await client.get(f"/v1/payment_intents/{existing.json()['id']}", headers=auth(merchant.secret))
    assert still.status_code == 200
    await client.post(f"/v1/accounts/{merchant.id}/reactivate", headers=auth(platform))
    again = await client.post("/v1/payment_intents", json=body, headers=auth(merchant.secret))
    assert again.status_code == 200


async def test_fee_revenue_equals_hand_totals(client, platform, merchant, other_merchant, sessions):
    """Settled events carry fee_amounts in split order; only the `platform` split's share counts, and
    deposits (not yet settled) do not."""
    body = {"network": "local", "asset": "USDC", "amount": "1000000", "capture_method": "manual"}
    split = {"splits": [{"recipient": "0x" + "ee" * 20, "bps": 500}]}
    a = (
        await client.post("/v1/payment_intents", json={**body, **split}, headers=auth(merchant.secret))
    ).json()
    b = (await client.post("/v1/payment_intents", json=body, headers=auth(other_merchant.secret))).json()
    now = datetime.now(UTC)

    def event(
        intent: dict, merchant_id: str, name: str, amount: int, fees: list[int] | None, n: int
    ) -> LedgerRow:
        kind, reason = ENTRY_OF_EVENT[name]
        return LedgerRow(
            network="local", chain_id=31337, rail="evm-contract", source="0x" + "11" * 20,
            kind=str(kind), reason=reason and str(reason), intent_ref=os.urandom(32),
            payment_intent_id=intent["id"], merchant_id=merchant_id,
            tx_id="0x" + f"{n:064x}", block_index=0, tx_index=0, height=n,
            block_id="0x" + "22" * 32, block_time=now, asset=USDC, amount=amount,
            merchant_amount=amount - sum(fees or []),
            fee_amounts=[{"recipient": None, "amount": str(f)} for f in fees] if fees is not None else None,
        )  # fmt: skip

    async with sessions() as session, session.begin():
        session.add_all(
            [
                event(a, merchant.id, "Deposited", 1_000_000, None, 1),
                event(a, merchant.id, "Captured", 600_000, [6_000, 30_000], 2),  # platform 1%, split 5%
                event(a, merchant.id, "Captured", 400_000, [4_000, 20_000], 3),
                event(b, other_merchant.id, "Captured", 1_000_000, [10_000], 4),
            ]
        )
    revenue = await client.get("/v1/platform/fee_revenue", headers=auth(platform))
    assert revenue.status_code == 200
    rows = revenue.json()["data"]
    assert len(rows) == 1
    assert rows[0]["network"] == "local" and rows[0]["livemode"] is False and rows[0]["asset"] == "USDC"
    assert rows[0]["amount"] == str(6_000 + 4_000 + 10_000) and rows[0]["payments"] == 3
    one = await client.get(f"/v1/platform/fee_revenue?account={merchant.id}", headers=auth(platform))
    assert one.json()["data"][0]["amount"] == "10000"
    assert FEE_RECIPIENT  # the fee recipient the intents were signed with


SOLANA_WALLET = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"


@pytest.fixture
def solana_offered(app):
    """The app's rails with the Solana rail (its family's address rule)."""
    from sluice.rails.solana.rail import SolanaRail

    app.state.intents.rails.add(SolanaRail())


async def test_payout_addresses_per_chain_family(client, platform, sessions, solana_offered):
    """A merchant has one payout address per chain family, each checked by a rail of that family;
    `payout_address` stays the EVM one."""
    evm = "0x" + "cd" * 20
    created = await client.post(
        "/v1/accounts",
        json={"name": "Multi", "payout_address": evm, "payout_addresses": {"solana": SOLANA_WALLET}},
        headers=auth(platform),
    )
    assert created.status_code == 200, created.text
    body = created.json()
    from eth_utils import to_checksum_address

    assert body["payout_addresses"] == {"evm": to_checksum_address(evm), "solana": SOLANA_WALLET}
    assert body["payout_address"] == to_checksum_address(evm)
    # Setting one family leaves the others; null removes one.
    updated = await client.post(
        f"/v1/accounts/{body['id']}",
        json={"payout_addresses": {"solana": None}},
        headers=auth(platform),
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["payout_addresses"] == {"evm": to_checksum_address(evm)}
    async with sessions() as session:
        merchant = await session.get(Merchant, body["id"])
        assert merchant is not None
        assert merchant.payout_addresses == {"evm": to_checksum_address(evm)}


@pytest.mark.parametrize(
    ("addresses", "param"),
    [
        ({"solana": "0x" + "cd" * 20}, "payout_addresses.solana"),
        # A program-derived address (off the curve) cannot own the token accounts wallets derive.
        ({"solana": "Co24yjRpSdUBaycV24uZe9j7PnAqVmdiTrHqesV5U4XT"}, "payout_addresses.solana"),
        ({"evm": "0x" + "0" * 40}, "payout_addresses.evm"),
        ({"bitcoin": "bc1qxyz"}, "payout_addresses.bitcoin"),
    ],
)
async def test_a_bad_payout_address_is_refused_and_nothing_changes(
    client, platform, sessions, addresses, param
):
    created = await client.post("/v1/accounts", json={"name": "Strict"}, headers=auth(platform))
    account = created.json()["id"]
    refused = await client.post(
        f"/v1/accounts/{account}", json={"payout_addresses": addresses}, headers=auth(platform)
    )
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["param"] == param and error["code"] in {"invalid_address", "unknown_family"}
    async with sessions() as session:
        merchant = await session.get(Merchant, account)
        assert merchant is not None and merchant.payout_addresses == {}


async def test_payout_address_and_payout_addresses_must_agree(client, platform):
    refused = await client.post(
        "/v1/accounts",
        json={
            "name": "Both",
            "payout_address": "0x" + "cd" * 20,
            "payout_addresses": {"evm": "0x" + "ab" * 20},
        },
        headers=auth(platform),
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "parameter_invalid"
