"""Settings: one pydantic-settings class, `SLUICE_` prefix, secrets as SecretStr."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sluice.paths import PROJECT_ROOT


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    """Everything configurable; read from the environment (and an optional .env file)."""

    model_config = SettingsConfigDict(env_prefix="SLUICE_", env_file=".env", extra="ignore")

    env: Environment = Environment.development
    #: PostgreSQL URL (postgresql://…); unset → a private embedded PostgreSQL in data_dir.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SLUICE_DATABASE_URL", "DATABASE_URL")
    )
    #: Optional read replica for report queries (GET /v1/reports/*); unset → the main database.
    report_database_url: str | None = None
    #: `sluice worker` reconciles every indexed network against the chain this often (0 = never).
    reconcile_every_seconds: int = Field(default=3600, ge=0)
    data_dir: Path = PROJECT_ROOT / ".data"
    db_pool_size: int = 10
    #: Operator signing key (hex) or a file holding it; required outside development. It signs
    #: intents only and never sends a transaction.
    operator_key: SecretStr | None = None
    operator_key_file: Path | None = None
    #: Relayer key (hex) or a file holding it: sends escrow captures, refunds and voids and cancels
    #: nonces (a role apart from the signer, set on the contracts at deployment); required in production.
    relayer_key: SecretStr | None = None
    relayer_key_file: Path | None = None
    #: Platform fee taken on every intent, in basis points, paid to the platform's address on the
    #: intent's chain family: `platform_fee_recipient` on EVM networks, `platform_fee_recipient_solana`
    #: (a base58 wallet) and `platform_fee_recipient_stacks` (a Stacks principal) on the others.
    platform_fee_bps: int = Field(default=100, ge=0, le=10_000)
    platform_fee_recipient: str | None = None
    platform_fee_recipient_solana: str | None = None
    platform_fee_recipient_stacks: str | None = None
    #: How long a fiat quote stays locked, and an intent's default lifetime.
    price_lock_seconds: int = Field(default=900, gt=0)
    intent_ttl_seconds: int = Field(default=900, gt=0, le=7 * 86400)
    #: Escrow intents: how long after the payment deadline the payer must wait to reclaim.
    escrow_reclaim_seconds: int = Field(default=7 * 86400, gt=0)
    #: Base URL of the hosted checkout page (`checkout_url` = base + "/" + intent id + "?secret=" +
    #: client secret); the API serves the page at /pay.
    checkout_base_url: str = "http://127.0.0.1:8000/pay"
    #: Requests per second and burst per API key (in-process: with N API processes the limit is N×).
    rate_limit_per_second: float = Field(default=100.0, gt=0)
    rate_limit_burst: int = Field(default=200, ge=1)
    #: How many reverse proxies in front of the API append to X-Forwarded-For; 0 trusts none
    #: (the audit log then records the socket peer). Only set it when such proxies really exist.
    trusted_proxy_hops: int = Field(default=0, ge=0)
    #: Origins whose pages may call the publishable-key endpoints from a browser (CORS), as a JSON
    #: list: `["https://shop.example"]`; `["*"]` (the default) allows any, `[]` none. Endpoints that
    #: need a secret or restricted key never answer cross-origin.
    cors_origins: list[str] = Field(default_factory=lambda: ["*"])
    #: Failed authentications (401) allowed per client address: a token bucket of this rate per second
    #: and burst; past it the address gets 429 until the bucket refills, whatever key it presents.
    auth_failures_per_second: float = Field(default=1.0, gt=0)
    auth_failure_burst: int = Field(default=30, ge=1)
    #: Seconds an API process caches an authenticated key with its merchant's payout terms (0 = never),
    #: for the idempotency middleware and creating intents: a revoked key can still claim or replay an
    #: idempotency key for this long; creating an intent re-checks key and terms in its own INSERT.
    auth_cache_seconds: float = Field(default=5.0, ge=0)
    #: Indexer: seconds between polls of the chain head once caught up.
    indexer_poll_seconds: float = Field(default=0.5, gt=0)
    #: Largest eth_getLogs block range (the range adapts below it) and the events per batch aimed at.
    indexer_max_block_range: int = Field(default=5000, ge=1)
    indexer_target_events: int = Field(default=5000, ge=1)
    #: Recent blocks whose hashes are kept to detect reorganisations (at least 2x confirmations);
    #: a reorganisation deeper than this halts the network's indexer with an alert.
    indexer_reorg_window: int = Field(default=128, ge=2)
    indexer_rpc_timeout_seconds: float = Field(default=20.0, gt=0)
    #: How often a standby indexer tries to take the network's leader lock.
    indexer_leader_poll_seconds: float = Field(default=1.0, gt=0)
    #: Port of the indexer's Prometheus /metrics endpoint (unset: no endpoint).
    indexer_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    #: Price source: "fixed" (rates below), "coingecko" or "chainlink"; stablecoins are quoted 1:1
    #: behind a depeg guard that checks them against the same source.
    price_source: Literal["fixed", "coingecko", "chainlink"] = "fixed"
    #: Chainlink: the network whose RPC (SLUICE_RPC_URL_<NETWORK>) serves the feeds, and the feeds,
    #: e.g. SLUICE_CHAINLINK_FEEDS='{"ETH/usd": {"address": "0x5f4e…", "heartbeat": 3600}}'.
    chainlink_network: str = "ethereum"
    chainlink_feeds: dict[str, dict[str, str | int]] = Field(default_factory=dict)
    #: Fixed rates, e.g. SLUICE_FIXED_RATES='{"ETH/usd": "3000.00", "BNB/usd": "600"}' (decimal strings).
    fixed_rates: dict[str, Decimal] = Field(default_factory=dict)
    coingecko_url: str | None = None
    coingecko_api_key: SecretStr | None = None
    coingecko_plan: Literal["demo", "pro"] = "demo"
    #: Largest deviation of a stablecoin from its peg before quoting it 1:1 is refused.
    depeg_band: Decimal = Decimal("0.02")
    #: Webhooks: deliver to loopback/private/link-local addresses (local receivers in development;
    #: `sluice dev` sets it). Never in production.
    webhook_allow_private: bool = False
    #: AES-256-GCM key (32 bytes, base64 or hex) encrypting webhook secrets at rest, or a file holding
    #: it; required in production. Elsewhere one is generated into data_dir/webhook_secret.key.
    webhook_secret_key: SecretStr | None = None
    webhook_secret_key_file: Path | None = None
    #: Seconds to connect to a webhook receiver, and for the whole request (connect to last byte).
    webhook_connect_timeout: float = Field(default=5.0, gt=0)
    webhook_timeout: float = Field(default=15.0, gt=0)
    #: Deliveries one worker process has in flight at once.
    webhook_concurrency: int = Field(default=64, ge=1, le=1000)
    #: Seconds past an intent's deadline before the worker expires it: a payment mined just before
    #: the deadline must reach the indexer first (an expired intent stays expired).
    expiry_grace_seconds: int = Field(default=60, ge=0)
    #: Dashboard (/dashboard): HMAC key signing password-reset and invitation links (32 bytes, hex or
    #: base64), or a file holding it; in production links are refused without one, elsewhere one is
    #: generated into data_dir.
    dashboard_secret_key: SecretStr | None = None
    dashboard_secret_key_file: Path | None = None
    #: Where the dashboard is reached from outside (links in reset and invitation emails).
    dashboard_url: str = "http://127.0.0.1:8000/dashboard"
    #: Anyone may create a merchant account with its first user from /dashboard/signup.
    dashboard_signup_enabled: bool = False
    #: Session cookie lifetime, idle time-out, and whether it carries the Secure attribute (always in
    #: production; browsers accept Secure cookies from http://127.0.0.1 and localhost too).
    dashboard_session_hours: int = Field(default=12, ge=1, le=24 * 30)
    dashboard_idle_minutes: int = Field(default=60, ge=1)
    dashboard_cookie_secure: bool = True
    #: Consecutive failed sign-ins before an account is locked, and for how long; failed sign-ins from
    #: one address within the lock-out window before that address is refused.
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=900, ge=1)
    login_max_failures_per_ip: int = Field(default=50, ge=1)
    password_reset_ttl_seconds: int = Field(default=3600, ge=60)

    @model_validator(mode="after")
    def _secrets_outside_development(self) -> Settings:
        if (
            self.env == Environment.production
            and self.operator_key is None
            and self.operator_key_file is None
        ):
            raise ValueError("SLUICE_OPERATOR_KEY or SLUICE_OPERATOR_KEY_FILE is required in production")
        return self

    @model_validator(mode="after")
    def _webhook_settings(self) -> Settings:
        if self.env == Environment.production:
            if self.webhook_secret_key is None and self.webhook_secret_key_file is None:
                raise ValueError(
                    "SLUICE_WEBHOOK_SECRET_KEY or SLUICE_WEBHOOK_SECRET_KEY_FILE is required in production"
                )
            if self.webhook_allow_private:
                raise ValueError("SLUICE_WEBHOOK_ALLOW_PRIVATE is for development; not allowed in production")
        return self

    @model_validator(mode="after")
    def _relayer_outside_development(self) -> Settings:
        if self.env == Environment.production and self.relayer_key is None and self.relayer_key_file is None:
            raise ValueError("SLUICE_RELAYER_KEY or SLUICE_RELAYER_KEY_FILE is required in production")
        return self

    def fee_recipient(self, family: str) -> str | None:
        """The platform fee's recipient on networks of chain `family` (None: not configured)."""
        field = _FEE_RECIPIENT_FIELDS.get(family)
        value = getattr(self, field) if field else None
        return value if isinstance(value, str) and value else None

    @staticmethod
    def fee_recipient_variable(family: str) -> str:
        """The environment variable that sets `fee_recipient(family)`."""
        return "SLUICE_" + _FEE_RECIPIENT_FIELDS.get(family, f"platform_fee_recipient_{family}").upper()

    def async_database_url(self) -> str | None:
        """The URL with the asyncpg driver, or None when the embedded server is to be used."""
        if self.database_url is None:
            return None
        return to_asyncpg_url(self.database_url)


#: The setting holding the platform fee's recipient, per chain family.
_FEE_RECIPIENT_FIELDS = {
    "evm": "platform_fee_recipient",
    "solana": "platform_fee_recipient_solana",
    "stacks": "platform_fee_recipient_stacks",
}


def to_asyncpg_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


@cache
def get_settings() -> Settings:
    return Settings()
