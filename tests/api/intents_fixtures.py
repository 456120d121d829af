"""A registry and settings for API tests: a local test network and a live one, contracts 'deployed'."""

from __future__ import annotations

from dataclasses import replace

from sluice.chain.registry import BUILTIN, Asset, DeployedContracts, Registry
from sluice.config import Settings

PAYMENTS = "0x" + "11" * 20
ESCROW = "0x" + "22" * 20
USDC_LOCAL = "0x" + "33" * 20
FEE_RECIPIENT = "0x" + "44" * 20
OPERATOR_KEY = "0x" + "55" * 32


def _checksum(a: str) -> str:
    from eth_utils import to_checksum_address

    return str(to_checksum_address(a))


def make_registry(**local_overrides: object) -> Registry:
    contracts = DeployedContracts(payments=_checksum(PAYMENTS), escrow=_checksum(ESCROW))
    local = replace(
        BUILTIN["local"],
        contracts=contracts,
        assets={
            "ETH": Asset("ETH", None, 18),
            "USDC": Asset("USDC", _checksum(USDC_LOCAL), 6, stablecoin=True),
        },
        **local_overrides,  # type: ignore[arg-type]
    )
    ethereum = replace(BUILTIN["ethereum"], contracts=contracts)
    sepolia = replace(BUILTIN["sepolia"])  # no contracts deployed
    return Registry({"local": local, "ethereum": ethereum, "sepolia": sepolia})


def make_settings(db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "database_url": db_url,
        "operator_key": OPERATOR_KEY,
        "platform_fee_bps": 100,
        "platform_fee_recipient": FEE_RECIPIENT,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def auth(key: str) -> dict[str, str]:
    """The Authorization header for an API key (tests import it from here, not from a conftest: several
    test folders have a conftest module, and which one `import conftest` finds depends on order)."""
    return {"Authorization": f"Bearer {key}"}
