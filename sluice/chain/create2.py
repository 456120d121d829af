"""The deterministic CREATE2 deployer (Arachnid's proxy): same contract address on every EVM chain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes

from sluice.errors import DeploymentError

if TYPE_CHECKING:  # web3 costs ~0.5 s to import; `sluice indexer` reads manifests without it
    from web3 import Web3

#: Address of the proxy; present on anvil and most EVM chains.
FACTORY = to_checksum_address("0x4e59b44847b379578588920ca78fbf26c0b4956c")
#: Its runtime code, to recognise it.
FACTORY_RUNTIME = HexBytes(
    "0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f5801515"
    "6039578182fd5b8082525050506014600cf3"
)
#: The keyless, pre-EIP-155 transaction that creates it on a chain that lacks it, and its signer.
FACTORY_DEPLOY_TX = HexBytes(
    "0xf8a58085174876e800830186a08080b853604580600e600039806000f350fe7fffffffffffffffffffffffffffffffffff"
    "ffffffffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf3"
    "1ba02222222222222222222222222222222222222222222222222222222222222222a0222222222222222222222222222222"
    "2222222222222222222222222222222222"
)
FACTORY_DEPLOYER = to_checksum_address("0x3fab184622dc19b6109349b94811493bf2a45362")
#: What the keyless transaction costs its signer (gas 100,000 at 100 gwei).
FACTORY_DEPLOY_COST = 100_000 * 100 * 10**9


def create2_address(salt: bytes, init_code: bytes, factory: str = FACTORY) -> str:
    """The address CREATE2 gives `init_code` with `salt` through `factory`."""
    digest = keccak(b"\xff" + HexBytes(factory) + salt + keccak(init_code))
    return to_checksum_address(digest[12:])


def has_factory(w3: Web3) -> bool:
    return HexBytes(w3.eth.get_code(FACTORY)) == FACTORY_RUNTIME


def factory_calldata(salt: bytes, init_code: bytes) -> HexBytes:
    """What the proxy expects: the 32-byte salt followed by the init code."""
    if len(salt) != 32:
        raise DeploymentError(f"a CREATE2 salt is 32 bytes, got {len(salt)}")
    return HexBytes(salt + init_code)
