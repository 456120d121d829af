"""Stacks transactions (SIP-005 wire format): contract calls for payers, contract deploys for
`sluice deploy`, deny-mode post-conditions, and single-signature signing.

Only the shapes Sluice sends are covered: standard authorization with one P2PKH spending condition
(compressed key), "any" anchor mode, contract-call and versioned smart-contract payloads, STX and
fungible-token post-conditions. tests/rails/stacks compare the bytes with @stacks/transactions'
`makeUnsignedContractCall` / `makeContractDeploy`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from coincurve import PrivateKey

from sluice.errors import SluiceValueError
from sluice.rails.stacks.c32 import StacksAddress, hash160, parse_address, parse_principal
from sluice.rails.stacks.clarity import ClarityValue

_AUTH_STANDARD = 0x04
_HASH_MODE_P2PKH = 0x00
_KEY_COMPRESSED = 0x00
_ANCHOR_ANY = 0x03
_PAYLOAD_CONTRACT_CALL = 0x02
_PAYLOAD_VERSIONED_CONTRACT = 0x06
_POST_CONDITION_MODE = {"allow": 0x01, "deny": 0x02}
_PC_STX, _PC_FT = 0x00, 0x01
_PC_PRINCIPAL_STANDARD, _PC_PRINCIPAL_CONTRACT = 0x02, 0x03
_CONDITION_CODES = {"eq": 0x01, "gt": 0x02, "gte": 0x03, "lt": 0x04, "lte": 0x05}
_EMPTY_SIGNATURE = bytes(65)
_U64 = 1 << 64

Condition = Literal["eq", "gt", "gte", "lt", "lte"]


def _u64(value: int, name: str) -> bytes:
    if not 0 <= value < _U64:
        raise SluiceValueError(f"{name} {value} does not fit 64 bits", param=name)
    return value.to_bytes(8, "big")


def _name(value: str) -> bytes:
    data = value.encode("ascii")
    if not 0 < len(data) < 256:
        raise SluiceValueError(f"name {value!r} must be 1-255 ASCII characters")
    return bytes([len(data)]) + data


def _principal(principal: str) -> bytes:
    address, contract = parse_principal(principal)
    head = bytes([address.version]) + address.hash160
    if contract is None:
        return bytes([_PC_PRINCIPAL_STANDARD]) + head
    return bytes([_PC_PRINCIPAL_CONTRACT]) + head + _name(contract)


@dataclass(frozen=True)
class PostCondition:
    """ "`principal` sends `condition` `amount`" of STX (asset None) or of a fungible token
    (`asset` = "SP….contract::token-name", the token's `define-fungible-token` name)."""

    principal: str
    amount: int
    condition: Condition = "eq"
    asset: str | None = None

    def serialize(self) -> bytes:
        code = bytes([_CONDITION_CODES[self.condition]]) + _u64(self.amount, "amount")
        if self.asset is None:
            return bytes([_PC_STX]) + _principal(self.principal) + code
        contract, sep, token_name = self.asset.partition("::")
        address, contract_name = parse_principal(contract)
        if not sep or contract_name is None:
            raise SluiceValueError(f"asset {self.asset!r} must be CONTRACT::TOKEN-NAME", param="asset")
        asset = bytes([address.version]) + address.hash160 + _name(contract_name) + _name(token_name)
        return bytes([_PC_FT]) + _principal(self.principal) + asset + code

    def to_json(self) -> dict[str, str]:
        """The post-condition as @stacks/transactions 7 and `stx_callContract` wallets take it."""
        if self.asset is None:
            return {
                "type": "stx-postcondition",
                "address": self.principal,
                "condition": self.condition,
                "amount": str(self.amount),
            }
        return {
            "type": "ft-postcondition",
            "address": self.principal,
            "condition": self.condition,
            "asset": self.asset,
            "amount": str(self.amount),
        }


@dataclass(frozen=True)
class ContractCall:
    contract: str
    function: str
    args: tuple[ClarityValue, ...]

    def serialize(self) -> bytes:
        address, name = parse_principal(self.contract)
        if name is None:
            raise SluiceValueError(f"{self.contract!r} is not a contract principal", param="contract")
        args = b"".join(a.serialize() for a in self.args)
        return (
            bytes([_PAYLOAD_CONTRACT_CALL, address.version])
            + address.hash160
            + _name(name)
            + _name(self.function)
            + len(self.args).to_bytes(4, "big")
            + args
        )


@dataclass(frozen=True)
class ContractDeploy:
    name: str
    source: str
    clarity_version: int = 4

    def serialize(self) -> bytes:
        code = self.source.encode("utf-8")
        return (
            bytes([_PAYLOAD_VERSIONED_CONTRACT, self.clarity_version])
            + _name(self.name)
            + len(code).to_bytes(4, "big")
            + code
        )


@dataclass(frozen=True)
class Transaction:
    """A single-signature transaction from `sender` (an SP…/ST… address)."""

    version: int
    chain_id: int
    sender: StacksAddress
    nonce: int
    fee: int
    payload: ContractCall | ContractDeploy
    post_conditions: tuple[PostCondition, ...] = ()
    post_condition_mode: Literal["allow", "deny"] = "deny"
    signature: bytes = field(default=_EMPTY_SIGNATURE)

    def serialize(self) -> bytes:
        return (
            bytes([self.version])
            + self.chain_id.to_bytes(4, "big")
            + self._auth(self.nonce, self.fee, self.signature)
            + bytes([_ANCHOR_ANY, _POST_CONDITION_MODE[self.post_condition_mode]])
            + len(self.post_conditions).to_bytes(4, "big")
            + b"".join(pc.serialize() for pc in self.post_conditions)
            + self.payload.serialize()
        )

    def _auth(self, nonce: int, fee: int, signature: bytes) -> bytes:
        return (
            bytes([_AUTH_STANDARD, _HASH_MODE_P2PKH])
            + self.sender.hash160
            + _u64(nonce, "nonce")
            + _u64(fee, "fee")
            + bytes([_KEY_COMPRESSED])
            + signature
        )

    def txid(self) -> str:
        return "0x" + hashlib.new("sha512_256", self.serialize()).hexdigest()

    def sign(self, private_key: bytes) -> Transaction:
        """The transaction signed by the sender's key (SIP-005: sighash over the cleared
        authorization, then over auth type, fee and nonce; signature as recovery id ‖ r ‖ s)."""
        secret = private_key[:32] if len(private_key) == 33 and private_key[-1] == 1 else private_key
        key = PrivateKey(secret)
        if hash160(key.public_key.format(compressed=True)) != self.sender.hash160:
            raise SluiceValueError("the key does not belong to the transaction's sender")
        cleared = replace(self, nonce=0, fee=0, signature=_EMPTY_SIGNATURE)
        initial = hashlib.new("sha512_256", cleared.serialize()).digest()
        presign = hashlib.new(
            "sha512_256",
            initial + bytes([_AUTH_STANDARD]) + _u64(self.fee, "fee") + _u64(self.nonce, "nonce"),
        ).digest()
        rsv = key.sign_recoverable(presign, hasher=None)
        return replace(self, signature=rsv[64:] + rsv[:64])


def unsigned_transaction(
    *,
    version: int,
    chain_id: int,
    sender: str,
    nonce: int,
    fee: int,
    payload: ContractCall | ContractDeploy,
    post_conditions: Sequence[PostCondition] = (),
    post_condition_mode: Literal["allow", "deny"] = "deny",
) -> Transaction:
    """A transaction ready for the sender's wallet to sign; `sender` must be a single-signature
    address (SP…/ST…): multi-signature senders need their own spending condition."""
    address = parse_address(sender)
    if address.version not in (22, 26):
        raise SluiceValueError(f"{sender!r} is a multi-signature address; pay from SP… or ST…", param="payer")
    return Transaction(
        version=version,
        chain_id=chain_id,
        sender=address,
        nonce=nonce,
        fee=fee,
        payload=payload,
        post_conditions=tuple(post_conditions),
        post_condition_mode=post_condition_mode,
    )


#: Offsets in a serialized single-signature transaction: version 1, chain id 4, auth type 1,
#: hash mode 1, signer 20, then nonce 8, fee 8, key encoding 1, signature 65.
_NONCE_AT, _FEE_AT, _SIGNATURE_AT = 27, 35, 44


def sign_serialized(unsigned: bytes, private_key: bytes) -> bytes:
    """Signs a serialized single-signature transaction as a wallet does (what a payer's wallet does
    with `unsigned_transaction` from the rail's instructions; the dev tools and tests use it)."""
    if len(unsigned) < _SIGNATURE_AT + 65 or unsigned[5] != _AUTH_STANDARD or unsigned[6] != _HASH_MODE_P2PKH:
        raise SluiceValueError("not a serialized single-signature transaction")
    secret = private_key[:32] if len(private_key) == 33 and private_key[-1] == 1 else private_key
    key = PrivateKey(secret)
    if hash160(key.public_key.format(compressed=True)) != unsigned[7:_NONCE_AT]:
        raise SluiceValueError("the key does not belong to the transaction's sender")
    nonce, fee = unsigned[_NONCE_AT:_FEE_AT], unsigned[_FEE_AT : _FEE_AT + 8]
    cleared = (
        unsigned[:_NONCE_AT] + bytes(16) + unsigned[_SIGNATURE_AT - 1 : _SIGNATURE_AT] + _EMPTY_SIGNATURE
    )
    cleared += unsigned[_SIGNATURE_AT + 65 :]
    initial = hashlib.new("sha512_256", cleared).digest()
    presign = hashlib.new("sha512_256", initial + bytes([_AUTH_STANDARD]) + fee + nonce).digest()
    rsv = key.sign_recoverable(presign, hasher=None)
    return unsigned[:_SIGNATURE_AT] + rsv[64:] + rsv[:64] + unsigned[_SIGNATURE_AT + 65 :]
