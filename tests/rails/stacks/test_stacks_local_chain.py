"""End to end over HTTP on the simnet-backed Stacks API: `deploy_stacks` deploys and registers the
operator, the rail builds a payer's transaction from a Python-signed intent, the payer's key signs
it as a wallet would, the contract pays merchant and split, and the rail decodes the ledger entry."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from stacks_helpers import DEPLOYER, FEE_RECIPIENT, MERCHANT, PAYER, needs_node

from sluice.chain.manifest import read_manifest
from sluice.errors import DeploymentError
from sluice.ledger.entries import EntryKind
from sluice.rails.stacks.api import StacksApi, StacksApiError
from sluice.rails.stacks.deploy import deploy_stacks
from sluice.rails.stacks.devnode import DEV_DEPLOYER_KEY, DEV_WALLET_1_KEY, simnet_api
from sluice.rails.stacks.networks import get_stacks_network
from sluice.rails.stacks.observe import new_transactions
from sluice.rails.stacks.rail import StacksRail
from sluice.rails.stacks.sip018 import Split, StacksIntent, sign_intent
from sluice.rails.stacks.transactions import sign_serialized

pytestmark = [pytest.mark.contracts, pytest.mark.e2e, needs_node]

NETWORK = get_stacks_network("stacks-local")


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    with simnet_api() as url:
        yield url


async def _balance(api: StacksApi, principal: str) -> int:
    data = await api._json(f"/v2/accounts/{principal}?proof=0")
    return int(data["balance"], 16)


async def test_deploy_pay_and_observe_on_the_local_chain(api_url: str, tmp_path: Path) -> None:
    operator = secrets.token_bytes(32)
    async with StacksApi(api_url) as api:
        result = await deploy_stacks(NETWORK, api, DEV_DEPLOYER_KEY, operator, directory=tmp_path)
        assert result.deployed == ["sip-010-trait", "sluice-payments", "test-token"]
        manifest = read_manifest("stacks-local", tmp_path)
        assert manifest is not None
        contract = manifest["contracts"]["sluice-payments"]["contract_id"]
        assert contract == f"{DEPLOYER}.sluice-payments"
        assert await api.contract_source(contract) is not None

        # Idempotent: a second run changes nothing; another operator needs --force.
        again = await deploy_stacks(NETWORK, api, DEV_DEPLOYER_KEY, operator, directory=tmp_path)
        assert (again.changed, again.deployed) == (False, [])
        with pytest.raises(DeploymentError, match="--force"):
            await deploy_stacks(NETWORK, api, DEV_DEPLOYER_KEY, secrets.token_bytes(32), directory=tmp_path)

        rail = StacksRail({"stacks-local": contract}, apis={"stacks-local": api})
        intent = StacksIntent(
            id=secrets.token_bytes(32),
            nonce=1,
            token=None,
            amount=2_000_003,
            payer=None,
            deadline=int(time.time()) + 3600,
            merchant=MERCHANT,
            splits=(Split(FEE_RECIPIENT, 150),),
        )
        signature = sign_intent(intent, NETWORK.chain_id, contract, operator)
        instructions = await rail.build(intent, PAYER, network="stacks-local", signature=signature)
        [call] = instructions.transactions
        assert call["function_name"] == "pay"
        assert call["post_condition_mode"] == "deny"
        assert call["post_conditions"] == [
            {"type": "stx-postcondition", "address": PAYER, "condition": "eq", "amount": "2000003"}
        ]
        merchant_before = await _balance(api, MERCHANT)
        fee_before = await _balance(api, FEE_RECIPIENT)

        signed = sign_serialized(bytes.fromhex(call["unsigned_transaction"]), DEV_WALLET_1_KEY)
        tx_id = await api.broadcast(signed)
        tx = await api.wait_for(tx_id)

        [entry] = rail.decode("stacks-local", [tx])
        assert entry.kind is EntryKind.received
        assert (entry.intent_ref, entry.amount, entry.payer, entry.tx_id) == (
            intent.id,
            2_000_003,
            PAYER,
            tx_id,
        )
        assert (entry.merchant_amount, entry.fee_amounts) == (2_000_003 - 30_000, (30_000,))
        assert await _balance(api, MERCHANT) - merchant_before == 2_000_003 - 30_000
        assert await _balance(api, FEE_RECIPIENT) - fee_before == 30_000

        # The same intent again (a new transaction, next nonce) fails on chain with the contract's error.
        replay = await rail.build(intent, PAYER, network="stacks-local", signature=signature)
        replayed = sign_serialized(
            bytes.fromhex(replay.transactions[0]["unsigned_transaction"]), DEV_WALLET_1_KEY
        )
        replay_id = await api.broadcast(replayed)
        with pytest.raises(StacksApiError, match="abort_by_response"):
            await api.wait_for(replay_id, timeout=30)
        failed = await api.transaction(replay_id)
        assert failed is not None and failed["tx_result"]["repr"] == "(err u1007)"  # ERR_NONCE_USED
        assert rail.decode("stacks-local", [failed]) == []

        # The API's contract events page carries the same print event (newest first).
        [latest, *_] = await api.contract_events(contract)
        assert latest["tx_id"] == tx_id and latest["contract_log"]["contract_id"] == contract

        # Escrow: the payer deposits, the operator captures part and voids the rest.
        escrow = StacksIntent(
            id=secrets.token_bytes(32),
            nonce=2,
            token=None,
            amount=10_000,
            payer=PAYER,
            deadline=int(time.time()) + 3600,
            merchant=MERCHANT,
            reclaim_after=int(time.time()) + 7200,
        )
        signature = sign_intent(escrow, NETWORK.chain_id, contract, operator)
        built = await rail.build(escrow, PAYER, network="stacks-local", signature=signature)
        assert built.transactions[0]["function_name"] == "deposit"
        deposit = sign_serialized(
            bytes.fromhex(built.transactions[0]["unsigned_transaction"]), DEV_WALLET_1_KEY
        )
        observed = [await api.wait_for(await api.broadcast(deposit))]
        # The operator signs its own calls (the simnet API charges no fee, so it needs no STX here).
        for n, (function, amount) in enumerate((("capture", 4_000), ("void", None))):
            call = rail.operator_call(
                "stacks-local",
                function,
                escrow.id,
                None,
                amount=amount,
                operator_key=operator,
                nonce=n,
                fee=3000,
            )
            observed.append(await api.wait_for(await api.broadcast(call)))
        entries = rail.decode("stacks-local", observed)
        assert [(e.kind, e.amount) for e in entries] == [
            (EntryKind.escrow_deposited, 10_000),
            (EntryKind.captured, 4_000),
            (EntryKind.released, 6_000),
        ]

        # Following the contract through the API finds the same transactions, in chain order, and a
        # cursor that returns nothing new afterwards.
        followed = await new_transactions(api, contract, after=None, page_size=2)
        followed_ids = [t["tx_id"] for t in followed.transactions]
        assert followed_ids[-3:] == [t["tx_id"] for t in observed]
        assert tx_id in followed_ids and replay_id not in followed_ids  # the refused call printed nothing
        assert (
            rail.decode("stacks-local", followed.final(rail.finality("stacks-local").confirmations))[-3:]
            == entries
        )
        again_followed = await new_transactions(api, contract, after=followed.cursor)
        assert (again_followed.transactions, again_followed.cursor) == ([], followed.cursor)
        assert followed.final(followed.tip_height + 1) == []  # nothing is that deep


def test_sluice_deploy_cli_on_stacks_local(
    api_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sluice deploy --network stacks-local` writes the manifest, then finds everything in place."""
    from typer.testing import CliRunner

    from launcher.cli import app

    monkeypatch.setenv("SLUICE_DEPLOYMENTS_DIR", str(tmp_path))
    runner = CliRunner()
    first = runner.invoke(app, ["deploy", "--network", "stacks-local", "--api-url", api_url])
    assert first.exit_code == 0, first.output
    manifest = read_manifest("stacks-local", tmp_path)
    assert manifest is not None and manifest["family"] == "stacks"
    assert manifest["contracts"]["sluice-payments"]["contract_id"] == f"{DEPLOYER}.sluice-payments"
    second = runner.invoke(app, ["deploy", "--network", "stacks-local", "--api-url", api_url])
    assert second.exit_code == 0, second.output
    assert "(unchanged)" in second.output
    assert read_manifest("stacks-local", tmp_path) == manifest
    verified = runner.invoke(app, ["deploy", "verify", "--network", "stacks-local", "--api-url", api_url])
    assert verified.exit_code == 0, verified.output
    assert verified.output.count("source matches") == 3 and "NO" not in verified.output
    # A manifest that records another operator key than the contract holds fails verification.
    (tmp_path / "stacks-local.json").write_text(
        json.dumps(manifest | {"operator_public_key": "02" + "11" * 32}), encoding="utf-8"
    )
    tampered = runner.invoke(app, ["deploy", "verify", "--network", "stacks-local", "--api-url", api_url])
    assert tampered.exit_code == 1 and "NO" in tampered.output
    unknown = runner.invoke(app, ["deploy", "--network", "stacks-nowhere", "--api-url", api_url])
    assert unknown.exit_code == 2
    assert "unknown Stacks network" in unknown.output
