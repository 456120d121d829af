"""EIP-712 on both contracts: type hashes, domain and intent digest equal what eth-account computes
from sluice.chain.intents, so off-chain signatures verify on chain."""

import pytest
from eth_account import Account
from eth_utils import keccak

from sluice.chain.intents import (
    CLAIM_TYPEHASH,
    DOMAIN_NAMES,
    DOMAIN_VERSION,
    INTENT_TYPEHASH,
    SPLIT_TYPEHASH,
    Split,
)

from helpers import ZERO, digest, signable

pytestmark = pytest.mark.contracts

KINDS = ["payments", "escrow"]


@pytest.mark.parametrize("kind", KINDS)
def test_type_hashes_are_those_of_the_eip712_type_strings(system, kind):
    contract = system.contract(kind)
    # encodeType: the primary type, then only the types it references (PaymentIntent -> Split).
    split = "Split(address recipient,uint16 bps)"
    intent = (
        "PaymentIntent(bytes32 id,uint256 nonce,address token,uint256 amount,address payer,"
        "uint256 deadline,address merchant,Split[] splits,uint256 reclaimAfter,bool allowPartial)"
    )
    assert contract.functions.SPLIT_TYPEHASH().call() == keccak(text=split)
    assert contract.functions.INTENT_TYPEHASH().call() == keccak(text=intent + split)
    assert contract.functions.INTENT_TYPEHASH().call() == INTENT_TYPEHASH  # sluice.chain.intents agrees


def test_python_split_typehash_matches_the_contract(system):
    assert system.payments.functions.SPLIT_TYPEHASH().call() == SPLIT_TYPEHASH


def test_python_claim_typehash_matches_the_escrow(system):
    claim = "Claim(address account,address token,address to,uint256 nonce,uint256 deadline)"
    assert system.escrow.functions.CLAIM_TYPEHASH().call() == keccak(text=claim) == CLAIM_TYPEHASH


def _shapes(system):
    accounts = [a.address for a in system.chain.accounts[5:10]]
    return {
        "default": {},
        "no_splits": {"splits": ()},
        "five_splits": {"splits": tuple(Split(a, 100 + i) for i, a in enumerate(accounts))},
        "native_payer_bound": {"token": ZERO, "payer": system.payer, "amount": 10**18},
        "escrow_fields": {"reclaim_after": 2**40, "allow_partial": True},
        "extremes": {"nonce": 2**256 - 1, "amount": 2**256 - 1, "deadline": 2**256 - 1, "id": b"\xff" * 32},
    }


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "shape", ["default", "no_splits", "five_splits", "native_payer_bound", "escrow_fields", "extremes"]
)
def test_hash_intent_equals_the_eth_account_digest_of_typed_data(system, kind, shape):
    intent = system.intent(kind, **_shapes(system)[shape])
    assert system.contract(kind).functions.hashIntent(intent.as_tuple()).call() == digest(
        system, intent, kind
    )


def test_the_same_intent_hashes_differently_on_each_contract(system):
    intent = system.intent()
    on_payments = system.payments.functions.hashIntent(intent.as_tuple()).call()
    on_escrow = system.escrow.functions.hashIntent(intent.as_tuple()).call()
    assert on_payments != on_escrow
    assert on_escrow == digest(system, intent, "escrow")


@pytest.mark.parametrize("kind", KINDS)
def test_domain_separator_equals_the_eth_account_domain_hash(system, kind):
    intent = system.intent(kind)
    assert system.contract(kind).functions.domainSeparator().call() == signable(system, intent, kind).header


@pytest.mark.parametrize("kind", KINDS)
def test_eip712_domain_names_chain_and_contract(system, kind):
    contract = system.contract(kind)
    _fields, name, version, chain_id, verifying_contract, _salt, _extensions = (
        contract.functions.eip712Domain().call()
    )
    assert (name, version) == (DOMAIN_NAMES[kind], DOMAIN_VERSION)
    assert chain_id == system.chain.chain_id
    assert verifying_contract == contract.address


@pytest.mark.parametrize("kind", KINDS)
def test_operator_signature_recovers_to_the_signer_from_the_on_chain_digest(system, kind):
    intent = system.intent(kind)
    on_chain = system.contract(kind).functions.hashIntent(intent.as_tuple()).call()
    signer = Account._recover_hash(on_chain, signature=system.sign(intent, kind))
    assert signer == system.chain.operator.address == system.contract(kind).functions.signer().call()
