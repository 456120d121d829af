"""Prometheus metrics of the indexer (served by `start_metrics_server` when a port is configured)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

LAST_BLOCK = Gauge("sluice_indexer_last_block", "Last block whose events are committed", ["network"])
HEAD_BLOCK = Gauge("sluice_indexer_head_block", "Latest chain head seen", ["network"])
HEAD_LAG = Gauge("sluice_indexer_head_lag_blocks", "Chain head minus the checkpoint", ["network"])
EVENTS = Counter("sluice_indexer_events_total", "Ledger entries stored", ["network", "kind"])
EVENTS_PER_SECOND = Gauge(
    "sluice_indexer_events_per_second", "Events stored per second (last batch)", ["network"]
)
RPC_ERRORS = Counter("sluice_indexer_rpc_errors_total", "Failed RPC attempts", ["network", "kind"])
REORGS = Counter("sluice_indexer_reorgs_total", "Reorganisations rolled back", ["network"])
REORG_DEPTH = Gauge("sluice_indexer_last_reorg_depth", "Depth of the last reorganisation", ["network"])
HALTED = Gauge("sluice_indexer_halted", "1 when the indexer stopped for this network (see logs)", ["network"])
LEADER = Gauge("sluice_indexer_leader", "1 while this process holds the network's leader lock", ["network"])
BATCH_SECONDS = Histogram(
    "sluice_indexer_batch_seconds",
    "Wall time of one batch (RPC and database)",
    ["network"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def start_metrics_server(port: int, host: str = "0.0.0.0") -> None:  # noqa: S104 (scraped from outside)
    """Serves /metrics on `port` from a background thread."""
    start_http_server(port, addr=host)
