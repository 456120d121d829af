"""The Solana rail's settings (`SLUICE_SOLANA_…`): fee sponsorship by the operator, off by default."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from solders.keypair import Keypair

from sluice.errors import KeyConfigError


class SolanaSettings(BaseSettings):
    """`sponsor_fees`: the operator's key signs as fee payer, so payers need no SOL; the operator pays
    every sponsored transaction's fee and the rent of the token accounts it creates (reported per
    payment as `operator_cost`). The key is a base58 64-byte keypair, from the environment only."""

    model_config = SettingsConfigDict(env_prefix="SLUICE_SOLANA_", extra="ignore")

    sponsor_fees: bool = False
    fee_payer_key: SecretStr | None = None
    #: Price per compute unit, in micro-lamports, that payment transactions offer as priority fee
    #: (0: none). Congested mainnet slots favour transactions that pay one.
    priority_fee_microlamports: int = Field(default=0, ge=0, le=10_000_000)
    #: Transactions the indexer reads per step at most (one database commit each step): a backfill
    #: after a pause commits in steps of this size.
    indexer_max_transactions: int = Field(default=500, gt=0)

    @model_validator(mode="after")
    def _key_when_sponsoring(self) -> SolanaSettings:
        if self.sponsor_fees and self.fee_payer_key is None:
            raise KeyConfigError(
                "SLUICE_SOLANA_SPONSOR_FEES needs SLUICE_SOLANA_FEE_PAYER_KEY (a base58 keypair)"
            )
        return self

    def fee_payer(self) -> Keypair | None:
        """The operator's fee-payer keypair when sponsoring, else None."""
        if not self.sponsor_fees or self.fee_payer_key is None:
            return None
        try:
            return Keypair.from_base58_string(self.fee_payer_key.get_secret_value().strip())
        except ValueError:
            raise KeyConfigError("SLUICE_SOLANA_FEE_PAYER_KEY is not a base58 64-byte keypair") from None
