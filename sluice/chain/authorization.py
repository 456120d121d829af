"""EIP-3009 receive authorizations (USDC's `receiveWithAuthorization`) bound to a payment intent.

`SluicePayments.payWithAuthorization` redeems an authorization whose payee is the contract and whose
nonce is the intent's EIP-712 digest on that contract: the payer signs once, anyone relays, and the
authorization can pay that one intent only (the token lets only the payee redeem it, and another
intent has another digest). This module builds the typed data the payer signs
(eth_signTypedData_v4 shape) and the intent digest used as its nonce.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sluice.chain.hashing import checksum, keccak
from sluice.chain.intents import PaymentIntent, typed_data

RECEIVE_WITH_AUTHORIZATION_TYPES: dict[str, list[dict[str, str]]] = {
    "ReceiveWithAuthorization": [
        {"name": "from", "type": "address"},
        {"name": "to", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "validAfter", "type": "uint256"},
        {"name": "validBefore", "type": "uint256"},
        {"name": "nonce", "type": "bytes32"},
    ],
}
_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def intent_digest(intent: PaymentIntent, *, chain_id: int, contract: str) -> bytes:
    """The intent's EIP-712 digest on SluicePayments (`hashIntent`): the authorization's nonce."""
    from eth_account.messages import encode_typed_data  # eth_account costs ~0.3 s to import

    message = encode_typed_data(
        full_message=typed_data(intent, chain_id=chain_id, contract=contract, kind="payments")
    )
    return keccak(b"\x19" + message.version + message.header + message.body)


@dataclass(frozen=True)
class ReceiveAuthorization:
    """What the payer signs to pay one intent through `payWithAuthorization`."""

    token: str
    #: The token's EIP-712 domain name and version (USDC: "USD Coin", "2").
    token_name: str
    token_version: str
    chain_id: int
    payer: str
    payee: str  # the SluicePayments contract
    value: int
    valid_after: int
    valid_before: int
    nonce: bytes

    def typed_data(self) -> dict[str, Any]:
        """The full typed data, as eth_signTypedData_v4 takes it."""
        return {
            "types": {"EIP712Domain": _DOMAIN_TYPE, **RECEIVE_WITH_AUTHORIZATION_TYPES},
            "primaryType": "ReceiveWithAuthorization",
            "domain": {
                "name": self.token_name,
                "version": self.token_version,
                "chainId": self.chain_id,
                "verifyingContract": checksum(self.token),
            },
            "message": {
                "from": checksum(self.payer),
                "to": checksum(self.payee),
                "value": self.value,
                "validAfter": self.valid_after,
                "validBefore": self.valid_before,
                "nonce": self.nonce,
            },
        }


def authorization_for_intent(
    intent: PaymentIntent,
    *,
    payer: str,
    chain_id: int,
    contract: str,
    token_name: str,
    token_version: str,
    valid_after: int = 0,
) -> ReceiveAuthorization:
    """The authorization that pays `intent` on the SluicePayments at `contract`, valid until its deadline."""
    return ReceiveAuthorization(
        token=intent.token,
        token_name=token_name,
        token_version=token_version,
        chain_id=chain_id,
        payer=payer,
        payee=contract,
        value=intent.amount,
        valid_after=valid_after,
        valid_before=intent.deadline + 1,
        nonce=intent_digest(intent, chain_id=chain_id, contract=contract),
    )


def sign_authorization(
    authorization: ReceiveAuthorization, private_key: str | bytes
) -> tuple[int, bytes, bytes]:
    """The payer's signature (v, r, s), for wallets-free flows and tests."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    signed = Account.sign_message(encode_typed_data(full_message=authorization.typed_data()), private_key)
    return int(signed.v), int(signed.r).to_bytes(32, "big"), int(signed.s).to_bytes(32, "big")
