"""The EVM contract rail: the payer's wallet calls `SluicePayments.pay` or `SluiceEscrow.deposit` with
the operator-signed intent (EIP-712, bound to the chain id and the contract).

The contract enforces the exact amount, the deadline, the payer and the split, so what it reports
(`Paid`, `Deposited`, `Captured`, `Refunded`, `Voided`, `Reclaimed`) maps one to one onto ledger
entries.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from sluice.chain.events import ContractEvent, decode_logs
from sluice.chain.intents import ZERO_ADDRESS, Split
from sluice.chain.intents import PaymentIntent as OnchainIntent
from sluice.errors import InvalidRequestError, SluiceError
from sluice.intents.onchain import contract_kind, contract_kind_of, to_onchain
from sluice.ledger.entries import ChainPosition, EntryKind, LedgerEntry, ReleaseReason
from sluice.rails.base import Authorization, Finality, PayerInstructions, Terms

if TYPE_CHECKING:
    from sluice.chain.registry import Registry
    from sluice.config import Settings
    from sluice.intents.record import IntentRecord
    from sluice.intents.signing import NonceAllocator

#: Each contract event as a ledger entry kind (and a release's reason).
ENTRY_OF_EVENT: dict[str, tuple[EntryKind, ReleaseReason | None]] = {
    "Paid": (EntryKind.received, None),
    "Deposited": (EntryKind.escrow_deposited, None),
    "Captured": (EntryKind.captured, None),
    "Refunded": (EntryKind.refunded, None),
    "Voided": (EntryKind.released, ReleaseReason.void),
    "Reclaimed": (EntryKind.released, ReleaseReason.reclaimed),
}


def entry_of(network: str, event: ContractEvent) -> LedgerEntry:
    """One decoded contract event as a ledger entry."""
    kind, reason = ENTRY_OF_EVENT[event.name]
    return LedgerEntry(
        kind=kind,
        network=network,
        rail=EvmContractRail.name,
        intent_ref=event.onchain_id,
        tx_id=event.tx_hash,
        position=ChainPosition(
            height=event.block_number,
            index=event.log_index,
            tx_index=event.tx_log_index,
            block_id=event.block_hash,
            time=event.block_timestamp,
        ),
        amount=event.amount,
        asset=event.token,
        payer=event.payer,
        merchant=event.merchant,
        merchant_amount=event.merchant_amount,
        fee_amounts=event.fee_amounts,
        total=event.total,
        reason=reason,
        source=event.contract_address,
    )


def entries_of(network: str, logs: Sequence[Mapping[str, Any]]) -> list[LedgerEntry]:
    """The ledger entries of the Sluice contract logs among `logs` (an eth_getLogs answer), in chain
    order; removed logs are skipped."""
    return [entry_of(network, e) for e in decode_logs([lg for lg in logs if not lg.get("removed")])]


class EvmContractRail:
    """Pay by calling the Sluice contracts from an EVM wallet."""

    name: ClassVar[str] = "evm-contract"
    family: ClassVar[str] = "evm"

    def __init__(self, registry: Registry, settings: Settings, nonces: NonceAllocator) -> None:
        self.registry = registry
        self.settings = settings
        self.nonces = nonces

    def validate_address(self, address: str, param: str = "address") -> str:
        """EIP-55; the zero address is nobody's and is refused."""
        from sluice.merchants.payout import check_address  # eth_utils: kept off the indexer's start-up

        return check_address(address, param)

    def finality(self, network: str) -> Finality:
        return Finality("confirmations", confirmations=self.registry.network(network).confirmations)

    async def authorize(self, terms: Terms) -> Authorization:
        """Signs the intent for the network's payments or escrow contract with a fresh nonce."""
        from sluice.intents.limits import check_payable_amount
        from sluice.intents.signing import operator_account, sign_payment_intent

        network = self.registry.network(terms.network)
        kind = contract_kind_of(terms.capture_method)
        check_payable_amount(terms.amount, kind, terms.splits)
        try:
            contract = network.contract(kind)
        except SluiceError as exc:
            raise InvalidRequestError(str(exc), param="network", code="contract_not_deployed") from exc
        nonce = await self.nonces.next(terms.pool, network.name, contract)
        onchain = OnchainIntent(
            id=os.urandom(32),
            nonce=nonce,
            token=terms.token or ZERO_ADDRESS,
            amount=terms.amount,
            payer=terms.payer or ZERO_ADDRESS,
            deadline=int(terms.deadline.timestamp()),
            merchant=terms.payout_address,
            splits=tuple(Split(s["recipient"], s["bps"]) for s in terms.splits),
            reclaim_after=int(terms.reclaim_after.timestamp()) if terms.reclaim_after else 0,
            allow_partial=terms.allow_partial,
        )
        signer = operator_account(self.settings, live=network.live)
        signature = sign_payment_intent(
            onchain, signer.key, chain_id=network.chain_id, contract=contract, kind=kind
        )
        return Authorization(intent_ref=onchain.id, nonce=nonce, source=contract, signature=signature)

    async def build(self, intent: IntentRecord, payer: str, **options: Any) -> PayerInstructions:
        """The transactions the payer signs (approve + pay, pay with value, or the permit flow)."""
        from sluice.chain.payment_uri import eip681_uri
        from sluice.chain.rpc import async_web3
        from sluice.chain.transactions import (
            build_payment_transactions,
            build_permit_transaction,
            default_method,
        )

        network = self.registry.network(intent.network)
        onchain = to_onchain(intent)
        kind = contract_kind(intent)
        method = options.get("method") or default_method(network.asset_for_token(onchain.token))
        permit_signature = options.get("permit_signature")
        w3 = async_web3(network)
        signature = bytes(intent.signature)
        if permit_signature is not None:
            if method != "permit":
                raise InvalidRequestError(
                    "permit_signature goes with method 'permit'", param="permit_signature"
                )
            built = await build_permit_transaction(
                w3, network, onchain, signature, kind, payer, permit_signature
            )
        else:
            built = await build_payment_transactions(
                w3,
                network,
                onchain,
                signature,
                kind,
                payer,
                method,
            )
        asset = network.asset_for_token(onchain.token)
        uri = eip681_uri(network, onchain, asset, kind=kind)
        return PayerInstructions(
            rail=self.name,
            transactions=built.transactions,
            uri=uri,
            extra={
                "method": method,
                "chain_id": network.chain_id,
                "steps": built.steps,
                "permit": built.permit.typed_data if built.permit is not None else None,
                "eip681": uri,
            },
        )

    def decode(self, network: str, observed: Sequence[Any]) -> list[LedgerEntry]:
        return entries_of(network, observed)
