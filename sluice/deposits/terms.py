"""The terms a deposit address commits to, their salt and the address (as SluiceDeposits computes them).

address = CREATE2(factory, salt, keccak256(DepositForwarder init code)),
salt = keccak256(abi.encode(factory, (id, chainId, merchant, token, amount, (recipient, bps)[]))).

The encoding goes through eth-abi with the same tuple type as the contract's `DepositTerms`; tests
compare `deposit_address_at` with the factory's `depositAddress` view on a real chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from eth_abi import encode

from sluice.chain.hashing import checksum, keccak
from sluice.chain.intents import ZERO_ADDRESS, Split
from sluice.errors import ContractNotDeployedError, SluiceValueError

if TYPE_CHECKING:
    from sluice.chain.network_config import NetworkConfig

#: The contract's `DepositTerms` as an ABI tuple type.
TERMS_ABI_TYPE = "(bytes32,uint256,address,address,uint256,(address,uint16)[])"
#: Contract names of the factory and of the code every deposit address runs when swept.
FACTORY_CONTRACT = "SluiceDeposits"
FORWARDER_CONTRACT = "DepositForwarder"
#: As SluiceBase.MAX_SPLITS.
MAX_SPLITS = 5
BPS = 10_000


@dataclass(frozen=True)
class DepositTerms:
    """What one deposit address commits to: who is paid what, on which chain, for which intent."""

    #: The intent's random 32-byte on-chain id (two intents with equal terms never share an address).
    id: bytes
    chain_id: int
    merchant: str
    #: ERC-20 token, or None / the zero address for the native coin.
    token: str | None
    #: Amount owed in base units.
    amount: int
    splits: tuple[Split, ...] = ()

    def __post_init__(self) -> None:
        if len(self.id) != 32:
            raise SluiceValueError(f"a deposit's intent id is 32 bytes, got {len(self.id)}")
        if self.amount <= 0 or self.amount >= 2**256:
            raise SluiceValueError(f"a deposit's amount must be a positive uint256, got {self.amount}")
        if len(self.splits) > MAX_SPLITS:
            raise SluiceValueError(f"at most {MAX_SPLITS} splits, got {len(self.splits)}")
        if sum(s.bps for s in self.splits) > BPS:
            raise SluiceValueError("the splits add up to more than 100%")

    @property
    def token_address(self) -> str:
        """The token as the contract sees it (the zero address for the native coin)."""
        return checksum(self.token) if self.token else ZERO_ADDRESS

    def as_abi(self) -> tuple[Any, ...]:
        """The terms as the ABI tuple `TERMS_ABI_TYPE` (for eth-abi and web3 contract calls)."""
        return (
            self.id,
            self.chain_id,
            checksum(self.merchant),
            self.token_address,
            self.amount,
            [(checksum(s.recipient), s.bps) for s in self.splits],
        )

    @classmethod
    def of(
        cls,
        *,
        intent_ref: bytes,
        chain_id: int,
        merchant: str,
        token: str | None,
        amount: int,
        splits: Sequence[Mapping[str, Any] | Split] = (),
    ) -> DepositTerms:
        """Terms from an intent's fields; splits as `Split` or API-style {"recipient", "bps", …}."""
        return cls(
            id=bytes(intent_ref),
            chain_id=chain_id,
            merchant=merchant,
            token=token if token and int(token, 16) != 0 else None,
            amount=int(amount),
            splits=tuple(
                s if isinstance(s, Split) else Split(str(s["recipient"]), int(s["bps"])) for s in splits
            ),
        )


@cache
def forwarder_code_hash() -> bytes:
    """keccak256 of DepositForwarder's init code (the contract's FORWARDER_CODE_HASH)."""
    from sluice.contracts import load_artifact

    return keccak(bytes(load_artifact(FORWARDER_CONTRACT).bytecode))


def deposit_salt(factory: str, terms: DepositTerms) -> bytes:
    """The CREATE2 salt: keccak256(abi.encode(factory, terms)), as `SluiceDeposits.depositSalt`."""
    return keccak(encode(["address", TERMS_ABI_TYPE], [checksum(factory), terms.as_abi()]))


def deposit_address_at(factory: str, terms: DepositTerms) -> str:
    """The deposit address of `terms` under the factory at `factory` (EIP-55)."""
    digest = keccak(
        b"\xff" + bytes.fromhex(checksum(factory)[2:]) + deposit_salt(factory, terms) + forwarder_code_hash()
    )
    return checksum(digest[12:].hex())


def deposit_address(network: NetworkConfig, terms: DepositTerms) -> str:
    """The deposit address of `terms` on `network` (its recorded SluiceDeposits); raises
    ContractNotDeployedError (HTTP 400) when the network has none, SluiceValueError when the terms
    are for another chain."""
    if terms.chain_id != network.chain_id:
        raise SluiceValueError(
            f"deposit terms for chain id {terms.chain_id} on {network.name} (chain id {network.chain_id})"
        )
    return deposit_address_at(factory_address(network), terms)


def factory_address(network: NetworkConfig) -> str:
    """The network's SluiceDeposits; raises ContractNotDeployedError when it has none."""
    factory = network.contracts.deposits
    if factory is None:
        raise ContractNotDeployedError(
            f"{FACTORY_CONTRACT} is not deployed on {network.name}: "
            f"run `sluice deploy --network {network.name}` (deployments/{network.name}.json)",
            network=network.name,
            kind="deposits",
        )
    return factory
