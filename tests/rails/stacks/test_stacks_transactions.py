"""Stacks transactions built in Python, byte for byte against @stacks/transactions."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stacks_helpers import CONTRACT, DEPLOYER, MERCHANT, TOKEN, needs_node, reference

from sluice.errors import SluiceValueError
from sluice.rails.stacks import clarity as cl
from sluice.rails.stacks.c32 import address_from_public_key
from sluice.rails.stacks.networks import get_stacks_network
from sluice.rails.stacks.sip018 import public_key
from sluice.rails.stacks.transactions import (
    ContractCall,
    ContractDeploy,
    PostCondition,
    unsigned_transaction,
)

TESTNET = get_stacks_network("stacks-testnet")
MAINNET = get_stacks_network("stacks-mainnet")


@needs_node
@settings(max_examples=1, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 2**40), st.integers(0, 2**40), st.integers(1, 2**63)),
        min_size=20,
        max_size=20,
    )
)
def test_unsigned_contract_calls_match_stacks_transactions(numbers: list[tuple[int, int, int]]) -> None:
    keys = [public_key(secrets.token_bytes(32)) for _ in numbers]
    requests, ours = [], []
    for (nonce, fee, amount), key in zip(numbers, keys, strict=True):
        mainnet = amount % 2 == 0
        network = MAINNET if mainnet else TESTNET
        payer = address_from_public_key(key, network.chain)
        contract = CONTRACT if not mainnet else "SP3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8QJ5SVTE.sluice-payments"
        token = TOKEN if not mainnet else "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token"
        conditions = [
            PostCondition(payer, amount),
            PostCondition(payer, amount // 3, "gte", asset=f"{token}::sbtc-token"),
            PostCondition(contract, 5, "lte"),
        ]
        args = (cl.UInt(amount), cl.Buffer(b"\1" * 65), cl.optional(cl.Principal(token)))
        tx = unsigned_transaction(
            version=network.transaction_version,
            chain_id=network.chain_id,
            sender=payer,
            nonce=nonce,
            fee=fee,
            payload=ContractCall(contract, "pay", args),
            post_conditions=conditions,
        )
        ours.append(tx.serialize().hex())
        requests.append(
            {
                "publicKey": key.hex(),
                "contract": contract,
                "function": "pay",
                "args": [
                    {"type": "uint", "value": str(amount)},
                    {"type": "buff", "value": "01" * 65},
                    {"type": "some", "value": {"type": "principal", "value": token}},
                ],
                "postConditions": [c.to_json() for c in conditions],
                "mode": "deny",
                "fee": str(fee),
                "nonce": str(nonce),
                "network": "mainnet" if mainnet else "testnet",
            }
        )
    assert reference({"calls": requests})["calls"] == ours


@needs_node
def test_signed_contract_deploy_matches_stacks_transactions() -> None:
    key = secrets.token_bytes(32)
    source = "(define-read-only (hello) u1)\n;; ünïcode\n"
    sender = address_from_public_key(public_key(key), "testnet")
    tx = unsigned_transaction(
        version=TESTNET.transaction_version,
        chain_id=TESTNET.chain_id,
        sender=sender,
        nonce=7,
        fee=12_345,
        payload=ContractDeploy("hello-world", source),
    ).sign(key)
    [expected] = reference(
        {
            "deploys": [
                {
                    "name": "hello-world",
                    "source": source,
                    "clarityVersion": 4,
                    "privateKey": key.hex() + "01",
                    "fee": "12345",
                    "nonce": "7",
                    "network": "testnet",
                }
            ]
        }
    )["deploys"]
    assert tx.serialize().hex() == expected["hex"]
    assert tx.txid() == "0x" + expected["txid"]


def test_signing_with_another_key_is_refused() -> None:
    tx = unsigned_transaction(
        version=0x80, chain_id=0x80000000, sender=DEPLOYER, nonce=0, fee=1, payload=ContractDeploy("a", "u1")
    )
    with pytest.raises(SluiceValueError, match="does not belong"):
        tx.sign(secrets.token_bytes(32))


def test_multisig_payers_and_bad_amounts_are_refused() -> None:
    with pytest.raises(SluiceValueError, match="multi-signature"):
        unsigned_transaction(
            version=0,
            chain_id=1,
            sender="SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4",
            nonce=0,
            fee=1,
            payload=ContractDeploy("a", "u1"),
        )
    with pytest.raises(SluiceValueError, match="64 bits"):
        PostCondition(MERCHANT, 2**64).serialize()
    with pytest.raises(SluiceValueError, match="CONTRACT::TOKEN-NAME"):
        PostCondition(MERCHANT, 1, asset=TOKEN).serialize()
