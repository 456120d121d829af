"""The operator's signing key and the dense replay nonces it signs with."""

from __future__ import annotations

import hashlib

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.chain.keys import ANVIL_OPERATOR_KEY
from sluice.config import Environment, Settings
from sluice.errors import KeyConfigError

_created_sequences: set[str] = set()


def operator_account(settings: Settings, *, live: bool) -> LocalAccount:
    """The operator key from settings (value or file). Outside production and for test networks only,
    anvil's well-known account 9 (the `sluice dev` operator) stands in when none is configured."""
    key: str | None = None
    if settings.operator_key is not None:
        key = settings.operator_key.get_secret_value()
    elif settings.operator_key_file is not None:
        try:
            key = settings.operator_key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise KeyConfigError(f"cannot read SLUICE_OPERATOR_KEY_FILE: {exc}") from exc
    elif settings.env != Environment.production and not live:
        key = ANVIL_OPERATOR_KEY
    if key is None:
        raise KeyConfigError("no operator key: set SLUICE_OPERATOR_KEY or SLUICE_OPERATOR_KEY_FILE")
    try:
        account: LocalAccount = Account.from_key(key)
    except (ValueError, TypeError) as exc:
        raise KeyConfigError("the operator key is not a valid private key") from exc
    return account


def _sequence_name(network: str, contract: str) -> str:
    digest = hashlib.sha256(f"{network}:{contract.lower()}".encode()).hexdigest()[:20]
    return f"sluice_nonce_{digest}"


async def allocate_nonce(session: AsyncSession, network: str, contract: str) -> int:
    """The next replay nonce for one contract on one network.

    A PostgreSQL sequence per (network, contract): never hands out a value twice, takes no row lock
    (so concurrent intents do not queue), and is dense except where a transaction rolled back, so
    consecutive intents share the contract's 256-nonce bitmap words.
    """
    name = _sequence_name(network, contract)
    if name not in _created_sequences:
        try:
            async with session.begin_nested():  # two first users at once: one creates, the other waits
                await session.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {name} MINVALUE 0 START 0"))
        except DBAPIError:
            pass  # created concurrently by another transaction
        _created_sequences.add(name)
    value = (await session.execute(text(f"SELECT nextval('{name}')"))).scalar_one()
    return int(value)
