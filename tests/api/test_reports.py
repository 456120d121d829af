"""GET /v1/reports/*: totals, CSV and scoping over indexed events (rows seeded as the indexer stores
them; tests/indexer covers producing them from a real chain, tests/reports the whole path)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from sluice.models.chain import IndexerState, LedgerRow
from sluice.models.event import Event
from sluice.models.payment_intent import PaymentIntent
from sluice.models.quote import Quote
from sluice.rails.evm_contract import ENTRY_OF_EVENT

from intents_fixtures import ESCROW, FEE_RECIPIENT, PAYMENTS, USDC_LOCAL, auth

pytestmark = pytest.mark.db

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
PAYER = "0x" + "66" * 20
PAYOUT = "0x" + "ab" * 20


def usdc() -> str:
    from eth_utils import to_checksum_address

    return str(to_checksum_address(USDC_LOCAL))


async def intent(client, key: str, **body) -> dict:
    payload = {"network": "local", "asset": "USDC", "amount": "25000000", **body}
    response = await client.post("/v1/payment_intents", json=payload, headers=auth(key))
    assert response.status_code == 200, response.text
    return response.json()


def row(pi: dict, merchant_id: str, name: str, n: int, amount: int, **extra) -> LedgerRow:
    """The ledger entry the EVM contract rail stores for the contract event `name`."""
    kind, reason = ENTRY_OF_EVENT[name]
    return LedgerRow(
        network="local",
        chain_id=31337,
        rail="evm-contract",
        source=PAYMENTS if name == "Paid" else ESCROW,
        kind=str(kind),
        reason=None if reason is None else str(reason),
        intent_ref=bytes.fromhex(pi["onchain"]["intent"]["id"][2:]),
        payment_intent_id=pi["id"],
        merchant_id=merchant_id,
        tx_id="0x" + f"{n:064x}",
        block_index=0,
        tx_index=0,
        height=n,
        block_id="0x" + f"{n + 1000:064x}",
        block_time=T0 + timedelta(hours=n),
        payer=PAYER,
        asset=extra.pop("token", usdc()),
        amount=amount,
        **extra,
    )


@pytest.fixture
async def books(client, merchant, other_merchant, sessions):
    """Merchant: a USDC payment (fiat-quoted), a USDC escrow deposit partly captured, refunded and
    voided, and an ETH payment a day later. Other merchant: one USDC payment."""
    paid = await intent(client, merchant.secret)
    escrow = await intent(client, merchant.secret, capture_method="manual", amount="10000000")
    eth = await intent(client, merchant.secret, asset="ETH", amount=str(10**18))
    theirs = await intent(client, other_merchant.secret)
    fee = lambda amount: [{"recipient": FEE_RECIPIENT, "amount": str(amount)}]  # noqa: E731
    m = merchant.id
    async with sessions() as s, s.begin():
        quote = Quote(
            merchant_id=merchant.id, fiat_amount=Decimal("25.00"), currency="usd", network="local",
            asset="USDC", decimals=6, rate=Decimal(1), source="fixed", amount=25_000_000,
            locked_until=T0,
        )  # fmt: skip
        s.add(quote)
        await s.flush()
        await s.execute(update(PaymentIntent).where(PaymentIntent.id == paid["id"]).values(quote_id=quote.id))
        s.add_all(
            [
                row(paid, m, "Paid", 1, 25_000_000, merchant_amount=24_750_000, fee_amounts=fee(250_000)),
                row(escrow, merchant.id, "Deposited", 2, 10_000_000, total=10_000_000),
                row(escrow, m, "Captured", 3, 6_000_000, merchant_amount=5_940_000, fee_amounts=fee(60_000)),
                row(escrow, merchant.id, "Refunded", 4, 1_000_000),
                row(escrow, merchant.id, "Voided", 5, 3_000_000),
                row(eth, merchant.id, "Paid", 30, 10**18, token=None, merchant_amount=99 * 10**16,
                    fee_amounts=fee(10**16)),
                row(theirs, other_merchant.id, "Paid", 6, 25_000_000, merchant_amount=24_750_000,
                    fee_amounts=fee(250_000)),
            ]
        )  # fmt: skip
        s.add(IndexerState(network="local", chain_id=31337, last_block=40, head_block=40, confirmed_block=40))
        s.add(
            Event(
                merchant_id=m, livemode=False, type="payment_intent.succeeded", object_id=paid["id"],
                data={}, created_at=T0 + timedelta(hours=1, seconds=3),
            )
        )  # fmt: skip
        await s.execute(
            update(PaymentIntent)
            .where(PaymentIntent.id.in_([paid["id"], eth["id"]]))
            .values(status="succeeded")
        )
    return {"paid": paid, "escrow": escrow, "eth": eth, "theirs": theirs}


async def get(client, key, path, **params):
    return await client.get(f"/v1/reports/{path}", params=params, headers=auth(key))


async def test_payments_report_lists_gross_fees_net_and_confirmations(client, merchant, books):
    body = (await get(client, merchant.secret, "payments")).json()
    rows = body["data"]
    assert [r["type"] for r in rows] == ["payment", "capture", "escrow_deposit", "payment"]  # newest first
    eth, capture, deposit, paid = rows
    assert paid["payment_intent"] == books["paid"]["id"] and paid["asset"] == "USDC"
    assert (paid["gross"], paid["fee_total"], paid["net"]) == ("25000000", "250000", "24750000")
    assert paid["gross_display"] == "25.000000" and paid["net_display"] == "24.750000"
    assert paid["fees"] == [{"recipient": FEE_RECIPIENT, "kind": "platform", "amount": "250000"}]
    assert paid["confirmations"] == 40 and paid["payer"] == PAYER and paid["block_number"] == 1
    assert paid["block_time"] == "2026-11-20T11:00:00Z"
    assert (deposit["gross"], deposit["fee_total"], deposit["net"]) == ("10000000", "0", "0")
    assert (capture["gross"], capture["net"]) == ("6000000", "5940000")
    assert eth["asset"] == "ETH" and eth["decimals"] == 18 and eth["gross_display"] == "1.000000000000000000"
    assert books["theirs"]["id"] not in {r["payment_intent"] for r in rows}

    only = (await get(client, merchant.secret, "payments", type="capture")).json()["data"]
    assert [r["id"] for r in only] == [capture["id"]]
    usdc_rows = (await get(client, merchant.secret, "payments", network="local", asset="USDC")).json()["data"]
    assert {r["asset"] for r in usdc_rows} == {"USDC"} and len(usdc_rows) == 3
    since = int((T0 + timedelta(hours=2)).timestamp())
    recent = (await get(client, merchant.secret, "payments", **{"created[gte]": since})).json()["data"]
    assert [r["type"] for r in recent] == ["payment", "capture", "escrow_deposit"]
    succeeded = (await get(client, merchant.secret, "payments", status="succeeded")).json()["data"]
    assert {r["payment_intent"] for r in succeeded} == {books["paid"]["id"], books["eth"]["id"]}


async def test_payments_pages_with_cursors_in_json_and_csv(client, merchant, books):
    first = (await get(client, merchant.secret, "payments", limit=3)).json()
    assert first["has_more"] is True and len(first["data"]) == 3
    second = (
        await get(client, merchant.secret, "payments", limit=3, starting_after=first["data"][-1]["id"])
    ).json()
    assert second["has_more"] is False and len(second["data"]) == 1
    back = (
        await get(client, merchant.secret, "payments", limit=3, ending_before=second["data"][0]["id"])
    ).json()
    assert [r["id"] for r in back["data"]] == [r["id"] for r in first["data"]]

    page = await get(client, merchant.secret, "payments", limit=2, format="csv")
    assert page.headers["content-type"].startswith("text/csv")
    assert page.headers["sluice-has-more"] == "true" and 'rel="next"' in page.headers["link"]
    nxt = page.headers["link"].split(";")[0].strip("<>")
    rest = await client.get(nxt, headers=auth(merchant.secret))
    ids = [r["id"] for r in csv.DictReader(io.StringIO(page.text))] + [
        r["id"] for r in csv.DictReader(io.StringIO(rest.text))
    ]
    assert ids == [r["id"] for r in first["data"] + second["data"]]


async def test_csv_round_trips_amounts_exactly(client, merchant, books):
    response = await client.get(
        "/v1/reports/payments", headers={**auth(merchant.secret), "Accept": "text/csv"}
    )
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    json_rows = (await get(client, merchant.secret, "payments")).json()["data"]
    assert [r["id"] for r in rows] == [r["id"] for r in json_rows]
    for text, obj in zip(rows, json_rows, strict=True):
        assert int(text["gross"]) == int(obj["gross"]) and int(text["net"]) == int(obj["net"])
        assert Decimal(text["gross_display"]) * 10 ** int(text["decimals"]) == int(text["gross"])
        assert text["block_time"].endswith("Z") and datetime.fromisoformat(text["block_time"])
    assert rows[0]["gross"] == str(10**18)  # no float rounding of an 18-decimal amount
    assert rows[-1]["fees"] == f"{FEE_RECIPIENT}:platform:250000"


async def test_balances_equal_hand_computed_totals(client, merchant, books):
    body = (await get(client, merchant.secret, "balances")).json()
    by_asset = {b["asset"]: b for b in body["data"]}
    usdc_balance = by_asset["USDC"]
    assert usdc_balance["received"] == str(25_000_000 + 10_000_000)
    assert usdc_balance["captured"] == "6000000"
    assert usdc_balance["refunded"] == str(1_000_000 + 3_000_000)
    assert usdc_balance["in_escrow"] == "0"
    assert usdc_balance["fees"] == str(250_000 + 60_000)
    assert usdc_balance["net"] == str(24_750_000 + 5_940_000)
    assert usdc_balance["payments"] == 2 and usdc_balance["received_display"] == "35.000000"
    assert by_asset["ETH"]["received"] == str(10**18) and by_asset["ETH"]["fees"] == str(10**16)
    text = await get(client, merchant.secret, "balances", format="csv")
    parsed = {r["asset"]: r for r in csv.DictReader(io.StringIO(text.text))}
    assert parsed["USDC"]["net"] == usdc_balance["net"]


async def test_summary_totals_fiat_counts_and_confirmation_time(client, merchant, books):
    body = (await get(client, merchant.secret, "summary", interval="day")).json()
    days = {(p["period_start"], p["asset"]): p for p in body["periods"]}
    first_day = days[("2026-11-20T00:00:00Z", "USDC")]
    assert (first_day["gross"], first_day["fees"], first_day["net"], first_day["refunded"]) == (
        "35000000", "310000", "30690000", "4000000",
    )  # fmt: skip
    assert days[("2026-11-21T00:00:00Z", "ETH")]["gross"] == str(10**18)
    assert body["fiat"] == [{"period_start": "2026-11-20T00:00:00Z", "currency": "usd", "amount": "25.00"}]
    assert body["status_counts"] == {"succeeded": 2, "requires_payment": 1}
    assert body["average_confirmation_seconds"] == 3.0 and body["confirmed_payments"] == 1
    month = (await get(client, merchant.secret, "summary", interval="month")).json()
    assert {p["period_start"] for p in month["periods"]} == {"2026-11-01T00:00:00Z"}


async def test_refunds_report(client, merchant, books):
    rows = (await get(client, merchant.secret, "refunds")).json()["data"]
    assert [(r["type"], r["amount"]) for r in rows] == [("void", "3000000"), ("refund", "1000000")]
    assert all(r["payment_intent"] == books["escrow"]["id"] for r in rows)


async def test_reports_are_scoped_to_the_merchant_and_mode(client, merchant, other_merchant, books):
    theirs = (await get(client, other_merchant.secret, "payments")).json()["data"]
    assert [r["payment_intent"] for r in theirs] == [books["theirs"]["id"]]
    balances = (await get(client, other_merchant.secret, "balances")).json()["data"]
    assert [(b["asset"], b["received"]) for b in balances] == [("USDC", "25000000")]
    summary = (await get(client, other_merchant.secret, "summary")).json()
    assert summary["average_confirmation_seconds"] is None and summary["fiat"] == []
    assert (await get(client, other_merchant.secret, "refunds")).json()["data"] == []
    # Live keys see only mainnets: none of these test-network rows.
    assert (await get(client, merchant.live_secret, "payments")).json()["data"] == []
    # Another merchant's row is not a cursor.
    mine = (await get(client, merchant.secret, "payments")).json()["data"][0]["id"]
    assert (await get(client, other_merchant.secret, "payments", starting_after=mine)).status_code == 404
    assert (await get(client, merchant.publishable, "payments")).status_code == 403
    assert (await get(client, merchant.restricted, "payments")).status_code == 200


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"network": "nope"}, "network"),
        ({"network": "ethereum"}, "network"),  # a live network with a test key
        ({"asset": "USDC"}, "asset"),
        ({"network": "local", "asset": "DOGE"}, "asset"),
        ({"status": "paid"}, "status"),
        ({"created[gte]": 20, "created[lte]": 10}, "created[gte]"),
        ({"created[gte]": "yesterday"}, "created[gte]"),
        ({"format": "xml"}, "format"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"starting_after": "pi_123"}, "starting_after"),
        ({"interval": "year"}, "interval"),
    ],
)
async def test_bad_filters_are_a_clear_400(client, merchant, params, param):
    path = "summary" if "interval" in params else "payments"
    response = await get(client, merchant.secret, path, **params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param


async def test_daily_rollups_equal_the_events_also_after_a_rollback(client, merchant, books, sessions):
    """Whole-day filters read the trigger-kept rollups, finer ones the events: both must agree,
    also after rows are deleted as a reorganisation's rollback deletes them."""

    async def both() -> tuple[dict, dict]:
        day = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())
        whole = await get(client, merchant.secret, "summary", **{"created[gte]": day})
        finer = await get(client, merchant.secret, "summary", **{"created[gte]": day + 1})
        return whole.json(), finer.json()

    whole, finer = await both()
    assert whole["periods"] == finer["periods"] and whole["fiat"] == finer["fiat"]
    async with sessions() as s, s.begin():
        await s.execute(
            LedgerRow.__table__.delete().where(
                (LedgerRow.kind == "captured")
                | ((LedgerRow.kind == "released") & (LedgerRow.reason == "void"))
            )
        )
        await s.execute(
            LedgerRow.__table__.delete().where(LedgerRow.payment_intent_id == books["paid"]["id"])
        )
    whole, finer = await both()
    assert whole["periods"] == finer["periods"] and whole["fiat"] == finer["fiat"] == []
    usdc_day = next(p for p in whole["periods"] if p["asset"] == "USDC")
    assert (usdc_day["gross"], usdc_day["fees"], usdc_day["net"], usdc_day["refunded"]) == (
        "10000000", "0", "0", "1000000",
    )  # fmt: skip
    balances = {b["asset"]: b for b in (await get(client, merchant.secret, "balances")).json()["data"]}
    assert balances["USDC"]["in_escrow"] == "9000000" and balances["USDC"]["captured"] == "0"
