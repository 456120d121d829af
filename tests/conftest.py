"""Shared fixtures: test chains (py-evm in process, anvil over JSON-RPC) and a deployed system."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from chains import Chain, anvil_chain, eth_tester_chain, run_anvil
from databases import create_test_database, truncate_all
from factories import System, deploy_system


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    """One anvil node for the session, on a free port; stopped at the end."""
    with run_anvil() as url:
        yield url


@pytest.fixture(scope="session", params=["eth_tester", pytest.param("anvil", marks=pytest.mark.chain)])
def session_system(request: pytest.FixtureRequest) -> System:
    """The system deployed once per backend; tests get it through `system`, reset by snapshot."""
    if request.param == "anvil":
        chain = anvil_chain(request.getfixturevalue("anvil_url"))
    else:
        chain = eth_tester_chain()
    return deploy_system(chain)


@pytest.fixture
def system(session_system: System) -> Iterator[System]:
    """The deployed system, with every change a test makes rolled back afterwards."""
    snapshot = session_system.chain.snapshot()
    yield session_system
    session_system.chain.revert(snapshot)


@pytest.fixture
def chain(system: System) -> Chain:
    return system.chain


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A migrated PostgreSQL database of this session (plain postgresql:// URL)."""
    yield from create_test_database()


@pytest.fixture
def db_url(database_url: str) -> Iterator[str]:
    """The session database, emptied after the test."""
    yield database_url
    truncate_all(database_url)
