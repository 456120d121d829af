"""The evm-deposit rail's pure parts: Multicall3's code, EIP-681 URIs, Transfer log decoding."""

from __future__ import annotations

from ape_ethereum.multicall.constants import MULTICALL3_ADDRESS, MULTICALL3_CODE

from sluice.chain import multicall
from sluice.ledger.entries import EntryKind
from sluice.rails.evm_deposit import (
    TRANSFER_TOPIC,
    TX_INDEX_OFFSET,
    TransferSeen,
    Watched,
    decode_observed,
    transfer_transaction,
    transfer_uri,
)

TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DEPOSIT = "0x1111111111111111111111111111111111111111"


def test_multicall3_code_is_the_mainnet_code_ape_ships():
    assert multicall.ADDRESS == MULTICALL3_ADDRESS
    assert bytes(MULTICALL3_CODE) == multicall.RUNTIME


def test_eip681_uris_of_token_and_native_transfers():
    assert transfer_uri(56, TOKEN, DEPOSIT, 25 * 10**18) == (
        f"ethereum:{TOKEN}@56/transfer?address={DEPOSIT}&uint256=25000000000000000000"
    )
    assert transfer_uri(1, None, DEPOSIT, 10**17) == f"ethereum:{DEPOSIT}@1?value=100000000000000000"
    tx = transfer_transaction(56, TOKEN, DEPOSIT, 5)
    assert tx["to"] == TOKEN and tx["data"] == "0xa9059cbb" + "00" * 12 + "11" * 20 + "0" * 63 + "5"


def _log(token: str, to: str, amount: int, **extra: object) -> dict[str, object]:
    return {
        "address": token.lower(),
        "topics": [TRANSFER_TOPIC, "0x" + "00" * 12 + "22" * 20, "0x" + "00" * 12 + to[2:].lower()],
        "data": "0x" + format(amount, "064x"),
        "blockNumber": "0x10",
        "blockHash": "0x" + "ab" * 32,
        "transactionHash": "0x" + "cd" * 32,
        "logIndex": "0x3",
        **extra,
    }


def test_transfers_of_the_asked_token_are_received_and_others_stray():
    watched = Watched(b"\x01" * 32, DEPOSIT, TOKEN.lower())
    other = "0x" + "99" * 20
    entries = decode_observed(
        "local",
        [
            TransferSeen(_log(TOKEN, DEPOSIT, 7), watched),
            TransferSeen(_log(other, DEPOSIT, 9, logIndex="0x4", blockTimestamp="0x64"), watched),
            TransferSeen(_log(TOKEN, DEPOSIT, 1, removed=True), watched),
        ],
    )
    assert [(e.kind, e.amount, e.position.tx_index, e.source) for e in entries] == [
        (EntryKind.received, 7, TX_INDEX_OFFSET + 3, DEPOSIT),
        (EntryKind.stray, 9, TX_INDEX_OFFSET + 4, DEPOSIT),
    ]
    assert entries[0].payer == "0x" + "22" * 20 and entries[1].position.time == 100
