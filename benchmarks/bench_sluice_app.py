"""App factory for the API benchmark: the real Sluice API on the benchmark database.

`uvicorn --factory bench_sluice_app:create` (with benchmarks/ on PYTHONPATH), configured through:

    BENCH_DATABASE_URL   postgresql://… of the benchmark database (required)
    BENCH_DB_POOL_SIZE   SQLAlchemy pool size per worker (default 10, as the API's default)

Like tests/api/intents_fixtures.py: a 'local' test network whose contracts are set without a chain
(creating an intent signs it but never talks to a node), env=test, an operator key, a platform fee,
and a rate limit far above what the benchmark sends so that it never throttles.
"""

from __future__ import annotations

import os
from dataclasses import replace

from eth_utils import to_checksum_address
from fastapi import FastAPI

from api.app import create_app
from sluice.chain.registry import BUILTIN, Asset, DeployedContracts, Registry
from sluice.config import Settings, to_asyncpg_url

PAYMENTS = to_checksum_address("0x" + "11" * 20)
ESCROW = to_checksum_address("0x" + "22" * 20)
USDC_LOCAL = to_checksum_address("0x" + "33" * 20)
FEE_RECIPIENT = to_checksum_address("0x" + "44" * 20)
OPERATOR_KEY = "0x" + "55" * 32


def make_registry() -> Registry:
    local = replace(
        BUILTIN["local"],
        contracts=DeployedContracts(payments=PAYMENTS, escrow=ESCROW),
        assets={"ETH": Asset("ETH", None, 18), "USDC": Asset("USDC", USDC_LOCAL, 6, stablecoin=True)},
    )
    return Registry({"local": local})


def make_settings(database_url: str) -> Settings:
    return Settings(
        env="test",  # type: ignore[arg-type]
        database_url=database_url,
        db_pool_size=int(os.environ.get("BENCH_DB_POOL_SIZE", "10")),
        operator_key=OPERATOR_KEY,  # type: ignore[arg-type]
        platform_fee_bps=100,
        platform_fee_recipient=FEE_RECIPIENT,
        rate_limit_per_second=1e9,
        rate_limit_burst=1_000_000_000,
    )


def create() -> FastAPI:
    url = os.environ["BENCH_DATABASE_URL"]
    return create_app(make_settings(url), database_url=to_asyncpg_url(url), registry=make_registry())
