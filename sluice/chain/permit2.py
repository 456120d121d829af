"""Permit2 signature transfers with the payment intent as witness (`SluicePayments.payWithPermit2`).

The payer approves the canonical Uniswap Permit2 once per token (any ERC-20, no EIP-2612 or EIP-3009
needed), then pays each intent by signing a `PermitWitnessTransferFrom`: `amount` of the intent's
token, spender = the SluicePayments contract, deadline = the intent's deadline, and the whole intent
as witness. Only that contract can redeem it (Permit2 checks the spender), only for that intent (the
witness), and only once (Permit2's unordered nonce and the intent's own). This module builds the
typed data (eth_signTypedData_v4 shape), the permit nonce, a signer for tests and wallet-free flows,
and, for local chains, the canonical Permit2 code at its canonical address.

The bytecode is Uniswap's own precompiled Permit2 (contracts/vendor/Permit2.json, shipped by npm
`@uniswap/v4-periphery` for tests that etch it, as ours do): its two immutables (the chain id and the
EIP-712 domain separator its constructor caches) are set to what the constructor computes at the
canonical address on the chain it is installed on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from sluice.chain.hashing import checksum, keccak
from sluice.chain.intents import INTENT_TYPES, PaymentIntent
from sluice.paths import CONTRACTS_DIR

PERMIT2_ADDRESS = "0x000000000022D473030F116dDEE9F6B43aC78BA3"
VENDOR_FILE = CONTRACTS_DIR / "vendor" / "Permit2.json"

TOKEN_PERMISSIONS_TYPES: dict[str, list[dict[str, str]]] = {
    "TokenPermissions": [
        {"name": "token", "type": "address"},
        {"name": "amount", "type": "uint256"},
    ],
}
PERMIT_WITNESS_TYPES: dict[str, list[dict[str, str]]] = {
    "PermitWitnessTransferFrom": [
        {"name": "permitted", "type": "TokenPermissions"},
        {"name": "spender", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
        {"name": "witness", "type": "PaymentIntent"},
    ],
    **TOKEN_PERMISSIONS_TYPES,
    **INTENT_TYPES,
}
#: What SluicePayments passes to Permit2 as `witnessTypeString` (its PERMIT2_WITNESS_TYPE): the witness
#: member, then every referenced type sorted by name, as EIP-712's encodeType orders them.
WITNESS_TYPE_STRING = (
    "PaymentIntent witness)"
    "PaymentIntent(bytes32 id,uint256 nonce,address token,uint256 amount,address payer,uint256 deadline,"
    "address merchant,Split[] splits,uint256 reclaimAfter,bool allowPartial)"
    "Split(address recipient,uint16 bps)"
    "TokenPermissions(address token,uint256 amount)"
)
_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_DOMAIN_TYPEHASH = keccak(b"EIP712Domain(string name,uint256 chainId,address verifyingContract)")
_NONCE_LOW_BITS = 96


def permit_nonce(intent: PaymentIntent, contract: str) -> int:
    """The Permit2 nonce for an intent: the contract's address above the intent's nonce, so the
    payer's Permit2 nonces for Sluice keep clear of other applications' and stay dense (consecutive
    intents share Permit2's 256-bit nonce words: a repeat payer pays ~5k gas for it, not ~22k)."""
    return (int(contract, 16) << _NONCE_LOW_BITS) | (intent.nonce & ((1 << _NONCE_LOW_BITS) - 1))


@dataclass(frozen=True)
class Permit2Transfer:
    """What the payer signs to pay one intent through `payWithPermit2`."""

    intent: PaymentIntent
    chain_id: int
    payer: str
    spender: str  # the SluicePayments contract
    nonce: int
    permit2: str = PERMIT2_ADDRESS

    def typed_data(self) -> dict[str, Any]:
        """The full typed data, as eth_signTypedData_v4 takes it: JSON as it is (the intent's id as
        0x-hex, uint256 values as decimal strings, which wallets and eth-account take)."""
        witness = {
            **self.intent.message(),
            "id": "0x" + self.intent.id.hex(),
            "nonce": str(self.intent.nonce),
            "amount": str(self.intent.amount),
            "deadline": str(self.intent.deadline),
            "reclaimAfter": str(self.intent.reclaim_after),
        }
        return {
            "types": {"EIP712Domain": _DOMAIN_TYPE, **PERMIT_WITNESS_TYPES},
            "primaryType": "PermitWitnessTransferFrom",
            "domain": {
                "name": "Permit2",
                "chainId": self.chain_id,
                "verifyingContract": checksum(self.permit2),
            },
            "message": {
                "permitted": {"token": checksum(self.intent.token), "amount": str(self.intent.amount)},
                "spender": checksum(self.spender),
                "nonce": str(self.nonce),
                "deadline": str(self.intent.deadline),
                "witness": witness,
            },
        }


def permit2_transfer(intent: PaymentIntent, *, payer: str, chain_id: int, contract: str) -> Permit2Transfer:
    """The transfer that pays `intent` on the SluicePayments at `contract`."""
    return Permit2Transfer(
        intent=intent, chain_id=chain_id, payer=payer, spender=contract, nonce=permit_nonce(intent, contract)
    )


def sign_permit2(transfer: Permit2Transfer, private_key: str | bytes) -> bytes:
    """The payer's 65-byte signature, for wallet-free flows and tests."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    signed = Account.sign_message(encode_typed_data(full_message=transfer.typed_data()), private_key)
    return bytes(signed.signature)


def recover_permit2_signer(transfer: Permit2Transfer, signature: bytes) -> str:
    """The address that signed `transfer` (to tell a wrong signature before relaying it)."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    signable = encode_typed_data(full_message=transfer.typed_data())
    return str(Account.recover_message(signable, signature=signature))


# ----------------------------------------------------------------------------- the code, for local chains


@cache
def _vendor() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(VENDOR_FILE.read_text(encoding="utf-8"))
    return raw


def permit2_abi() -> list[dict[str, Any]]:
    abi: list[dict[str, Any]] = _vendor()["abi"]
    return abi


def domain_separator(chain_id: int, address: str = PERMIT2_ADDRESS) -> bytes:
    """Permit2's EIP-712 domain separator at `address` on `chain_id`."""
    return keccak(
        _DOMAIN_TYPEHASH
        + keccak(b"Permit2")
        + chain_id.to_bytes(32, "big")
        + bytes(12)
        + bytes.fromhex(address[2:])
    )


def runtime_code(chain_id: int) -> bytes:
    """Permit2's runtime code as its constructor leaves it at the canonical address on `chain_id`:
    the shipped code with its two immutables (PUSH32 operands) replaced."""
    vendor = _vendor()
    code = bytes.fromhex(vendor["runtimeBytecode"][2:])
    shipped_chain = int(vendor["immutables"]["cachedChainId"]).to_bytes(32, "big")
    shipped_separator = bytes.fromhex(vendor["immutables"]["cachedDomainSeparator"][2:])
    for old, new in (
        (shipped_chain, chain_id.to_bytes(32, "big")),
        (shipped_separator, domain_separator(chain_id)),
    ):
        push = b"\x7f" + old
        if push not in code:
            raise ValueError("the vendored Permit2 code does not carry the immutable it is said to")
        code = code.replace(push, b"\x7f" + new)
    return code


def install_permit2(w3: Any) -> bool:
    """Puts Permit2 at its canonical address on a local anvil (`anvil_setCode`) when nothing is there;
    True when it installed it. Real networks have it already (the deployment checks)."""
    if len(w3.eth.get_code(PERMIT2_ADDRESS)) > 0:
        return False
    code = runtime_code(int(w3.eth.chain_id))
    w3.provider.make_request("anvil_setCode", [PERMIT2_ADDRESS, "0x" + code.hex()])
    return True
