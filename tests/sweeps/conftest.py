"""Sweep-job fixtures: a fresh anvil with Sluice (SluiceDeposits included) deployed, a merchant, and
intents paid through their deposit addresses as the evm-deposit rail's indexer records them."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

sys.path.insert(0, str(Path(__file__).parent.parent / "indexer"))

from sweep_env import SweepEnv, deploy_sweep_env

from sluice.chain.node import run_anvil
from sluice.config import to_asyncpg_url
from sluice.db.session import make_engine, make_sessionmaker

from indexer_env import create_merchant


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SweepEnv]:
    with run_anvil() as url:
        yield deploy_sweep_env(url, tmp_path)


@pytest.fixture
def merchant_id(db_url: str) -> str:
    return create_merchant(db_url)


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(to_asyncpg_url(db_url), pool_size=2)
    yield make_sessionmaker(engine)
    await engine.dispose()
