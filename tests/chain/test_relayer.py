"""The relayer's nonce manager on a real anvil: several relays in flight at once, a stuck relay replaced
(same nonce, higher fees) until mined, and a nonce taken behind its back recovered."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3, Web3

from sluice.chain.registry import BUILTIN
from sluice.chain.relayer import RelayerNonceManager

from chains import ANVIL_KEYS, run_anvil

pytestmark = [pytest.mark.chain]

RELAYER = Account.from_key(ANVIL_KEYS[8])
SINK = "0x" + "5a" * 20


@pytest.fixture
def anvil():
    with run_anvil() as url:
        yield url


def _rpc(url: str, method: str, *params):
    return Web3(Web3.HTTPProvider(url)).provider.make_request(method, list(params))  # type: ignore[arg-type]


def _manager(url: str, **options) -> RelayerNonceManager:
    network = replace(BUILTIN["local"], rpc_urls=(url,))
    return RelayerNonceManager(AsyncWeb3(AsyncHTTPProvider(url)), network, RELAYER, **options)


def _call(value: int = 1) -> dict:
    return {"to": Web3.to_checksum_address(SINK), "data": "0x", "value": hex(value)}


async def test_several_relays_in_flight_get_consecutive_nonces_and_are_mined_together(anvil):
    _rpc(anvil, "evm_setAutomine", False)
    manager = _manager(anvil, stuck_after=600)
    start = Web3(Web3.HTTPProvider(anvil)).eth.get_transaction_count(RELAYER.address)

    sent = await asyncio.gather(*(manager.send(_call(i + 1), 21_000, label=f"r{i}") for i in range(5)))

    assert sorted(p.nonce for p in sent) == list(range(start, start + 5))
    assert manager.in_flight == 5  # none waits for another's block
    _rpc(anvil, "evm_mine")
    outcomes = await asyncio.gather(*(manager.wait(p, 10) for p in sent))
    assert all(o.succeeded for o in outcomes)
    assert len({o.block_number for o in outcomes}) == 1  # all five in the same block
    assert [o.fee_paid for o in outcomes] == [o.gas_used * o.effective_gas_price for o in outcomes]
    assert manager.in_flight == 0


async def test_stuck_relay_is_replaced_with_higher_fees_and_the_replacement_is_mined(anvil):
    _rpc(anvil, "evm_setAutomine", False)
    manager = _manager(anvil, stuck_after=0.3, bump_percent=20, poll_interval=0.05)
    pending = await manager.send(_call(), 21_000, label="stuck")
    first_tip = int(pending.tx["maxPriorityFeePerGas"], 16)
    first_cap = int(pending.tx["maxFeePerGas"], 16)

    for _ in range(100):  # nothing is mined: the watcher replaces it
        if len(pending.hashes) >= 2:
            break
        await asyncio.sleep(0.05)
    assert len(pending.hashes) >= 2
    _rpc(anvil, "evm_mine")
    outcome = await manager.wait(pending, 10)

    assert outcome.succeeded and outcome.replacements >= 1 and outcome.nonce == pending.nonce
    assert outcome.tx_hash == pending.hashes[-1]  # the node kept the replacement, dropped the original
    w3 = Web3(Web3.HTTPProvider(anvil))
    mined = w3.eth.get_transaction(outcome.tx_hash)
    assert int(mined["maxPriorityFeePerGas"]) >= first_tip * 120 // 100
    assert int(mined["maxFeePerGas"]) >= first_cap * 120 // 100
    assert w3.eth.get_transaction_count(RELAYER.address) == pending.nonce + 1


async def test_nonce_used_behind_the_managers_back_is_recovered(anvil):
    manager = _manager(anvil, stuck_after=600, poll_interval=0.05)
    first = await manager.send(_call(), 21_000)
    await manager.wait(first, 10)
    # Another process sends with the same key: the manager's counter is now behind.
    w3 = Web3(Web3.HTTPProvider(anvil))
    tx = {
        "to": Web3.to_checksum_address(SINK),
        "value": 1,
        "gas": 21_000,
        "nonce": w3.eth.get_transaction_count(RELAYER.address),
        "chainId": w3.eth.chain_id,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**9,
    }
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(RELAYER.sign_transaction(tx).raw_transaction)
    )

    second = await manager.send(_call(), 21_000)

    assert second.nonce == first.nonce + 2
    assert (await manager.wait(second, 10)).succeeded
