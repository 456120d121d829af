"""The rail against the local cluster over HTTP, exactly as against a real node: build through the
RPC, sign as the payer, send, find by reference, watch, and follow the commitment to finalized."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from solders.keypair import Keypair
from solders.rpc.responses import (
    GetAccountInfoResp,
    GetBalanceResp,
    GetLatestBlockhashResp,
    GetSignaturesForAddressResp,
    GetSignatureStatusesResp,
    GetTokenAccountBalanceResp,
    GetTransactionResp,
)

from sluice.errors import InsufficientBalanceError
from sluice.rails.solana.devchain.cluster import LocalCluster
from sluice.rails.solana.observe import PaymentVerdict
from sluice.rails.solana.rail import SolanaRail
from sluice.rails.solana.rpc import SolanaRpc, SolanaRpcError
from sluice.rails.solana.transaction import decode_transaction
from sluice.rails.solana.watcher import ReferenceWatcher, find_reference, watched_account

from solana_fixtures import make_payment, usdc_balance


async def pay(rpc: SolanaRpc, payment: object, payer: Keypair) -> str:
    """The wallet's part: ask the rail for the transaction, sign it exactly as returned, send it."""
    instructions = await SolanaRail().build(payment, str(payer.pubkey()), rpc=rpc)
    tx = decode_transaction(instructions.transactions[0]["transaction"])
    tx.partial_sign([payer], tx.message.recent_blockhash)
    return await rpc.send_transaction(tx)


async def test_payment_over_http_is_found_by_reference_and_finalizes(
    rpc_url: str, cluster: LocalCluster, keys: dict[str, Keypair]
) -> None:
    rpc = SolanaRpc(rpc_url)
    merchant, platform = Keypair().pubkey(), keys["platform"].pubkey()
    payment = make_payment(merchant, amount=7_000_000, splits=((platform, 1_000),))
    signature = await pay(rpc, payment, keys["payer"])
    assert usdc_balance(cluster, merchant) == 6_300_000

    [seen] = await find_reference(rpc, payment, commitment="confirmed")
    assert seen.tx.signature == signature and seen.validation.verdict == PaymentVerdict.paid
    [entry] = SolanaRail().decode("solana-local", [seen])
    assert entry.amount == 7_000_000 and entry.fee_amounts == (700_000,)

    for _ in range(100):  # the cluster finalizes two slots later; its slots tick every 50 ms
        [status] = await rpc.signature_statuses([signature])
        if status and status["confirmationStatus"] == "finalized":
            break
        await asyncio.sleep(0.02)
    assert status is not None and status["confirmationStatus"] == "finalized"
    assert status["slot"] <= await rpc.slot("finalized")
    assert len(await find_reference(rpc, payment, commitment="finalized")) == 1
    assert SolanaRail().finality("solana-local").commitment == "finalized"
    await rpc.aclose()


async def test_finalized_view_lags_the_confirmed_view(
    rpc_url: str, cluster: LocalCluster, keys: dict[str, Keypair]
) -> None:
    cluster.finality_depth = 10**6  # nothing finalizes during this test
    rpc = SolanaRpc(rpc_url)
    payment = make_payment(Keypair().pubkey(), asset="SOL", amount=1_000_000)
    signature = await pay(rpc, payment, keys["payer"])
    assert await rpc.transaction(signature, commitment="finalized") is None
    assert await rpc.transaction(signature, commitment="confirmed") is not None
    assert await find_reference(rpc, payment, commitment="finalized") == []
    [status] = await rpc.signature_statuses([signature])
    assert status is not None and status["confirmationStatus"] == "confirmed"
    await rpc.aclose()


async def test_watcher_costs_one_call_per_followed_account_whatever_the_open_intents(
    rpc_url: str, keys: dict[str, Keypair]
) -> None:
    rpc = SolanaRpc(rpc_url)
    merchant = Keypair().pubkey()
    payments = [make_payment(merchant, amount=1_000_000 + i, intent_id=f"pi_{i}") for i in range(500)]
    watcher = ReferenceWatcher(rpc)
    watcher.watch(payments)
    assert await watcher.poll() == []
    paid = [payments[7], payments[300]]
    for payment in paid:
        await pay(rpc, payment, keys["payer"])
    rpc.calls.clear()
    observations = await watcher.poll()
    assert [o.payment.intent_id for o in observations] == ["pi_7", "pi_300"]
    assert all(o.validation.verdict == PaymentVerdict.paid for o in observations)
    assert rpc.calls == {"getSignaturesForAddress": 1, "getTransaction": 2}
    rpc.calls.clear()
    assert await watcher.poll() == []
    assert rpc.calls == {"getSignaturesForAddress": 1}
    assert watcher.cursors[watched_account(payments[0])] == observations[-1].tx.signature
    await rpc.aclose()


async def test_build_refuses_a_payer_without_the_funds(rpc_url: str) -> None:
    rpc = SolanaRpc(rpc_url)
    payment = make_payment(Keypair().pubkey())
    with pytest.raises(InsufficientBalanceError) as info:
        await SolanaRail().build(payment, str(Keypair().pubkey()), rpc=rpc)
    assert info.value.balance == 0 and info.value.required == payment.amount
    await rpc.aclose()


async def test_a_failing_transaction_is_a_preflight_error(rpc_url: str, keys: dict[str, Keypair]) -> None:
    rpc = SolanaRpc(rpc_url)
    payer = Keypair()
    payment = make_payment(Keypair().pubkey())
    instructions = await SolanaRail().build(payment, str(payer.pubkey()), rpc=rpc, check_balance=False)
    tx = decode_transaction(instructions.transactions[0]["transaction"])
    tx.partial_sign([payer], tx.message.recent_blockhash)
    with pytest.raises(SolanaRpcError) as info:
        await rpc.send_transaction(tx)
    assert info.value.rpc_code == -32002
    assert await find_reference(rpc, payment) == []
    await rpc.aclose()


async def test_answers_have_the_documented_shapes(
    rpc_url: str, cluster: LocalCluster, keys: dict[str, Keypair]
) -> None:
    """solders parses each answer with the RPC's own response types: a wrong shape fails to parse."""
    rpc = SolanaRpc(rpc_url)
    payment = make_payment(Keypair().pubkey(), amount=2_000_000)
    signature = await pay(rpc, payment, keys["payer"])
    payer_ata = watched_account(make_payment(keys["payer"].pubkey()))

    async def raw(method: str, *params: object) -> str:
        async with httpx.AsyncClient() as client:
            body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
            return (await client.post(rpc_url, json=body)).text

    tx = GetTransactionResp.from_json(await raw("getTransaction", signature, {"encoding": "base64"}))
    assert tx.value is not None and tx.value.slot > 0
    assert tx.value.transaction.meta is not None and tx.value.transaction.meta.fee == 5_000
    sigs = GetSignaturesForAddressResp.from_json(
        await raw("getSignaturesForAddress", str(payment.reference_key))
    )
    assert [str(s.signature) for s in sigs.value] == [signature]
    assert sigs.value[0].memo == "[7] pi_test"
    GetLatestBlockhashResp.from_json(await raw("getLatestBlockhash"))
    assert GetBalanceResp.from_json(await raw("getBalance", str(keys["payer"].pubkey()))).value > 0
    balance = GetTokenAccountBalanceResp.from_json(await raw("getTokenAccountBalance", payer_ata))
    assert int(balance.value.amount) == usdc_balance(cluster, keys["payer"].pubkey())
    statuses = GetSignatureStatusesResp.from_json(await raw("getSignatureStatuses", [signature]))
    assert statuses.value[0] is not None
    info = GetAccountInfoResp.from_json(await raw("getAccountInfo", payer_ata, {"encoding": "base64"}))
    assert info.value is not None and len(info.value.data) == 165
    unknown = json.loads(await raw("getBlockProduction"))
    assert unknown["error"]["code"] == -32601
    await rpc.aclose()


def test_server_binds_loopback_only(rpc_url: str) -> None:
    assert rpc_url.startswith("http://127.0.0.1:")


async def test_transaction_request_post_answers_a_signable_transaction(
    rpc_url: str, cluster: LocalCluster, keys: dict[str, Keypair]
) -> None:
    rpc = SolanaRpc(rpc_url)
    merchant = Keypair().pubkey()
    payment = make_payment(merchant, amount=3_000_000, splits=((keys["platform"].pubkey(), 50),))
    answer = await SolanaRail().transaction_request(
        payment, {"account": str(keys["payer2"].pubkey())}, rpc=rpc
    )
    assert set(answer) == {"transaction", "message"} and answer["message"] == "Payment pi_test"
    tx = decode_transaction(answer["transaction"])
    tx.partial_sign([keys["payer2"]], tx.message.recent_blockhash)
    await rpc.send_transaction(tx)
    assert usdc_balance(cluster, merchant) == 2_985_000
    await rpc.aclose()


def test_dev_info_file_keeps_the_stack_facts_and_holds_usable_keys(
    tmp_path: object, keys: dict[str, Keypair]
) -> None:
    from pathlib import Path

    from sluice.rails.solana.devchain.devinfo import dev_info, merge_into

    path = Path(str(tmp_path)) / ".sluice" / "dev.json"
    path.parent.mkdir()
    path.write_text('{"api_url": "http://127.0.0.1:8000"}')
    merge_into(path, dev_info("http://127.0.0.1:8899", keys))
    info = json.loads(path.read_text())
    assert info["api_url"] == "http://127.0.0.1:8000"
    payer = info["solana"]["keypairs"]["payer"]
    assert str(Keypair.from_base58_string(payer["secret_key"]).pubkey()) == payer["address"]
    assert path.stat().st_mode & 0o777 == 0o600


async def test_settle_sorts_final_pending_and_dropped(
    rpc_url: str, cluster: LocalCluster, keys: dict[str, Keypair]
) -> None:
    from solders.signature import Signature

    from sluice.rails.solana.watcher import settle

    rpc = SolanaRpc(rpc_url)
    cluster.finality_depth = 10**6
    pending = await pay(rpc, make_payment(Keypair().pubkey(), asset="SOL", amount=10**9), keys["payer"])
    unknown = str(Signature.new_unique())
    settlement = await settle(rpc, [pending, unknown])
    assert settlement.pending == (pending,) and settlement.dropped == (unknown,) and settlement.final == ()
    cluster.finality_depth = 0
    assert (await settle(rpc, [pending])).final == (pending,)
    await rpc.aclose()


async def test_build_refuses_a_sol_leg_too_small_for_a_new_account(
    rpc_url: str, keys: dict[str, Keypair]
) -> None:
    from sluice.errors import InvalidRequestError

    rpc = SolanaRpc(rpc_url)
    payment = make_payment(
        keys["merchant"].pubkey(), asset="SOL", amount=10**8, splits=((Keypair().pubkey(), 10),)
    )
    with pytest.raises(InvalidRequestError) as info:
        await SolanaRail().build(payment, str(keys["payer"].pubkey()), rpc=rpc)
    assert info.value.code == "recipient_not_rent_exempt" and info.value.param == "splits"
    await rpc.aclose()


async def test_watcher_pages_back_through_a_long_gap(rpc_url: str, keys: dict[str, Keypair]) -> None:
    rpc = SolanaRpc(rpc_url)
    merchant = Keypair().pubkey()
    payments = [make_payment(merchant, amount=1_000_000, intent_id=f"pi_{i}") for i in range(6)]
    watcher = ReferenceWatcher(rpc, page=2)
    watcher.watch(payments)
    await pay(rpc, payments[0], keys["payer"])
    assert [o.payment.intent_id for o in await watcher.poll()] == ["pi_0"]
    for payment in payments[1:]:
        await pay(rpc, payment, keys["payer"])
    rpc.calls.clear()
    assert [o.payment.intent_id for o in await watcher.poll()] == [f"pi_{i}" for i in range(1, 6)]
    assert rpc.calls["getSignaturesForAddress"] == 3  # pages of 2, 2 and 1
    await rpc.aclose()


class FlakyRpc(SolanaRpc):
    """The local node, except that chosen getTransaction calls fail or see nothing yet."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.fail_next = 0
        self.unreadable: set[str] = set()

    async def transaction(self, signature: str, *, commitment: str = "confirmed") -> dict[str, object] | None:
        if self.fail_next:
            self.fail_next -= 1
            raise SolanaRpcError("Solana RPC getTransaction failed: ReadTimeout")
        if signature in self.unreadable:
            return None
        return await super().transaction(signature, commitment=commitment)


async def test_watcher_never_moves_a_cursor_past_what_it_could_not_read(
    rpc_url: str, keys: dict[str, Keypair]
) -> None:
    rpc = FlakyRpc(rpc_url)
    merchant = Keypair().pubkey()
    payments = [make_payment(merchant, amount=1_000_000, intent_id=f"pi_{i}") for i in range(3)]
    watcher = ReferenceWatcher(rpc)
    watcher.watch(payments)
    first = await pay(rpc, payments[0], keys["payer"])
    assert [o.payment.intent_id for o in await watcher.poll()] == ["pi_0"]
    account = watched_account(payments[0])
    assert watcher.cursors[account] == first

    second = await pay(rpc, payments[1], keys["payer"])
    await pay(rpc, payments[2], keys["payer"])
    rpc.fail_next = 1  # the node times out: nothing is lost, the cursor stays
    with pytest.raises(SolanaRpcError):
        await watcher.poll()
    assert watcher.cursors[account] == first

    rpc.unreadable = {second}  # listed but not readable yet: stop before it
    assert await watcher.poll() == []
    assert watcher.cursors[account] == first

    rpc.unreadable = set()
    assert [o.payment.intent_id for o in await watcher.poll()] == ["pi_1", "pi_2"]
    await rpc.aclose()


async def test_build_refuses_a_usdc_payer_without_sol_for_fee_and_new_accounts(
    rpc_url: str, cluster: LocalCluster
) -> None:
    rpc = SolanaRpc(rpc_url)
    payer = Keypair()
    cluster.mint_usdc(payer.pubkey(), 50_000_000)  # USDC but no SOL
    payment = make_payment(Keypair().pubkey(), amount=10_000_000)
    with pytest.raises(InsufficientBalanceError, match="SOL") as info:
        await SolanaRail().build(payment, str(payer.pubkey()), rpc=rpc)
    rent = cluster.svm.minimum_balance_for_rent_exemption(165)
    assert info.value.balance == 0 and info.value.required == 5_000 + rent  # one new token account
    await rpc.aclose()
