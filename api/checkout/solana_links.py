"""The Solana facts of the hosted checkout page (api/checkout/endpoints.py): the Wallet Standard chain
the browser wallet signs for, the Solana Pay links of the QR code (api/checkout/solana_pay.py serves
the transaction request), and, for intents without splits, the transfer request."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import Request

from sluice.checkout.service import CheckoutIntent
from sluice.errors import SluiceError
from sluice.rails.solana.payment import payment_from_intent
from sluice.rails.solana.solana_pay import transaction_request_url, transfer_request_url

#: Wallet Standard chain ids of the Solana networks (what `solana:signAndSendTransaction` takes).
WALLET_CHAINS = {
    "solana": "solana:mainnet",
    "solana-devnet": "solana:devnet",
    "solana-local": "solana:localnet",
}


def checkout_solana(request: Request, checkout: CheckoutIntent, secret: str) -> dict[str, Any] | None:
    """What the checkout page needs for a Solana intent (None for other families): the Wallet
    Standard chain, the Solana Pay transaction-request link for the QR code, and the transfer-request
    link for intents without splits."""
    if checkout.network.family != "solana":
        return None
    intent = checkout.intent
    endpoint = str(
        request.url_for("solana_pay_metadata", intent_id=intent.id).include_query_params(secret=secret)
    )
    try:
        link: str | None = transaction_request_url(endpoint)
    except SluiceError:  # plain http on a public host: wallets refuse it, so no QR code
        link = None
    transfer = None
    with contextlib.suppress(SluiceError):
        payment = payment_from_intent(intent)
        transfer = None if payment.splits else transfer_request_url(payment, label=checkout.merchant_name)
    return {
        "chain": WALLET_CHAINS.get(checkout.network.name, "solana:" + checkout.network.name),
        "transaction_request": link,
        "transfer_request": transfer,
    }
