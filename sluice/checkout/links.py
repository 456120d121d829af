"""The hosted checkout URL of an intent.

Apart from `sluice.checkout.service` because every intent view carries the link, including the
indexer's event payloads, and the indexer has no use for the checkout service's imports.
"""

from __future__ import annotations


def checkout_link(base_url: str, intent_id: str, client_secret: str) -> str:
    """The hosted checkout URL of an intent: the page reads the client secret from `secret`."""
    return f"{base_url.rstrip('/')}/{intent_id}?secret={client_secret}"
