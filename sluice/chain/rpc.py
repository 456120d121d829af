"""One AsyncWeb3 connection per network RPC URL, reused across requests."""

from __future__ import annotations

from web3 import AsyncHTTPProvider, AsyncWeb3

from sluice.chain.registry import NetworkConfig

_clients: dict[str, AsyncWeb3] = {}


def async_web3(network: NetworkConfig) -> AsyncWeb3:
    """The network's first RPC URL (raises NetworkError naming the variable when none is set)."""
    url = network.rpc_url
    client = _clients.get(url)
    if client is None:
        client = AsyncWeb3(AsyncHTTPProvider(url, request_kwargs={"timeout": 30}))
        _clients[url] = client
    return client
