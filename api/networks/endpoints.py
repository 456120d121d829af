"""/v1/networks: the networks, assets and contract addresses a merchant can use."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import AnyKey
from api.schemas import ListResponse
from sluice.chain.registry import NetworkConfig

router = APIRouter(prefix="/networks", tags=["networks"])


class AssetPublic(BaseModel):
    symbol: str
    address: str | None
    decimals: int
    stablecoin: bool
    native: bool


class NetworkPublic(BaseModel):
    object: Literal["network"] = "network"
    name: str
    chain_id: int
    livemode: bool
    confirmations: int
    family: str = Field(description="Chain family: evm, …")
    rails: list[str] = Field(description="How payers can pay on it (the default first): evm-contract, …")
    contracts: dict[str, str | None]
    assets: list[AssetPublic]


def _present(network: NetworkConfig) -> NetworkPublic:
    return NetworkPublic(
        name=network.name,
        chain_id=network.chain_id,
        livemode=network.live,
        confirmations=network.confirmations,
        family=network.family,
        rails=list(network.rails),
        contracts={"payments": network.contracts.payments, "escrow": network.contracts.escrow},
        assets=[
            AssetPublic(
                symbol=a.symbol,
                address=a.address,
                decimals=a.decimals,
                stablecoin=a.stablecoin,
                native=a.native,
            )
            for a in network.assets.values()
        ],
    )


@router.get("", response_model=ListResponse[NetworkPublic])
async def list_networks(principal: AnyKey, request: Request) -> ListResponse[NetworkPublic]:
    """Networks usable with the calling key's mode (test keys: local and testnets; live keys: mainnets)."""
    registry = request.app.state.intents.registry
    data = [_present(n) for n in registry if n.live == principal.livemode]
    return ListResponse[NetworkPublic](data=data, has_more=False, url="/v1/networks")
