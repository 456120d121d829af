"""ERC-20 calls and EIP-2612 permits: whether a token supports permit, and the typed data a wallet signs.

A permit that the token rejects does not stop `payWithPermit` (the contracts ignore a failed permit so
that a front-run permit cannot block the payment); the transfer then fails for want of an allowance.
So support is checked before offering permit: `nonces` and `DOMAIN_SEPARATOR` must exist, the domain
we rebuild must hash to the token's own separator, and a token exposing a PERMIT_TYPEHASH other than
EIP-2612's (DAI's `allowed` permit) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address
from web3 import AsyncWeb3
from web3.contract import AsyncContract
from web3.exceptions import Web3Exception

from sluice.errors import InvalidPermitSignatureError, UnsupportedPaymentMethodError

EIP2612_TYPEHASH = keccak(
    text="Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
)
PERMIT_TYPES: list[dict[str, str]] = [
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
#: EIP-712 domain fields in the order of EIP-5267's `fields` bitmap.
DOMAIN_FIELDS: list[dict[str, str]] = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
    {"name": "salt", "type": "bytes32"},
]


def _fn(name: str, inputs: list[tuple[str, str]], outputs: list[str], mutability: str) -> dict[str, Any]:
    return {
        "type": "function",
        "name": name,
        "inputs": [{"name": n, "type": t} for n, t in inputs],
        "outputs": [{"name": "", "type": t} for t in outputs],
        "stateMutability": mutability,
    }


#: The ERC-20 / EIP-2612 / EIP-5267 functions Sluice calls on tokens. `approve` is declared without a
#: return value so that USDT-style tokens (which return nothing) encode the same way.
ERC20_ABI: list[dict[str, Any]] = [
    _fn("approve", [("spender", "address"), ("value", "uint256")], [], "nonpayable"),
    _fn("allowance", [("owner", "address"), ("spender", "address")], ["uint256"], "view"),
    _fn("balanceOf", [("owner", "address")], ["uint256"], "view"),
    _fn("name", [], ["string"], "view"),
    _fn("version", [], ["string"], "view"),
    _fn("nonces", [("owner", "address")], ["uint256"], "view"),
    _fn("DOMAIN_SEPARATOR", [], ["bytes32"], "view"),
    _fn("PERMIT_TYPEHASH", [], ["bytes32"], "view"),
    _fn(
        "eip712Domain",
        [],
        ["bytes1", "string", "string", "uint256", "address", "bytes32", "uint256[]"],
        "view",
    ),
    _fn(
        "permit",
        [
            ("owner", "address"),
            ("spender", "address"),
            ("value", "uint256"),
            ("deadline", "uint256"),
            ("v", "uint8"),
            ("r", "bytes32"),
            ("s", "bytes32"),
        ],
        [],
        "nonpayable",
    ),
]


def erc20(w3: AsyncWeb3, address: str) -> AsyncContract:
    return w3.eth.contract(address=to_checksum_address(address), abi=ERC20_ABI)


async def _optional_call(contract: AsyncContract, fn: str, *args: Any) -> Any:
    """The call's result, or None when the token lacks the function (revert or empty return data)."""
    try:
        return await contract.functions[fn](*args).call()
    except (Web3Exception, ValueError, OverflowError):
        return None


@dataclass(frozen=True)
class PermitRequest:
    """An EIP-2612 permit the payer signs with eth_signTypedData_v4 before the permit transaction."""

    token: str
    owner: str
    spender: str
    value: int
    nonce: int
    deadline: int
    domain: dict[str, Any]

    @property
    def typed_data(self) -> dict[str, Any]:
        """The typed data for the wallet; uint256 values as decimal strings (JSON numbers lose precision)."""
        return {
            "types": {
                "EIP712Domain": [f for f in DOMAIN_FIELDS if f["name"] in self.domain],
                "Permit": PERMIT_TYPES,
            },
            "primaryType": "Permit",
            "domain": self.domain,
            "message": {
                "owner": self.owner,
                "spender": self.spender,
                "value": str(self.value),
                "nonce": str(self.nonce),
                "deadline": str(self.deadline),
            },
        }


async def permit_domain(w3: AsyncWeb3, token: str, chain_id: int, owner: str) -> dict[str, Any]:
    """The token's EIP-712 permit domain; raises UnsupportedPaymentMethodError when none can be trusted."""
    contract = erc20(w3, token)

    def refuse(why: str) -> UnsupportedPaymentMethodError:
        return UnsupportedPaymentMethodError(
            f"token {contract.address} does not support EIP-2612 permit ({why}); use method 'approve'",
            method="permit",
        )

    if await _optional_call(contract, "nonces", owner) is None:
        raise refuse("no nonces(owner)")
    separator = await _optional_call(contract, "DOMAIN_SEPARATOR")
    if separator is None:
        raise refuse("no DOMAIN_SEPARATOR()")
    typehash = await _optional_call(contract, "PERMIT_TYPEHASH")
    if typehash is not None and bytes(typehash) != EIP2612_TYPEHASH:
        raise refuse("its permit is not the EIP-2612 one")

    domain: dict[str, Any]
    described = await _optional_call(contract, "eip712Domain")
    if described is not None:  # EIP-5267: the token says what its domain is
        fields, name, version, domain_chain_id, verifying, salt, _extensions = described
        values = [
            name,
            version,
            int(domain_chain_id),
            to_checksum_address(verifying),
            "0x" + bytes(salt).hex(),
        ]
        bitmap = int.from_bytes(bytes(fields), "big")
        domain = {
            f["name"]: v
            for i, (f, v) in enumerate(zip(DOMAIN_FIELDS, values, strict=True))
            if bitmap >> i & 1
        }
    else:  # the common pre-5267 shape: name, version (USDC's "2"; "1" when absent), chain id, address
        name = await _optional_call(contract, "name")
        if name is None:
            raise refuse("no name()")
        version = await _optional_call(contract, "version") or "1"
        domain = {
            "name": name,
            "version": version,
            "chainId": chain_id,
            "verifyingContract": contract.address,
        }
    if "chainId" in domain and domain["chainId"] != chain_id:
        raise refuse(f"its domain is for chain id {domain['chainId']}")
    if _domain_separator(domain) != bytes(separator):
        raise refuse("its DOMAIN_SEPARATOR does not match its name/version/chain/address")
    return domain


def _domain_separator(domain: dict[str, Any]) -> bytes:
    """The EIP-712 domain separator of `domain` (the header eth-account puts in front of the struct hash)."""
    zero = "0x" + "00" * 20
    probe = {
        "types": {"EIP712Domain": [f for f in DOMAIN_FIELDS if f["name"] in domain], "Permit": PERMIT_TYPES},
        "primaryType": "Permit",
        "domain": domain,
        "message": {"owner": zero, "spender": zero, "value": 0, "nonce": 0, "deadline": 0},
    }
    return bytes(encode_typed_data(full_message=probe).header)


async def build_permit_request(
    w3: AsyncWeb3, *, token: str, owner: str, spender: str, value: int, deadline: int, chain_id: int
) -> PermitRequest:
    """The permit of `value` from `owner` to `spender` for the wallet to sign (nonce read now)."""
    domain = await permit_domain(w3, token, chain_id, owner)
    nonce = int(await erc20(w3, token).functions.nonces(to_checksum_address(owner)).call())
    return PermitRequest(
        token=to_checksum_address(token),
        owner=to_checksum_address(owner),
        spender=to_checksum_address(spender),
        value=value,
        nonce=nonce,
        deadline=deadline,
        domain=domain,
    )


def split_signature(signature: bytes | str) -> tuple[int, bytes, bytes]:
    """(v, r, s) of a 65-byte signature; v of 0/1 (some wallets) becomes 27/28."""
    try:
        raw = bytes.fromhex(signature.removeprefix("0x")) if isinstance(signature, str) else bytes(signature)
    except ValueError:
        raise InvalidPermitSignatureError("the permit signature is not hex") from None
    if len(raw) != 65:
        raise InvalidPermitSignatureError(f"a permit signature has 65 bytes, got {len(raw)}")
    v = raw[64] + 27 if raw[64] < 27 else raw[64]
    if v not in (27, 28):
        raise InvalidPermitSignatureError(f"permit signature has v={raw[64]}, expected 27 or 28")
    return v, raw[:32], raw[32:64]


def sign_permit(request: PermitRequest, private_key: str | bytes) -> tuple[int, bytes, bytes]:
    """The wallet side: the owner's (v, r, s) for a permit (tests, benchmarks, scripted payers)."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    typed = request.typed_data
    message = {**typed["message"], **{k: int(typed["message"][k]) for k in ("value", "nonce", "deadline")}}
    signed = Account.sign_message(encode_typed_data(full_message={**typed, "message": message}), private_key)
    return int(signed.v), signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")
