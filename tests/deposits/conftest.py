"""Deposit-address fixtures: anvil with Sluice, DevUSDC and DevUSDT deployed and Multicall3 at its
canonical address, the API app on it, a merchant, and the indexer running in the background."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from web3 import Web3

sys.path.insert(0, str(Path(__file__).parents[1] / "indexer"))
sys.path.insert(0, str(Path(__file__).parents[1] / "api"))

from deposit_env import DepositEnv

from sluice.chain.multicall import install_on_dev_chain
from sluice.chain.registry import Asset, Registry
from sluice.config import to_asyncpg_url
from sluice.contracts import load_artifact

from chains import run_anvil
from indexer_env import OWNER, ChainEnv, deploy_env, indexer_settings
from intents_fixtures import make_settings


@pytest.fixture
def chain_env(tmp_path: Path) -> Iterator[tuple[ChainEnv, Registry, Any]]:
    with run_anvil() as url:
        env = deploy_env(url, tmp_path)
        assert install_on_dev_chain(env.w3.provider)
        artifact = load_artifact("DevUSDT")
        tx = (
            env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
            .constructor()
            .transact({"from": OWNER})
        )
        usdt = env.w3.eth.contract(
            address=env.w3.eth.wait_for_transaction_receipt(tx)["contractAddress"], abi=artifact.abi
        )
        network = env.registry.network("local")
        network = replace(
            network, assets={**network.assets, "USDT": Asset("USDT", usdt.address, 6, stablecoin=True)}
        )
        yield env, Registry({"local": network}), usdt


@pytest.fixture
async def deposits(db_url: str, chain_env: tuple[ChainEnv, Registry, Any]) -> AsyncIterator[DepositEnv]:
    from api.app import create_app
    from indexer.runner import run
    from sluice.db.session import make_engine, make_sessionmaker
    from sluice.merchants.service import merchant_service
    from sluice.models.merchant import ApiKeyKind, Mode

    env, registry, usdt = chain_env
    engine = make_engine(to_asyncpg_url(db_url), pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            merchant = await merchant_service.create(
                session, "Deposit shop", Web3.to_checksum_address("0x" + "ab" * 20)
            )
            key = await merchant_service.issue_key(session, merchant.id, ApiKeyKind.secret, Mode.test)
    finally:
        await engine.dispose()
    app = create_app(make_settings(db_url), database_url=to_asyncpg_url(db_url), registry=registry)
    stop = asyncio.Event()
    indexer = asyncio.create_task(
        run(
            indexer_settings(db_url),
            ["local"],
            stop,
            registry=registry,
            database_url=db_url,
            start_blocks={"local": env.deploy_block},
        )
    )
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                yield DepositEnv(env, registry, usdt, client, key.secret, db_url)
    finally:
        stop.set()
        await asyncio.wait_for(indexer, 30)
