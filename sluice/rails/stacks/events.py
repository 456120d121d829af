"""The contract's print events, as the Stacks Blockchain API reports them, into ledger entries.

The rail reads transactions in the API's shape (`/extended/v1/tx/{tx_id}`, or the items of
`/extended/v2/addresses/{contract}/transactions` with their `events`): `tx_id`, `tx_status`,
`canonical`, `block_height`, `block_hash`, `block_time`, `tx_index` and `events`, each event a
`smart_contract_log` whose `contract_log.value.hex` is the serialized tuple the contract printed.
The hex is decoded, never the `repr`, and only this deployment's contract is believed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sluice.errors import SluiceValueError
from sluice.ledger.entries import ChainPosition, EntryKind, LedgerEntry, ReleaseReason
from sluice.rails.stacks.clarity import ClarityDecodeError, deserialize_hex, to_python

RAIL_NAME = "stacks-contract"
#: Orders entries within a block: tx_index * this + the API's event_index.
EVENTS_PER_TX = 100_000


class StacksEventError(SluiceValueError):
    """Raised when a print event of our contract does not have the shape the contract prints."""

    code = "stacks_event_error"


@dataclass(frozen=True)
class ContractEvent:
    """One decoded print event of sluice-payments, with where it happened."""

    name: str
    data: Mapping[str, Any]
    tx_id: str
    height: int
    block_id: str
    time: int
    tx_index: int
    event_index: int
    sender: str | None


def contract_events(transactions: Iterable[Mapping[str, Any]], contract_id: str) -> list[ContractEvent]:
    """The print events of `contract_id` in successful, canonical transactions, in chain order."""
    found: list[ContractEvent] = []
    for tx in transactions:
        if tx.get("tx_status") != "success" or tx.get("canonical", True) is False:
            continue
        for event in tx.get("events") or ():
            log = event.get("contract_log")
            if event.get("event_type") != "smart_contract_log" or not log:
                continue
            if log.get("contract_id") != contract_id or log.get("topic") != "print":
                continue
            try:
                value = to_python(deserialize_hex(log["value"]["hex"]))
            except (ClarityDecodeError, KeyError, TypeError) as exc:
                raise StacksEventError(f"undecodable print event in {tx.get('tx_id')}: {exc}") from exc
            if not isinstance(value, dict) or not isinstance(value.get("event"), str):
                raise StacksEventError(f"print event in {tx.get('tx_id')} is not an event tuple")
            found.append(
                ContractEvent(
                    name=value["event"],
                    data=value,
                    tx_id=str(tx["tx_id"]),
                    height=int(tx["block_height"]),
                    block_id=str(tx["block_hash"]),
                    time=int(tx.get("block_time") or tx.get("burn_block_time") or 0),
                    tx_index=int(tx.get("tx_index", 0)),
                    event_index=int(event.get("event_index", 0)),
                    sender=tx.get("sender_address"),
                )
            )
    found.sort(key=lambda e: (e.height, e.tx_index, e.event_index))
    return found


def _paid(e: ContractEvent) -> dict[str, Any]:
    d = e.data
    return {
        "kind": EntryKind.received,
        "amount": d["amount"],
        "payer": d["payer"],
        "merchant": d["merchant"],
        "merchant_amount": d["merchant-amount"],
        "fee_amounts": tuple(d["fee-amounts"]),
    }


def _deposited(e: ContractEvent) -> dict[str, Any]:
    d = e.data
    return {
        "kind": EntryKind.escrow_deposited,
        "amount": d["amount"],
        "payer": d["payer"],
        "total": d["total"],
    }


def _captured(e: ContractEvent) -> dict[str, Any]:
    d = e.data
    return {
        "kind": EntryKind.captured,
        "amount": d["amount"],
        "merchant": d["merchant"],
        "merchant_amount": d["merchant-amount"],
        "fee_amounts": tuple(d["fee-amounts"]),
        "total": d["total"],
    }


def _refunded(e: ContractEvent) -> dict[str, Any]:
    d = e.data
    return {"kind": EntryKind.refunded, "amount": d["amount"], "payer": d["payer"], "total": d["total"]}


def _released(reason: ReleaseReason) -> Callable[[ContractEvent], dict[str, Any]]:
    def build(e: ContractEvent) -> dict[str, Any]:
        return {
            "kind": EntryKind.released,
            "amount": e.data["amount"],
            "payer": e.data["payer"],
            "reason": reason,
        }

    return build


#: The contract's money events; the others (signer-rotated, paused, …) are administration.
_MONEY_EVENTS: dict[str, Callable[[ContractEvent], dict[str, Any]]] = {
    "paid": _paid,
    "deposited": _deposited,
    "captured": _captured,
    "refunded": _refunded,
    "voided": _released(ReleaseReason.void),
    "reclaimed": _released(ReleaseReason.reclaimed),
}


def ledger_entries(network: str, events: Iterable[ContractEvent]) -> list[LedgerEntry]:
    """Ledger entries of the money events; `tx_index` of the position counts entries per transaction."""
    entries: list[LedgerEntry] = []
    per_tx: dict[str, int] = {}
    for e in events:
        build = _MONEY_EVENTS.get(e.name)
        if build is None:
            continue
        try:
            fields = build(e)
            intent_ref = e.data["id"]
            asset = e.data["token"]
        except KeyError as exc:
            raise StacksEventError(f"{e.name} event in {e.tx_id} lacks {exc}") from exc
        if not isinstance(intent_ref, bytes) or len(intent_ref) != 32:
            raise StacksEventError(f"{e.name} event in {e.tx_id} has no 32-byte intent id")
        position_in_tx = per_tx.get(e.tx_id, 0)
        per_tx[e.tx_id] = position_in_tx + 1
        entries.append(
            LedgerEntry(
                network=network,
                rail=RAIL_NAME,
                intent_ref=intent_ref,
                tx_id=e.tx_id,
                position=ChainPosition(
                    height=e.height,
                    index=e.tx_index * EVENTS_PER_TX + e.event_index,
                    tx_index=position_in_tx,
                    block_id=e.block_id,
                    time=e.time,
                ),
                asset=asset,
                **fields,
            )
        )
    return entries
