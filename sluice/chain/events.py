"""Sluice contract events (SluicePayments `Paid`, SluiceEscrow `Deposited` … `Reclaimed`) as typed records.

Shared by the indexer and `sluice reconcile`: both decode logs from `eth_getLogs` with `decode_logs`.
The layouts come from the compiled ABIs (contracts/artifacts), so a contract change that moves a
field changes the decoder with it. Decoding is hand-rolled over the 32-byte words (the events hold
only static words and `uint256[]`): ~10x faster than a generic ABI decoder, which matters at
thousands of events per second; tests/indexer/test_events.py checks it against eth-abi.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sluice.chain.hashing import checksum, keccak
from sluice.chain.intents import ContractKind
from sluice.chain.network_config import CONTRACT_NAMES
from sluice.contracts import load_artifact

#: The events the indexer follows, per contract kind.
EVENT_NAMES: dict[ContractKind, tuple[str, ...]] = {
    "payments": ("Paid",),
    "escrow": ("Deposited", "Captured", "Refunded", "Voided", "Reclaimed"),
}
#: Event fields that fill a record's `total` (the contract's running total).
_TOTAL_FIELDS = ("totalDeposited", "totalCaptured", "totalRefunded")


@dataclass(frozen=True, slots=True)
class EventSpec:
    kind: ContractKind
    name: str
    topic0: str  # 0x-hex, lower case
    indexed: tuple[tuple[str, str], ...]  # (field, type) after topic0
    data: tuple[tuple[str, str], ...]  # (field, type) in the data section


@dataclass(frozen=True, slots=True)
class ContractEvent:
    """One decoded Sluice event with where it happened. Addresses are EIP-55; amounts int base units."""

    kind: ContractKind
    name: str
    contract_address: str
    onchain_id: bytes
    tx_hash: str
    log_index: int
    #: Position among this transaction's Sluice logs (stable when the transaction moves blocks).
    tx_log_index: int
    block_number: int
    block_hash: str
    #: Unix time of the block when the node includes it in logs (`blockTimestamp`), else None.
    block_timestamp: int | None
    payer: str | None
    merchant: str | None
    #: Token address; None for the native coin and for escrow events that carry no token.
    token: str | None
    amount: int
    merchant_amount: int | None
    fee_amounts: tuple[int, ...] | None
    total: int | None
    removed: bool = False


class EventDecodeError(ValueError):
    """Raised when a log claims to be a Sluice event but its topics or data do not fit the ABI."""


@cache
def event_specs() -> dict[str, EventSpec]:
    """The followed events by topic0, built from the compiled ABIs."""
    specs: dict[str, EventSpec] = {}
    for kind, names in EVENT_NAMES.items():
        abi = load_artifact(CONTRACT_NAMES[kind]).abi
        for entry in abi:
            if entry.get("type") != "event" or entry["name"] not in names:
                continue
            inputs = entry["inputs"]
            signature = f"{entry['name']}({','.join(i['type'] for i in inputs)})"
            topic0 = "0x" + keccak(signature.encode()).hex()
            specs[topic0] = EventSpec(
                kind=kind,
                name=entry["name"],
                topic0=topic0,
                indexed=tuple((i["name"], i["type"]) for i in inputs if i["indexed"]),
                data=tuple((i["name"], i["type"]) for i in inputs if not i["indexed"]),
            )
    missing = {n for names in EVENT_NAMES.values() for n in names} - {s.name for s in specs.values()}
    if missing:
        raise EventDecodeError(
            f"the contract ABIs lack events {sorted(missing)}; rebuild contracts/artifacts"
        )
    return specs


def topics_for(kinds: Iterable[ContractKind]) -> list[str]:
    """topic0 values of the followed events of these contract kinds (for an eth_getLogs filter)."""
    wanted = set(kinds)
    return [t for t, spec in event_specs().items() if spec.kind in wanted]


def log_filter(contracts: Mapping[ContractKind, str], from_block: int, to_block: int) -> dict[str, Any]:
    """The eth_getLogs filter for the given contracts over [from_block, to_block]."""
    return {
        "address": list(contracts.values()),
        "topics": [topics_for(contracts)],
        "fromBlock": hex(from_block),
        "toBlock": hex(to_block),
    }


def _hex(value: Any) -> str:
    """0x-hex string of a JSON-RPC hex string or a bytes-like (web3's HexBytes)."""
    if isinstance(value, str):
        return value if value.startswith("0x") else "0x" + value
    return "0x" + bytes(value).hex()


def _int(value: Any) -> int:
    return value if isinstance(value, int) else int(value, 16)


def _address_word(word: str) -> str | None:
    """An address from a 64-hex-digit word; None for the zero address (the native coin)."""
    tail = word[24:]
    if int(tail, 16) == 0:
        return None
    return checksum(tail)


def _decode_data(spec: EventSpec, data: str) -> dict[str, Any]:
    body = data[2:]
    if len(body) % 64:
        raise EventDecodeError(f"{spec.name}: data is not a whole number of 32-byte words")
    words = [body[i : i + 64] for i in range(0, len(body), 64)]
    out: dict[str, Any] = {}
    try:
        for position, (field, type_) in enumerate(spec.data):
            word = words[position]
            if type_ == "uint256":
                out[field] = int(word, 16)
            elif type_ == "address":
                out[field] = _address_word(word)
            elif type_ == "uint256[]":
                start = int(word, 16) // 32
                length = int(words[start], 16)
                out[field] = tuple(int(w, 16) for w in words[start + 1 : start + 1 + length])
                if len(out[field]) != length:
                    raise EventDecodeError(f"{spec.name}: {field} runs past the data")
            else:  # pragma: no cover - guarded by the ABI of the followed events
                raise EventDecodeError(f"{spec.name}: unsupported type {type_}")
    except IndexError as exc:
        raise EventDecodeError(f"{spec.name}: data too short") from exc
    return out


def decode_log(log: Mapping[str, Any], tx_log_index: int = 0) -> ContractEvent | None:
    """One log as a ContractEvent, or None when it is not a followed Sluice event.

    Takes JSON-RPC dicts (hex strings) and web3's AttributeDicts (HexBytes, ints) alike.
    """
    topics = [_hex(t).lower() for t in log["topics"]]
    if not topics:
        return None
    spec = event_specs().get(topics[0])
    if spec is None:
        return None
    if len(topics) != len(spec.indexed) + 1:
        raise EventDecodeError(f"{spec.name}: expected {len(spec.indexed) + 1} topics, got {len(topics)}")
    fields = _decode_data(spec, _hex(log["data"]))
    for (field, type_), topic in zip(spec.indexed, topics[1:], strict=True):
        word = topic[2:].rjust(64, "0")
        fields[field] = bytes.fromhex(word) if type_ == "bytes32" else _address_word(word)
    fees = fields.get("feeAmounts")
    timestamp = log.get("blockTimestamp")
    return ContractEvent(
        kind=spec.kind,
        name=spec.name,
        contract_address=checksum(_hex(log["address"])),
        onchain_id=fields["intentId"],
        tx_hash=_hex(log["transactionHash"]).lower(),
        log_index=_int(log["logIndex"]),
        tx_log_index=tx_log_index,
        block_number=_int(log["blockNumber"]),
        block_hash=_hex(log["blockHash"]).lower(),
        block_timestamp=None if timestamp is None else _int(timestamp),
        payer=fields.get("payer"),
        merchant=fields.get("merchant"),
        token=fields.get("token"),
        amount=fields["amount"],
        merchant_amount=fields.get("merchantAmount"),
        fee_amounts=tuple(fees) if fees is not None else None,
        total=next((fields[f] for f in _TOTAL_FIELDS if f in fields), None),
        removed=bool(log.get("removed", False)),
    )


def decode_logs(logs: Sequence[Mapping[str, Any]]) -> list[ContractEvent]:
    """Decodes the followed events among `logs`, in chain order, numbering each transaction's events.

    `tx_log_index` counts a transaction's Sluice events in log order, so `logs` must hold all the
    followed logs of every transaction it touches (as an eth_getLogs over whole blocks does).
    """
    specs = event_specs()
    ordered = sorted(logs, key=lambda lg: (_int(lg["blockNumber"]), _int(lg["logIndex"])))
    seen: dict[str, int] = {}
    out: list[ContractEvent] = []
    for log in ordered:
        topics = log["topics"]
        if not topics or _hex(topics[0]).lower() not in specs:
            continue
        tx = _hex(log["transactionHash"]).lower()
        position = seen.get(tx, 0)
        event = decode_log(log, position)
        if event is None:  # pragma: no cover - filtered above
            continue
        seen[tx] = position + 1
        out.append(event)
    return out
