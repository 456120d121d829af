"""Fixtures of the Solana rail's tests: a LiteSVM cluster with the dev USDC mint and funded keys
(helpers the tests import are in solana_fixtures.py: a module name no other test folder uses)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from solders.keypair import Keypair

from sluice.rails.solana.devchain.cluster import LocalCluster
from sluice.rails.solana.devchain.server import serve_in_thread


@pytest.fixture
def cluster() -> LocalCluster:
    cluster = LocalCluster()
    cluster.keys = cluster.bootstrap()  # type: ignore[attr-defined]
    return cluster


@pytest.fixture
def keys(cluster: LocalCluster) -> dict[str, Keypair]:
    return cluster.keys  # type: ignore[attr-defined, no-any-return]


@pytest.fixture
def rpc_url(cluster: LocalCluster) -> Iterator[str]:
    """The cluster behind its JSON-RPC server on 127.0.0.1 (fast slots: finality in ~0.1 s)."""
    with serve_in_thread(cluster, slot_seconds=0.05) as url:
        yield url
