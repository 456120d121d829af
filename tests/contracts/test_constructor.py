"""Deployment of both contracts: initial owner, signer, relayer and fee cap, and the arguments refused."""

import pytest

from sluice.contracts import load_artifact

from helpers import ZERO, event, reverts

pytestmark = pytest.mark.contracts

CONTRACTS = ["SluicePayments", "SluiceEscrow"]


def _deploy(system, name, owner, signer, max_fee_bps, relayer=None):
    """Deploys a fresh contract; returns it and the deployment receipt."""
    relayer = system.chain.relayer.address if relayer is None else relayer
    w3 = system.chain.w3
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx = factory.constructor(owner, signer, relayer, max_fee_bps).transact({"from": system.owner})
    receipt = dict(w3.eth.wait_for_transaction_receipt(tx))
    assert receipt["status"] == 1
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi), receipt


@pytest.mark.parametrize("name", CONTRACTS)
def test_constructor_sets_owner_signer_relayer_and_fee_cap(system, name):
    signer = system.chain.accounts[7].address
    relayer = system.chain.accounts[8].address
    contract, receipt = _deploy(system, name, system.other, signer, 1234, relayer)
    assert contract.functions.relayer().call() == relayer
    assert event(contract, "RelayerChanged", receipt) == {"previousRelayer": ZERO, "newRelayer": relayer}
    assert contract.functions.owner().call() == system.other
    assert contract.functions.pendingOwner().call() == ZERO
    assert contract.functions.signer().call() == signer
    assert contract.functions.isSigner(signer).call() is True
    assert contract.functions.previousSigner().call() == [ZERO, 0]
    assert contract.functions.maxFeeBps().call() == 1234
    assert contract.functions.paused().call() is False
    assert event(contract, "SignerRotated", receipt) == {
        "previousSigner": ZERO,
        "newSigner": signer,
        "previousValidUntil": 0,
    }


@pytest.mark.parametrize("name", CONTRACTS)
def test_constructor_rejects_max_fee_above_100_percent(system, name):
    with reverts("MaxFeeTooHigh", 10_001):
        _deploy(system, name, system.owner, system.chain.operator.address, 10_001)


@pytest.mark.parametrize("name", CONTRACTS)
def test_constructor_accepts_max_fee_of_exactly_100_percent(system, name):
    contract, _ = _deploy(system, name, system.owner, system.chain.operator.address, 10_000)
    assert contract.functions.maxFeeBps().call() == 10_000


@pytest.mark.parametrize("name", CONTRACTS)
def test_constructor_rejects_zero_signer(system, name):
    with reverts("ZeroAddress"):
        _deploy(system, name, system.owner, ZERO, 3000)


@pytest.mark.parametrize("name", CONTRACTS)
def test_constructor_rejects_zero_owner(system, name):
    with reverts("OwnableInvalidOwner", ZERO):
        _deploy(system, name, ZERO, system.chain.operator.address, 3000)


@pytest.mark.parametrize("name", CONTRACTS)
def test_constructor_rejects_zero_relayer(system, name):
    with reverts("ZeroAddress"):
        _deploy(system, name, system.owner, system.chain.operator.address, 3000, ZERO)
