"""Indexer fixtures: a fresh anvil with Sluice deployed for each test, and a merchant in the database."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from chains import run_anvil
from indexer_env import ChainEnv, create_merchant, deploy_env


@pytest.fixture
def env(tmp_path: Path) -> Iterator[ChainEnv]:
    with run_anvil() as url:
        yield deploy_env(url, tmp_path)


@pytest.fixture
def merchant_id(db_url: str) -> str:
    return create_merchant(db_url)
