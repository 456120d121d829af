"""The operator's signing key, its EIP-712 signatures of intents, and the dense replay nonces.

Creating an intent signs it, so signing is on the API's hot path: `sign_payment_intent` gives the
very bytes `sluice.chain.intents.sign_intent` gives (tests/test_intent_signing.py checks it), but
hashes the fixed-size struct directly with keccak over a cached domain separator instead of going
through eth-account's generic typed-data encoder, and signs with a parsed key kept in memory
instead of deriving the public key from the private key on every call.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import deque
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import coincurve
from asyncpg.exceptions import DuplicateTableError, UniqueViolationError
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys.backends import get_backend
from eth_keys.backends.coincurve import CoinCurveECCBackend
from eth_keys.datatypes import PrivateKey as EcPrivateKey
from eth_keys.exceptions import ValidationError as EcKeyError
from pydantic import SecretStr

from sluice.chain.hashing import keccak
from sluice.chain.intents import (
    DOMAIN_NAMES,
    DOMAIN_VERSION,
    INTENT_TYPEHASH,
    SPLIT_TYPEHASH,
    ContractKind,
    PaymentIntent,
    sign_intent,
)
from sluice.chain.keys import ANVIL_OPERATOR_KEY, ANVIL_RELAYER_KEY
from sluice.config import Environment, Settings
from sluice.errors import KeyConfigError


def operator_account(settings: Settings, *, live: bool) -> LocalAccount:
    """The operator key (the intent signer) from settings (value or file). Outside production and for
    test networks only, anvil's well-known account 9 (the `sluice dev` operator) stands in when none
    is configured."""
    return _role_account(
        "operator", settings.operator_key, settings.operator_key_file, ANVIL_OPERATOR_KEY, settings, live
    )


def relayer_account(settings: Settings, *, live: bool) -> LocalAccount:
    """The relayer key (escrow captures, refunds, voids, nonce cancellation) from settings, a role apart
    from the intent signer. Outside production and for test networks only, anvil's account 8 (the
    `sluice dev` relayer) stands in when none is configured."""
    return _role_account(
        "relayer", settings.relayer_key, settings.relayer_key_file, ANVIL_RELAYER_KEY, settings, live
    )


def _role_account(
    role: str, value: SecretStr | None, file: Path | None, dev_key: str, settings: Settings, live: bool
) -> LocalAccount:
    """A role's key: the setting's value, else its file, else (test networks outside production) the
    dev key; KeyConfigError naming SLUICE_<ROLE>_KEY otherwise."""
    env = f"SLUICE_{role.upper()}_KEY"
    key: str | None = None
    if value is not None:
        key = value.get_secret_value()
    elif file is not None:
        try:
            key = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise KeyConfigError(f"cannot read {env}_FILE: {exc}") from exc
    elif settings.env != Environment.production and not live:
        key = dev_key
    if key is None:
        raise KeyConfigError(f"no {role} key: set {env} or {env}_FILE")
    try:
        return _account(key)
    except (ValueError, TypeError) as exc:
        raise KeyConfigError(f"the {role} key is not a valid private key") from exc


@lru_cache(maxsize=8)
def _account(key: str) -> LocalAccount:
    """The account of a key, derived once per key (deriving the address is an EC multiplication:
    milliseconds in pure Python). Keyed by the key itself, so a changed key file is picked up."""
    account: LocalAccount = Account.from_key(key)
    return account


# ------------------------------------------------------------------------------- EIP-712


_UINT256_LIMIT = 1 << 256
_DOMAIN_TYPEHASH = keccak(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
_ZERO_WORD = bytes(32)
_TRUE_WORD = (1).to_bytes(32, "big")


class _SlowPathError(ValueError):
    """A value outside what the direct encoding handles: the generic encoder decides (and raises)."""


def _uint(value: object, limit: int = _UINT256_LIMIT) -> bytes:
    if type(value) is not int or not 0 <= value < limit:
        raise _SlowPathError
    return value.to_bytes(32, "big")


def _address(value: object) -> bytes:
    """A 0x-prefixed 40-hex-digit address as its 32-byte ABI word (any letter case, as
    to_checksum_address takes it)."""
    if not isinstance(value, str) or len(value) != 42 or value[:2] not in ("0x", "0X"):
        raise _SlowPathError
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise _SlowPathError from None
    return bytes(12) + raw


@lru_cache(maxsize=256)
def domain_separator(kind: ContractKind, chain_id: int, contract: str) -> bytes:
    """EIP-712 `hashStruct(domain)` of one contract on one chain."""
    return keccak(
        _DOMAIN_TYPEHASH
        + keccak(DOMAIN_NAMES[kind].encode())
        + keccak(DOMAIN_VERSION.encode())
        + _uint(chain_id)
        + _address(contract)
    )


def intent_struct_hash(intent: PaymentIntent) -> bytes:
    """EIP-712 `hashStruct(intent)`: every member is one static word, the splits a hashed array."""
    if not isinstance(intent.id, bytes) or len(intent.id) != 32 or type(intent.allow_partial) is not bool:
        raise _SlowPathError
    splits = b"".join(
        keccak(SPLIT_TYPEHASH + _address(s.recipient) + _uint(s.bps, 1 << 16)) for s in intent.splits
    )
    return keccak(
        INTENT_TYPEHASH
        + intent.id
        + _uint(intent.nonce)
        + _address(intent.token)
        + _uint(intent.amount)
        + _address(intent.payer)
        + _uint(intent.deadline)
        + _address(intent.merchant)
        + keccak(splits)
        + _uint(intent.reclaim_after)
        + (_TRUE_WORD if intent.allow_partial else _ZERO_WORD)
    )


@lru_cache(maxsize=8)
def _signer(private_key: bytes) -> Callable[[bytes], bytes]:
    """Signs a 32-byte hash into r || s || v (v = 27 or 28) with a key parsed once.

    With coincurve (libsecp256k1, what eth-keys uses when installed) the key object is kept, so its
    public key is not derived again for every signature as eth-keys' backend does; otherwise eth-keys'
    own key with its backend resolved once. Both give the same bytes: RFC 6979 nonces, low s."""
    if isinstance(get_backend(), CoinCurveECCBackend):
        key = coincurve.PrivateKey(private_key)

        def sign(digest: bytes) -> bytes:
            signature = key.sign_recoverable(digest, hasher=None)  # r || s || recovery id
            return signature[:64] + bytes([signature[64] + 27])

        return sign
    fallback = EcPrivateKey(private_key, backend=get_backend())

    def sign_with_eth_keys(digest: bytes) -> bytes:
        v, r, s = fallback.sign_msg_hash(digest).vrs
        return bytes(r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v + 27]))

    return sign_with_eth_keys


def sign_payment_intent(
    intent: PaymentIntent, private_key: str | bytes, *, chain_id: int, contract: str, kind: ContractKind
) -> bytes:
    """The operator's 65-byte signature (r, s, v = 27 or 28) of the intent for one contract on one
    chain: byte for byte what `sluice.chain.intents.sign_intent` returns. Inputs the direct
    encoding does not take (a key given as text, values that do not fit their types) go to
    sign_intent itself, so its results and errors stay the reference."""
    try:
        if not isinstance(private_key, bytes) or len(private_key) != 32:
            raise _SlowPathError
        digest = keccak(b"\x19\x01" + domain_separator(kind, chain_id, contract) + intent_struct_hash(intent))
        sign = _signer(bytes(private_key))
    except (_SlowPathError, KeyError, EcKeyError, ValueError):
        return sign_intent(intent, private_key, chain_id=chain_id, contract=contract, kind=kind)
    return sign(digest)


@lru_cache(maxsize=256)
def _sequence_name(network: str, contract: str) -> str:
    digest = hashlib.sha256(f"{network}:{contract.lower()}".encode()).hexdigest()[:20]
    return f"sluice_nonce_{digest}"


class NonceAllocator:
    """Replay nonces for one database, from a PostgreSQL sequence per (network, contract), taken
    `block` values at a time: one round trip per `block` intents instead of one per intent.

    A sequence never hands out a value twice and takes no row lock (concurrent intents do not queue).
    Nonces stay dense where it matters: one process hands out its block in order, so consecutive
    intents share the contract's 256-nonce bitmap words; values are skipped only where a request
    failed after taking one, and (at most `block` - 1 per contract) when a process stops.
    """

    def __init__(self, block: int = 32) -> None:
        self.block = block
        self._free: dict[str, deque[int]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def next(self, pool: Any, network: str, contract: str) -> int:
        """The next nonce; `pool` (asyncpg) gives a connection when a new block is needed."""
        name = _sequence_name(network, contract)
        free = self._free.get(name)
        if free:
            return free.popleft()
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:  # one refill at a time; the others take from it
            free = self._free.get(name)
            if not free:
                async with pool.acquire() as conn:
                    free = self._free[name] = deque(await self._take(conn, name))
            return free.popleft()

    async def _take(self, conn: Any, name: str) -> list[int]:
        if name not in self._free:  # first use here: make sure the sequence exists
            # Two first users at once: one creates it, the other fails here.
            with contextlib.suppress(UniqueViolationError, DuplicateTableError):
                await conn.execute(f"CREATE SEQUENCE IF NOT EXISTS {name} MINVALUE 0 START 0")
        # `name` is sluice_nonce_ and hex digits (_sequence_name), nothing from a request.
        rows = await conn.fetch(f"SELECT nextval('{name}') FROM generate_series(1, $1)", self.block)  # noqa: S608
        return sorted(int(row[0]) for row in rows)
