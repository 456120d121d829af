"""One step of following a Solana network: what the indexer commits in one database transaction.

The indexer (not this module) owns storage. Each step it calls `follow_step` with a watcher whose
cursors and open intents it loaded from the database, and the signatures it still holds as
not-yet-final; it then writes, in one transaction, the entries (unique on network + signature, so a
step repeated after a crash changes nothing), the cursors, the final signatures (→ `succeeded`) and
the rollback of dropped ones. A crash before that commit loses nothing: the next step starts from
the previous cursors and reads the same transactions again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sluice.ledger.entries import LedgerEntry
from sluice.rails.solana.networks import get_solana_network
from sluice.rails.solana.rail import SolanaRail
from sluice.rails.solana.watcher import Observation, ReferenceWatcher, settle


@dataclass(frozen=True)
class FollowStep:
    """What one step observed and decided; commit it all together or not at all."""

    observations: tuple[Observation, ...]
    entries: tuple[LedgerEntry, ...]
    #: The watcher's cursors after the step (followed account → newest signature read).
    cursors: Mapping[str, str | None]
    #: Signatures now at the network's final commitment: their entries count (`succeeded`).
    final: tuple[str, ...]
    #: Signatures still only confirmed: pass them to the next step.
    pending: tuple[str, ...]
    #: Signatures the node no longer knows: roll their entries back.
    dropped: tuple[str, ...]


async def follow_step(
    rail: SolanaRail,
    watcher: ReferenceWatcher,
    network: str,
    pending: Sequence[str] = (),
    *,
    max_transactions: int | None = None,
) -> FollowStep:
    """Poll for new payments (at most `max_transactions` read), decode them, and settle every
    signature not yet final."""
    observations = tuple(await watcher.poll(max_transactions))
    entries = tuple(rail.decode(network, observations))
    signatures = list(dict.fromkeys([*pending, *(o.tx.signature for o in observations)]))
    commitment = get_solana_network(network).final_commitment
    settlement = await settle(watcher.rpc, signatures, final_commitment=commitment)
    return FollowStep(
        observations=observations,
        entries=entries,
        cursors=dict(watcher.cursors),
        final=settlement.final,
        pending=settlement.pending,
        dropped=settlement.dropped,
    )
