"""Test chains behind one interface: an in-process py-evm (eth-tester) and a real anvil node."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from sluice.chain.node import free_port as free_port  # re-exported for the tests
from sluice.chain.node import run_anvil as run_anvil  # re-exported for the tests
from sluice.contracts import load_artifact

# anvil's default mnemonic ("test test … junk") accounts 0..9; eth-tester uses its own keys.
ANVIL_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
]

#: A fixed operator (intent signer) key for tests (never funded on a real network).
OPERATOR_KEY = "0x" + "11" * 32
#: A fixed relayer key for tests: sends escrow captures, refunds and voids (a role apart from the signer).
RELAYER_KEY = "0x" + "22" * 32


class Chain:
    """A web3 connection plus the test controls both backends share (snapshots, time travel)."""

    def __init__(self, w3: Web3, kind: str, keys: list[str]) -> None:
        self.w3 = w3
        self.kind = kind
        self.accounts: list[LocalAccount] = [Account.from_key(k) for k in keys]
        self.operator: LocalAccount = Account.from_key(OPERATOR_KEY)
        self.relayer: LocalAccount = Account.from_key(RELAYER_KEY)

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def now(self) -> int:
        """Timestamp of the latest block."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def snapshot(self) -> Any:
        if self.kind == "anvil":
            return self.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[union-attr]
        return self.w3.testing.snapshot()

    def revert(self, snapshot_id: Any) -> None:
        if self.kind == "anvil":
            self.w3.provider.make_request("evm_revert", [snapshot_id])  # type: ignore[union-attr]
        else:
            self.w3.testing.revert(snapshot_id)

    def time_travel(self, seconds: int) -> None:
        """Moves the chain's clock forward and mines a block at the new time."""
        if self.kind == "anvil":
            self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[union-attr]
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[union-attr]
        else:
            self.w3.testing.timeTravel(self.now() + seconds)
            self.w3.testing.mine()

    def deploy(self, name: str, *args: Any, sender: str | None = None) -> Contract:
        artifact = load_artifact(name)
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        tx = factory.constructor(*args).transact({"from": sender or self.accounts[0].address})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)

    def at(self, name: str, address: str) -> Contract:
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact(name).abi)


#: eth-tester's py-evm chain id (fixed in eth_tester.backends.pyevm.main).
ETH_TESTER_CHAIN_ID = 131277322940537


def eth_tester_chain() -> Chain:
    from eth_tester import EthereumTester, PyEVMBackend
    from eth_tester.backends.pyevm.main import generate_genesis_state_for_keys, get_default_account_keys
    from web3 import EthereumTesterProvider

    from sluice.chain.permit2 import PERMIT2_ADDRESS, runtime_code

    # The default funded accounts, plus the canonical Permit2 at its address (as on real networks;
    # on anvil `install_permit2` puts it there). Its one extra key stays unfunded and unused.
    state = dict(generate_genesis_state_for_keys(get_default_account_keys()))
    state[bytes.fromhex(PERMIT2_ADDRESS[2:])] = {
        "balance": 0,
        "nonce": 1,
        "code": runtime_code(ETH_TESTER_CHAIN_ID),
        "storage": {},
    }
    backend = PyEVMBackend(genesis_state=state)
    tester = EthereumTester(backend)
    w3 = Web3(EthereumTesterProvider(tester))
    keys = [k.to_hex() for k in backend.account_keys]
    # eth-tester's accounts are unlocked, so transact({"from": …}) works as on anvil.
    return Chain(w3, "eth_tester", keys)


def anvil_chain(url: str) -> Chain:
    return Chain(Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30})), "anvil", ANVIL_KEYS)
