"""The Solana rail (`solana-pay`): Solana Pay transfers with the fee split in the payer's transaction.

It implements `sluice.rails.base.Rail`: wallet addresses in base58 (on the curve), the payer's
unsigned transaction (`build`), ledger entries from observations (`decode`), and finality by
commitment — an entry counts from the network's `final_commitment` (`finalized` by default), and
makes the intent `processing` from `processing_commitment` (`confirmed`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from sluice.errors import InvalidRequestError
from sluice.ledger.entries import LedgerEntry
from sluice.rails.base import Authorization, Finality, PayerInstructions, Terms
from sluice.rails.solana.addresses import canonical_wallet, parse_wallet
from sluice.rails.solana.networks import get_solana_network
from sluice.rails.solana.observe import RAIL_NAME, ObservedTransaction, ledger_entry, validate_transfer
from sluice.rails.solana.payment import SolanaPayment, Split, payment_from_intent
from sluice.rails.solana.preflight import check_payment
from sluice.rails.solana.rpc import SolanaRpc
from sluice.rails.solana.settings import SolanaSettings
from sluice.rails.solana.solana_pay import (
    transaction_request_account,
    transaction_request_response,
    transfer_request_url,
)
from sluice.rails.solana.transaction import build_transaction, encode_transaction, receiving_account
from sluice.rails.solana.watcher import Observation, Settlement, settle


class SolanaRail:
    """Solana Pay with the split in the payer's transaction."""

    name: ClassVar[str] = RAIL_NAME
    family: ClassVar[str] = "solana"

    def __init__(self, settings: SolanaSettings | None = None) -> None:
        self.settings = settings or SolanaSettings()
        self._rpcs: dict[str, SolanaRpc] = {}

    def rpc(self, network: str) -> SolanaRpc:
        """One client per network, reused."""
        url = get_solana_network(network).rpc_url()
        if url not in self._rpcs:
            self._rpcs[url] = SolanaRpc(url)
        return self._rpcs[url]

    async def aclose(self) -> None:
        """Close the RPC clients (at shutdown)."""
        for client in self._rpcs.values():
            await client.aclose()
        self._rpcs.clear()

    def validate_address(self, address: str, param: str = "address") -> str:
        return canonical_wallet(address, param=param)

    async def authorize(self, terms: Terms) -> Authorization:
        """A new intent's reference (32 random bytes, the Solana Pay reference key) and the account
        its payments credit (`source`). Solana has no escrow program here: the split is paid by the
        payer's own transaction, so only automatic capture exists."""
        if terms.capture_method != "automatic":
            raise InvalidRequestError(
                "Solana intents are captured automatically (the split is paid in the payer's "
                "transaction; there is no escrow): use capture_method=automatic",
                param="capture_method",
                code="capture_method_unsupported",
            )
        network = get_solana_network(terms.network)
        assets = {a.address: a for a in network.assets.values()}
        if terms.token not in assets:
            raise InvalidRequestError(
                f"{terms.token} is not a payable asset on {network.name}", param="asset", code="unknown_asset"
            )
        payment = SolanaPayment(
            intent_id="pi_pending",
            network=network.name,
            asset=assets[terms.token].symbol,
            mint=terms.token,
            decimals=assets[terms.token].decimals,
            amount=terms.amount,
            merchant=canonical_wallet(terms.payout_address, param="payout_address"),
            reference=os.urandom(32),
            splits=tuple(Split(str(s["recipient"]), int(s["bps"])) for s in terms.splits),
        )
        return Authorization(intent_ref=payment.reference, source=receiving_account(payment))

    def finality(self, network: str) -> Finality:
        return Finality(kind="commitment", commitment=get_solana_network(network).final_commitment)

    async def settle(self, network: str, signatures: Sequence[str]) -> Settlement:
        """Which observed transactions reached the network's final commitment, and which the node
        no longer knows (to roll back): one call per 256 signatures."""
        commitment = get_solana_network(network).final_commitment
        return await settle(self.rpc(network), signatures, final_commitment=commitment)

    def payment(self, intent: Any) -> SolanaPayment:
        return intent if isinstance(intent, SolanaPayment) else payment_from_intent(intent)

    async def build(self, intent: Any, payer: str, **options: Any) -> PayerInstructions:
        """The payer's transaction (base64; unsigned, or signed by the operator when it sponsors the
        fee), the transfer request URL for intents without splits, the reference and the legs.

        Options: `rpc` (a SolanaRpc to use), `check_balance` (default True: a payer who cannot pay
        gets InsufficientBalanceError now rather than a failed transaction in the wallet).
        """
        payment = self.payment(intent)
        payer_key = parse_wallet(payer, param="payer")
        rpc: SolanaRpc = options.get("rpc") or self.rpc(payment.network)
        fee_payer = self.settings.fee_payer()
        if options.get("check_balance", True):
            await check_payment(
                rpc,
                payment,
                str(payer_key),
                sponsored=fee_payer is not None,
                priority_micro_lamports=self.settings.priority_fee_microlamports,
            )
        blockhash, last_valid = await rpc.latest_blockhash()
        tx = build_transaction(
            payment,
            payer_key,
            blockhash,
            fee_payer=fee_payer,
            priority_micro_lamports=self.settings.priority_fee_microlamports,
        )
        fee_payer_key = str(fee_payer.pubkey()) if fee_payer else str(payer_key)
        return PayerInstructions(
            rail=self.name,
            transactions=[
                {
                    "encoding": "base64",
                    "transaction": encode_transaction(tx),
                    "recent_blockhash": str(blockhash),
                    "last_valid_block_height": last_valid,
                    "fee_payer": fee_payer_key,
                    "signers": [fee_payer_key, str(payer_key)] if fee_payer else [str(payer_key)],
                }
            ],
            uri=None if payment.splits else transfer_request_url(payment),
            extra={
                "network": payment.network,
                "reference": str(payment.reference_key),
                "memo": payment.memo,
                "mint": payment.mint,
                "legs": [{"recipient": leg.recipient, "amount": str(leg.amount)} for leg in payment.legs()],
                "sponsored": fee_payer is not None,
            },
        )

    async def transaction_request(
        self, intent: Any, body: Mapping[str, Any], **options: Any
    ) -> dict[str, Any]:
        """The Solana Pay transaction request's POST answer for `body` (`{"account": <payer>}`):
        `{"transaction": <base64>, "message": <what the wallet shows>}`."""
        payment = self.payment(intent)
        payer = transaction_request_account(body)
        instructions = await self.build(payment, payer, **options)
        message = payment.message or f"Payment {payment.intent_id}"
        return transaction_request_response(instructions.transactions[0]["transaction"], message)

    def decode(self, network: str, observed: Sequence[Any]) -> list[LedgerEntry]:
        """Entries for observations (`watcher.Observation`) or (payment, getTransaction result) pairs.
        Failed transactions move no money and give no entry; every other one gives one."""
        entries = []
        for item in observed:
            if isinstance(item, Observation):
                payment, tx, validation = item.payment, item.tx, item.validation
            else:
                payment, result = item
                tx = ObservedTransaction.parse(result)
                validation = validate_transfer(payment, tx)
            if payment.network != network or tx.failed:
                continue
            entries.append(ledger_entry(payment, tx, validation))
        return entries


__all__ = ["SolanaRail", "parse_wallet"]
