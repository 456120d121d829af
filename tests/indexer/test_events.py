"""Unit tests: the hand-rolled event decoder agrees with eth-abi; RPC error sorting; range adaptation."""

from __future__ import annotations

import os

import pytest
from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from indexer.ranges import AdaptiveRange
from indexer.rpc import RangeTooLargeError, RpcClient, RpcError, TransientRpcError
from sluice.chain.events import decode_log, decode_logs, event_specs, log_filter

PAYER = to_checksum_address("0x" + "a1" * 20)
MERCHANT = to_checksum_address("0x" + "b2" * 20)
TOKEN = to_checksum_address("0x" + "c3" * 20)
CONTRACT = to_checksum_address("0x" + "d4" * 20)


def _topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


def _word(address: str) -> str:
    return "0x" + "00" * 12 + address[2:].lower()


def _log(
    topics: list[str], data: bytes, *, tx: str = "0x" + "11" * 32, index: int = 0, block: int = 7
) -> dict:
    return {
        "address": CONTRACT.lower(),
        "topics": topics,
        "data": "0x" + data.hex(),
        "blockNumber": hex(block),
        "blockHash": "0x" + "22" * 32,
        "transactionHash": tx,
        "logIndex": hex(index),
        "blockTimestamp": hex(1_700_000_000),
    }


def test_paid_decodes_as_eth_abi_encodes_it():
    intent_id = os.urandom(32)
    data = encode(["address", "uint256", "uint256", "uint256[]"], [TOKEN, 10**30, 10**30 - 3, [1, 2]])
    sig = "Paid(bytes32,address,address,address,uint256,uint256,uint256[])"
    event = decode_log(_log([_topic(sig), "0x" + intent_id.hex(), _word(PAYER), _word(MERCHANT)], data))
    assert event is not None
    assert (event.kind, event.name, event.onchain_id) == ("payments", "Paid", intent_id)
    assert (event.payer, event.merchant, event.token) == (PAYER, MERCHANT, TOKEN)
    assert (event.amount, event.merchant_amount, event.fee_amounts) == (10**30, 10**30 - 3, (1, 2))
    assert event.contract_address == CONTRACT and event.block_timestamp == 1_700_000_000


def test_native_token_is_none_and_escrow_totals_are_kept():
    intent_id = os.urandom(32)
    deposited = _log(
        [_topic("Deposited(bytes32,address,address,uint256,uint256)"), "0x" + intent_id.hex(), _word(PAYER)],
        encode(["address", "uint256", "uint256"], ["0x" + "00" * 20, 5, 9]),
    )
    captured = _log(
        [
            _topic("Captured(bytes32,address,uint256,uint256,uint256[],uint256)"),
            "0x" + intent_id.hex(),
            _word(MERCHANT),
        ],
        encode(["uint256", "uint256", "uint256[]", "uint256"], [4, 3, [1], 4]),
        index=1,
    )
    first, second = decode_logs([captured, deposited])  # sorted back into chain order
    assert (first.name, first.token, first.amount, first.total) == ("Deposited", None, 5, 9)
    assert (second.name, second.merchant, second.fee_amounts, second.total) == ("Captured", MERCHANT, (1,), 4)
    assert (first.tx_log_index, second.tx_log_index) == (0, 1)


def test_other_logs_are_skipped_and_do_not_count_in_the_transaction():
    unrelated = _log(
        [_topic("Transfer(address,address,uint256)"), _word(PAYER), _word(MERCHANT)], encode(["uint256"], [1])
    )
    voided = _log(
        [_topic("Voided(bytes32,address,uint256)"), "0x" + os.urandom(32).hex(), _word(PAYER)],
        encode(["uint256"], [3]),
        index=2,
    )
    [event] = decode_logs([unrelated, voided])
    assert event.name == "Voided" and event.tx_log_index == 0


def test_filter_covers_every_followed_event():
    names = {spec.name for spec in event_specs().values()}
    assert names == {"Paid", "Deposited", "Captured", "Refunded", "Voided", "Reclaimed"}
    flt = log_filter({"payments": CONTRACT}, 1, 2)
    assert flt["topics"] == [[t for t, s in event_specs().items() if s.kind == "payments"]]


@pytest.mark.parametrize(
    ("method", "code", "message", "kind"),
    [
        ("eth_getLogs", -32005, "query returned more than 10000 results", RangeTooLargeError),
        ("eth_getLogs", -32602, "Log response size exceeded, use a 2K block range", RangeTooLargeError),
        ("eth_getBlockByNumber", -32000, "header not found", TransientRpcError),
        ("eth_call", 3, "execution reverted", RpcError),
    ],
)
def test_rpc_errors_are_sorted(method, code, message, kind):
    error = RpcClient._classify(method, {"code": code, "message": message}, "http://x")
    assert type(error) is kind


def test_range_shrinks_on_refusal_and_grows_when_quiet():
    assert AdaptiveRange(maximum=5000, target_events=100).size == 250
    assert AdaptiveRange(maximum=100, target_events=100).size == 100
    r = AdaptiveRange(maximum=1000, target_events=100, size=1000)
    assert r.shrink() == 500 and r.shrink() == 250
    r.observe(events=10, blocks=250, seconds=0.1)
    assert r.size == 500
    r.observe(events=2000, blocks=500, seconds=0.1)
    assert r.size == 25
    r.observe(events=0, blocks=3, seconds=0.1)  # capped by the head: no signal
    assert r.size == 25
    for _ in range(20):
        r.shrink()
    assert r.size == 1
