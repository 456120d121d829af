"""The relayer key's transactions for intents: one nonce manager per network in this process, and the
record of what each relayed call cost (relay_transactions, shown in the reports).

Every call the gateway pays gas for goes through `Relayers.relay`: gasless payments (EIP-3009,
Permit2) and the escrow's capture, refund, void and nonce cancellation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sluice.chain.network_config import NetworkConfig
from sluice.chain.relayer import RelayerNonceManager, RelayOutcome
from sluice.chain.rpc import async_web3
from sluice.config import Settings
from sluice.intents.record import IntentRecord
from sluice.intents.signing import relayer_account
from sluice.models.relay import RelayTransaction

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RelayResult:
    """A relayed call as the caller sees it: mined (outcome) or still pending after the wait."""

    tx_hash: str
    nonce: int
    outcome: RelayOutcome | None

    @property
    def status(self) -> str:
        if self.outcome is None:
            return "pending"
        return "succeeded" if self.outcome.succeeded else "reverted"


class Relayers:
    """This process's relayer nonce managers (one per network and relayer key), and the recording of
    their transactions' gas per intent."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession] | None = None,
        *,
        manager: Callable[..., RelayerNonceManager] = RelayerNonceManager,
        **manager_options: Any,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self._make = manager
        self._options = manager_options
        self._managers: dict[tuple[str, str], RelayerNonceManager] = {}

    def manager(self, network: NetworkConfig) -> RelayerNonceManager:
        account = relayer_account(self.settings, live=network.live)
        key = (network.name, account.address)
        found = self._managers.get(key)
        if found is None:
            found = self._managers[key] = self._make(async_web3(network), network, account, **self._options)
        return found

    async def relay(
        self,
        session: AsyncSession,
        network: NetworkConfig,
        intent: IntentRecord,
        action: str,
        call: dict[str, Any],
        gas: int,
        *,
        timeout: float = 120.0,
    ) -> RelayResult:
        """Sends `call` from the relayer and waits up to `timeout` s for it to be mined; records it
        (with the gas paid once mined) in relay_transactions. A relay still pending after the wait
        keeps being watched (and replaced if stuck); its row is completed when it is mined."""
        manager = self.manager(network)
        pending = await manager.send(call, gas, label=f"{action}:{intent.id}")
        row = RelayTransaction(
            merchant_id=intent.merchant_id,
            payment_intent_id=intent.id,
            network=network.name,
            action=action,
            relayer=manager.account.address,
            nonce=pending.nonce,
            tx_hash=pending.tx_hash,
            status="pending",
            replacements=0,
        )
        session.add(row)
        await session.flush()
        try:
            outcome = await manager.wait(pending, timeout)
        except TimeoutError:
            pending.callbacks.append(self._recorder(row.id))
            log.warning("relay_still_pending", intent=intent.id, action=action, tx=pending.tx_hash)
            return RelayResult(pending.tx_hash, pending.nonce, None)
        _fill(row, outcome)
        await session.flush()
        return RelayResult(outcome.tx_hash, outcome.nonce, outcome)

    def _recorder(self, row_id: str) -> Callable[[RelayOutcome], Any]:
        async def record(outcome: RelayOutcome) -> None:
            if self.sessions is None:
                return
            async with self.sessions() as session, session.begin():
                await session.execute(
                    update(RelayTransaction).where(RelayTransaction.id == row_id).values(**_values(outcome))
                )

        return record


def _values(outcome: RelayOutcome) -> dict[str, Any]:
    return {
        "tx_hash": outcome.tx_hash,
        "status": "succeeded" if outcome.succeeded else "reverted",
        "replacements": outcome.replacements,
        "gas_used": outcome.gas_used,
        "effective_gas_price": outcome.effective_gas_price,
        "fee_paid": outcome.fee_paid,
    }


def _fill(row: RelayTransaction, outcome: RelayOutcome) -> None:
    for name, value in _values(outcome).items():
        setattr(row, name, value)
