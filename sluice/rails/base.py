"""The rail interface: one way to pay on one chain family.

A rail validates its family's addresses, builds the payer's instructions (unsigned transactions,
payment URIs, QR codes), decodes what its chain reports into ledger entries
(`sluice.ledger.entries.LedgerEntry`), and states its finality rule. Everything after the entries
(storage, transitions, outbox, webhooks, reports) is shared by every rail. See docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from sluice.ledger.entries import LedgerEntry

FinalityKind = Literal["confirmations", "finalized_tag", "commitment"]


@dataclass(frozen=True)
class Finality:
    """When an observed entry counts: at a depth of `confirmations` blocks, at the node's finalized
    tag, or at a commitment level (Solana: "confirmed" / "finalized")."""

    kind: FinalityKind
    confirmations: int = 1
    commitment: str | None = None


@dataclass(frozen=True)
class Terms:
    """What an intent owes, as the rail signs or registers it (amounts in base units)."""

    network: str
    capture_method: str
    #: The asset's token/mint/contract; None for the native coin.
    token: str | None
    amount: int
    payer: str | None
    payout_address: str
    #: [{"recipient", "bps", "kind"}] after the merchant, in order.
    splits: Sequence[Mapping[str, Any]]
    deadline: datetime
    reclaim_after: datetime | None
    allow_partial: bool
    #: The API's asyncpg pool (nonce blocks and the like).
    pool: Any = None
    #: The intent's reference when another rail of the same intent chose it already (an intent that
    #: offers both the contract call and a deposit address is known by one reference on both).
    intent_ref: bytes | None = None


@dataclass(frozen=True)
class Authorization:
    """How the chain will know the intent: the rail's reference for it (matched by every ledger
    entry), the contract or address it is paid through, and the operator's signature and nonce where
    the rail has them (empty and 0 otherwise)."""

    intent_ref: bytes
    source: str
    nonce: int = 0
    signature: bytes = b""


@dataclass(frozen=True)
class PayerInstructions:
    """What a payer needs to pay an intent through one rail."""

    rail: str
    #: Ready-to-sign transactions in the rail's own shape (EVM: chain id, to, data, value, gas…;
    #: Solana: a base64 serialized transaction; Stacks: a contract call), in the order to send.
    transactions: Sequence[Mapping[str, Any]] = ()
    #: A payment URI a wallet understands (EIP-681, solana:, stacks:…), if the rail has one.
    uri: str | None = None
    #: Anything else the rail tells the payer (deposit address, memo, reference…).
    extra: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Rail(Protocol):
    """One way to pay on one chain family."""

    #: The rail's name, stored with every ledger entry ("evm-contract", "solana-pay", …).
    name: ClassVar[str]
    #: The chain family it belongs to ("evm", "solana", "stacks", …).
    family: ClassVar[str]

    def validate_address(self, address: str, param: str = "address") -> str:
        """The address in its canonical form (EIP-55, base58…); raises InvalidRequestError naming
        `param` when it is not a valid address of the family (or nobody's, like the zero address)."""
        ...

    def finality(self, network: str) -> Finality:
        """The finality rule of `network` for this rail."""
        ...

    async def authorize(self, terms: Terms) -> Authorization:
        """Binds a new intent to the chain: its reference, and the operator's signature where the
        rail has one; raises SluiceError subclasses (HTTP 4xx) for terms the chain would refuse."""
        ...

    async def build(self, intent: Any, payer: str, **options: Any) -> PayerInstructions:
        """The payer's instructions for paying `intent` from `payer` (validated by `validate_address`)."""
        ...

    def decode(self, network: str, observed: Sequence[Any]) -> list[LedgerEntry]:
        """Ledger entries for what the chain reported (logs, transactions, print events…)."""
        ...
