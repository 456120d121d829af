"""The EVM deposit-address rail: any wallet or exchange pays an intent by a plain transfer.

Each intent that offers `deposit_address` gets its own counterfactual address: CREATE2 from the
deposit factory with a salt committing to the intent's terms (`deposit_address`; nothing is deployed
until the funds are swept, nobody holds a key for it). The payer sends the exact amount there with a
plain ERC-20 `transfer` or a native-coin send; the indexer (indexer/deposits.py) finds them:

- ERC-20: the `Transfer` logs of the network's tokens, one `eth_getLogs` per step whatever the number
  of addresses, the `to` looked up in an in-memory map of the watched addresses;
- native coin (no log exists): the watched addresses' balances read in batches through Multicall3's
  `getEthBalance` at the step's last block; a balance above what was already recorded is a receipt.

Both become `received` ledger entries (`stray` for an asset the intent did not ask for); partial
payments add up and over-, under-, late and repeated payments are decided and announced by the shared
transitions (sluice.intents.transitions) like those of every rail. The deposit factory's own events
about a watched address become entries too: `Swept` (whoever sent the sweep) a `swept` entry, and
`Refunded` (a merchant-signed refund, relayed) a `refunded` entry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from sluice.errors import InvalidRequestError, SluiceError
from sluice.ledger.entries import ChainPosition, EntryKind, LedgerEntry
from sluice.rails.base import Authorization, Finality, PayerInstructions, Terms

if TYPE_CHECKING:
    from sluice.chain.registry import NetworkConfig, Registry
    from sluice.intents.record import IntentRecord

#: The rail's name (stored with its ledger entries).
DEPOSIT_RAIL = "evm-deposit"
CONTRACT_RAIL = "evm-contract"
#: The API's payment method types and the rail each stands for.
METHOD_RAILS: dict[str, str] = {"contract_call": CONTRACT_RAIL, "deposit_address": DEPOSIT_RAIL}
RAIL_METHODS: dict[str, str] = {rail: method for method, rail in METHOD_RAILS.items()}
#: keccak256("Transfer(address,address,uint256)")
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
#: Added to a Transfer's log index to give its entry's index within the transaction: entries of
#: other rails in the same transaction (a Sluice contract's events) count from 0, so the two never
#: share the natural key (network, tx_id, tx_index).
TX_INDEX_OFFSET = 1 << 20
#: Balance-read entries have no transaction: their id names the address and the block read.
BALANCE_TX_PREFIX = "balance:"
#: SluiceDeposits' events about a deposit address (topic 1: the intent id, topic 2: the address).
#: keccak256("Swept(bytes32,address,uint256)")
SWEPT_TOPIC = "0x0e083373a7cffc389e5d184d0332d4e0d35a0e948d1a6a96c94c6916a44cd061"
#: keccak256("Refunded(bytes32,address,address,address,uint256)")
REFUNDED_TOPIC = "0x3d224272a3f186833d736fc1af9c4aafbac5df9d4010b2fb93d8cb8a9c80d029"


@dataclass(frozen=True, slots=True)
class Watched:
    """An intent's deposit address as the indexer watches it."""

    #: The intent's reference (its `onchain_id`): the entries carry it.
    ref: bytes
    #: EIP-55 deposit address.
    address: str
    #: The asked-for token, lower-case; None for the native coin.
    token: str | None


@dataclass(frozen=True, slots=True)
class TransferSeen:
    """An ERC-20 Transfer log whose `to` is a watched address."""

    log: Mapping[str, Any]
    watched: Watched


@dataclass(frozen=True, slots=True)
class FactorySeen:
    """A deposit factory log (`Swept`, `Refunded`) about a watched address."""

    log: Mapping[str, Any]
    watched: Watched


@dataclass(frozen=True, slots=True)
class BalanceSeen:
    """Native coin found at a watched address: `amount` more than already recorded, read at `height`."""

    watched: Watched
    amount: int
    height: int
    block_hash: str
    time: int
    #: Orders the balance entries of one block (after its logs).
    index: int


def deposit_address(network: NetworkConfig, terms: Terms, intent_ref: bytes) -> str:
    """The intent's counterfactual deposit address: CREATE2 through the network's SluiceDeposits with a
    salt committing to the terms (sluice.deposits, the contracts' side of issue 18)."""
    from sluice.deposits import DepositTerms
    from sluice.deposits import deposit_address as derive

    return derive(
        network,
        DepositTerms.of(
            intent_ref=intent_ref,
            chain_id=network.chain_id,
            merchant=terms.payout_address,
            token=terms.token,
            amount=terms.amount,
            splits=terms.splits,
        ),
    )


def transfer_uri(chain_id: int, token: str | None, address: str, amount: int) -> str:
    """The EIP-681 URI of the plain transfer that pays a deposit address (amounts in base units,
    plain integers: what every EIP-681 wallet parses)."""
    if token is None:
        return f"ethereum:{address}@{chain_id}?value={amount}"
    return f"ethereum:{token}@{chain_id}/transfer?address={address}&uint256={amount}"


def transfer_transaction(chain_id: int, token: str | None, address: str, amount: int) -> dict[str, Any]:
    """The unsigned plain transfer (ERC-20 `transfer` or a value send)."""
    if token is None:
        return {"chain_id": chain_id, "to": address, "data": "0x", "value": str(amount)}
    data = "0xa9059cbb" + address[2:].lower().rjust(64, "0") + format(amount, "064x")
    return {"chain_id": chain_id, "to": token, "data": data, "value": "0"}


def transfer_entry(network: str, seen: TransferSeen) -> LedgerEntry | None:
    """The entry of one Transfer log to a watched address (None for a malformed or removed log)."""
    lg = seen.log
    topics: Sequence[Any] = lg.get("topics") or ()
    if lg.get("removed") or len(topics) != 3 or str(topics[0]).lower() != TRANSFER_TOPIC:
        return None
    data = str(lg.get("data") or "0x")
    if len(data) != 66:
        return None
    token = str(lg["address"]).lower()
    w = seen.watched
    log_index = int(lg["logIndex"], 16)
    time = lg.get("blockTimestamp")
    return LedgerEntry(
        kind=EntryKind.received if token == w.token else EntryKind.stray,
        network=network,
        rail=DEPOSIT_RAIL,
        intent_ref=w.ref,
        tx_id=str(lg["transactionHash"]).lower(),
        position=ChainPosition(
            height=int(lg["blockNumber"], 16),
            index=log_index,
            tx_index=TX_INDEX_OFFSET + log_index,
            block_id=str(lg["blockHash"]).lower(),
            time=int(time, 16) if time else None,
        ),
        amount=int(data, 16),
        asset=_checksum(token),
        payer=_checksum("0x" + str(topics[1])[-40:]),
        source=w.address,
    )


def factory_entry(network: str, seen: FactorySeen) -> LedgerEntry | None:
    """The entry of a deposit factory's `Swept` (kind `swept`) or `Refunded` (kind `refunded`, the
    receiver the merchant chose as `payer`) about a watched address; None for another log."""
    lg = seen.log
    topics: Sequence[Any] = lg.get("topics") or ()
    if lg.get("removed") or len(topics) != 3:
        return None
    topic0 = str(topics[0]).lower()
    data = bytes.fromhex(str(lg.get("data") or "0x")[2:])
    w = seen.watched
    payer = None
    if topic0 == SWEPT_TOPIC and len(data) == 32:
        kind, amount, asset = EntryKind.swept, int.from_bytes(data, "big"), w.token
    elif topic0 == REFUNDED_TOPIC and len(data) == 96:
        kind, amount = EntryKind.refunded, int.from_bytes(data[64:96], "big")
        token = "0x" + data[12:32].hex()
        asset = None if int(token, 16) == 0 else token
        payer = _checksum("0x" + data[44:64].hex())
    else:
        return None
    log_index = int(lg["logIndex"], 16)
    time = lg.get("blockTimestamp")
    return LedgerEntry(
        kind=kind,
        network=network,
        rail=DEPOSIT_RAIL,
        intent_ref=w.ref,
        tx_id=str(lg["transactionHash"]).lower(),
        position=ChainPosition(
            height=int(lg["blockNumber"], 16),
            index=log_index,
            tx_index=log_index,
            block_id=str(lg["blockHash"]).lower(),
            time=int(time, 16) if time else None,
        ),
        amount=amount,
        asset=_checksum(asset) if asset else None,
        payer=payer,
        source=w.address,
    )


def balance_entry(network: str, seen: BalanceSeen) -> LedgerEntry:
    w = seen.watched
    return LedgerEntry(
        kind=EntryKind.received if w.token is None else EntryKind.stray,
        network=network,
        rail=DEPOSIT_RAIL,
        intent_ref=w.ref,
        tx_id=f"{BALANCE_TX_PREFIX}{w.address.lower()}@{seen.height}",
        position=ChainPosition(
            height=seen.height,
            index=TX_INDEX_OFFSET + seen.index,
            tx_index=0,
            block_id=seen.block_hash,
            time=seen.time,
        ),
        amount=seen.amount,
        asset=None,
        payer=None,
        source=w.address,
    )


def _checksum(address: str) -> str:
    from sluice.chain.hashing import checksum

    return checksum(address)


class EvmDepositRail:
    """Pay by a plain transfer to the intent's own counterfactual deposit address."""

    name: ClassVar[str] = DEPOSIT_RAIL
    family: ClassVar[str] = "evm"

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def validate_address(self, address: str, param: str = "address") -> str:
        """EIP-55; the zero address is nobody's and is refused."""
        from sluice.merchants.payout import check_address

        return check_address(address, param)

    def finality(self, network: str) -> Finality:
        return Finality("confirmations", confirmations=self.registry.network(network).confirmations)

    async def authorize(self, terms: Terms) -> Authorization:
        """The intent's reference (the other rail's when it has one) and its deposit address. Escrow
        (manual capture) and partial escrow deposits belong to the contract rail."""
        if terms.capture_method != "automatic":
            raise InvalidRequestError(
                "deposit addresses pay automatically: capture_method=manual needs the contract call",
                param="payment_method_types",
                code="payment_method_unavailable",
            )
        if terms.payer is not None:
            raise InvalidRequestError(
                "a deposit address cannot check who pays (an exchange withdrawal comes from its hot "
                "wallet): leave payer empty or offer only the contract call",
                param="payer",
                code="payment_method_unavailable",
            )
        network = self.registry.network(terms.network)
        ref = terms.intent_ref or os.urandom(32)
        try:
            address = deposit_address(network, terms, ref)
        except SluiceError as exc:
            raise InvalidRequestError(str(exc), param="network", code="contract_not_deployed") from exc
        return Authorization(intent_ref=ref, source=address)

    async def build(self, intent: IntentRecord, payer: str, **options: Any) -> PayerInstructions:
        """The plain transfer to the deposit address, its EIP-681 URI and QR code."""
        from sluice.chain.payment_uri import qr_svg

        view = deposit_view(intent)
        if view is None:
            raise InvalidRequestError(
                "this payment intent has no deposit address", code="payment_method_unavailable"
            )
        tx = transfer_transaction(intent.chain_id, intent.token_address, view["address"], int(intent.amount))
        return PayerInstructions(
            rail=self.name,
            transactions=[tx],
            uri=view["uri"],
            extra={"chain_id": intent.chain_id, "deposit": view, "deposit_qr_svg": qr_svg(view["uri"])},
        )

    def decode(self, network: str, observed: Sequence[Any]) -> list[LedgerEntry]:
        return decode_observed(network, observed)


def decode_observed(
    network: str, observed: Sequence[TransferSeen | BalanceSeen | FactorySeen]
) -> list[LedgerEntry]:
    """Entries of `TransferSeen`, `FactorySeen` and `BalanceSeen` items (the indexer matched their
    addresses)."""
    out: list[LedgerEntry] = []
    for item in observed:
        if isinstance(item, BalanceSeen):
            out.append(balance_entry(network, item))
        elif isinstance(item, FactorySeen):
            found = factory_entry(network, item)
            if found is not None:
                out.append(found)
        else:
            entry = transfer_entry(network, item)
            if entry is not None:
                out.append(entry)
    return out


def deposit_view(intent: IntentRecord) -> dict[str, Any] | None:
    """What a payer needs to pay the intent's deposit address: the address, the exact amount still
    to send, the EIP-681 URI of the whole amount (None without a deposit address)."""
    address = intent.deposit_address
    if address is None:
        return None
    amount = int(intent.amount)
    remaining = max(amount - int(intent.amount_received), 0)
    return {
        "address": address,
        "amount": str(amount),
        "amount_remaining": str(remaining),
        "asset": intent.asset,
        "token": intent.token_address,
        "chain_id": intent.chain_id,
        "uri": transfer_uri(intent.chain_id, intent.token_address, address, amount),
    }
