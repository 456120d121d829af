"""RPC faults (errors, time-outs, garbage, dropped connections, "range too large", a dead URL): nothing
is missed, and the result equals indexing through a healthy node."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fault_proxy import FaultProxy

from indexer import metrics
from sluice.chain.registry import Registry

from chains import free_port
from indexer_env import (
    ChainEnv,
    deposit_tx,
    escrow_call_tx,
    index_until,
    indexer_settings,
    make_intents,
    pay_tx,
    reset_index,
    send,
    send_blocks,
    snapshot,
)

pytestmark = [pytest.mark.db, pytest.mark.chain]


def _errors(kind: str) -> float:
    return float(metrics.RPC_ERRORS.labels("local", kind)._value.get())


async def test_faulty_rpc_misses_nothing(env: ChainEnv, db_url, merchant_id):
    paid = make_intents(env, db_url, merchant_id, 300)
    send_blocks(env, [pay_tx(env, i) for i in paid], per_block=5)
    [held] = make_intents(env, db_url, merchant_id, 1, kind="escrow")
    send(env, deposit_tx(env, held))
    send(env, escrow_call_tx(env, held, "capture", 4_000_000))

    healthy_registry = env.registry
    dead = f"http://127.0.0.1:{free_port()}"
    before = {kind: _errors(kind) for kind in ("transient", "range")}
    with FaultProxy(env.url, seed=7) as proxy:
        network = replace(env.registry.network("local"), rpc_urls=(dead, proxy.url))
        env.registry = Registry({"local": network})
        settings = indexer_settings(db_url, indexer_rpc_timeout_seconds=1.0)
        await index_until(env, db_url, settings=settings, timeout=180)
    faulty = snapshot(db_url)

    assert len(faulty["events"]) == 302
    assert proxy.injected["range"] > 0 and sum(proxy.injected.values()) > proxy.injected["range"]
    assert _errors("transient") > before["transient"] and _errors("range") > before["range"]

    env.registry = healthy_registry
    reset_index(db_url)
    await index_until(env, db_url)
    assert snapshot(db_url) == faulty
