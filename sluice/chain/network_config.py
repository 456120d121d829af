"""What the gateway knows about one network: its assets, contract addresses, RPC URLs and fee model."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal

from sluice.chain.intents import ZERO_ADDRESS, ContractKind
from sluice.errors import ContractNotDeployedError, NetworkError, SluiceValueError, UnknownAssetError

FeeModel = Literal["eip1559", "legacy"]

RPC_ENV_PREFIX = "SLUICE_RPC_URL_"
NATIVE_DECIMALS = 18
#: Manifest contract names for each contract kind.
CONTRACT_NAMES: dict[ContractKind, str] = {"payments": "SluicePayments", "escrow": "SluiceEscrow"}
#: The deposit-address factory, deployed beside them (the `evm-deposit` rail; not a `ContractKind`).
DEPOSITS_CONTRACT = "SluiceDeposits"


@dataclass(frozen=True)
class Asset:
    """One payable asset of a network: an ERC-20 token, or the native coin (`address` None)."""

    symbol: str
    address: str | None
    decimals: int
    stablecoin: bool = False

    @property
    def native(self) -> bool:
        return self.address is None

    @property
    def token(self) -> str:
        """The address an intent carries: the token, or the zero address for the native coin."""
        return self.address or ZERO_ADDRESS

    def to_base_units(self, amount: Decimal | str | int) -> int:
        """`"25.5"` USDC → 25_500_000; refuses more fractional digits than the asset has."""
        try:
            value = Decimal(amount)
        except InvalidOperation:
            raise SluiceValueError(f"{amount!r} is not a decimal amount of {self.symbol}") from None
        units = value.scaleb(self.decimals)
        if units != units.to_integral_value() or units < 0:
            raise SluiceValueError(
                f"{amount} {self.symbol} is not a non-negative amount with at most {self.decimals} decimals"
            )
        return int(units)

    def format_units(self, units: int) -> str:
        """25_500_000 base units of USDC → `"25.5"` (exact; no float)."""
        text = format(Decimal(units).scaleb(-self.decimals), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class DeployedContracts:
    """Addresses of the Sluice contracts on one network; None where not deployed."""

    payments: str | None = None
    escrow: str | None = None
    #: SluiceDeposits, the factory of keyless deposit addresses (sluice.deposits).
    deposits: str | None = None


@dataclass(frozen=True)
class NetworkConfig:
    """Everything the gateway needs to know about one EVM network."""

    name: str
    chain_id: int
    testnet: bool
    confirmations: int
    native_symbol: str
    fee_model: FeeModel
    rpc_urls: tuple[str, ...] = ()
    contracts: DeployedContracts = field(default_factory=DeployedContracts)
    assets: Mapping[str, Asset] = field(default_factory=dict)
    #: The newest EVM upgrade the network is known to run (None: unknown); see sluice.chain.evm_features.
    evm_version: str | None = None
    native_decimals: int = NATIVE_DECIMALS
    #: Floor for maxPriorityFeePerGas in wei (Polygon's nodes refuse tips below ~25-30 gwei).
    min_priority_fee: int = 0
    #: The chain family and the rails (sluice.rails) this network offers, the default first.
    family: str = "evm"
    rails: tuple[str, ...] = ("evm-contract", "evm-deposit")

    @property
    def live(self) -> bool:
        return not self.testnet

    @property
    def rpc_env(self) -> str:
        """The environment variable that holds this network's RPC URL(s)."""
        return rpc_env(self.name)

    @property
    def rpc_url(self) -> str:
        """The first RPC URL; raises NetworkError saying which variable to set."""
        if not self.rpc_urls:
            raise NetworkError(f"no RPC URL for network {self.name!r}: set {self.rpc_env}")
        return self.rpc_urls[0]

    @property
    def native_asset(self) -> Asset:
        return Asset(self.native_symbol, None, self.native_decimals, stablecoin=False)

    def asset(self, symbol: str) -> Asset:
        """The asset called `symbol` (case-insensitive); the error lists the known ones."""
        found = self.assets.get(symbol) or next(
            (a for s, a in self.assets.items() if s.upper() == symbol.upper()), None
        )
        if found is None:
            known = tuple(self.assets)
            raise UnknownAssetError(
                f"unknown asset {symbol!r} on {self.name}; known: {', '.join(known) or 'none'}"
                + did_you_mean(symbol, known),
                network=self.name,
                asset=symbol,
                known=known,
            )
        return found

    def asset_for_token(self, token: str) -> Asset:
        """The asset an intent's token address stands for (the zero address is the native coin)."""
        if set(token.lower().removeprefix("0x")) <= {"0"}:  # the zero address (not every token is hex)
            return self.native_asset
        for asset in self.assets.values():
            if asset.address is not None and asset.address.lower() == token.lower():
                return asset
        known = tuple(self.assets)
        raise UnknownAssetError(
            f"token {token} is not a configured asset on {self.name}; known: {', '.join(known) or 'none'}",
            network=self.name,
            asset=token,
            known=known,
        )

    def contract(self, kind: ContractKind) -> str:
        """Address of the payments or escrow contract; raises when it is not deployed here."""
        address = self.contracts.payments if kind == "payments" else self.contracts.escrow
        if address is None:
            raise ContractNotDeployedError(
                f"{CONTRACT_NAMES[kind]} is not deployed on {self.name}: "
                f"run `sluice deploy --network {self.name}` (deployments/{self.name}.json)",
                network=self.name,
                kind=kind,
            )
        return address


def rpc_env(network: str) -> str:
    """The environment variable holding a network's RPC URL(s): SLUICE_RPC_URL_BSC_TESTNET for bsc-testnet."""
    return RPC_ENV_PREFIX + network.upper().replace("-", "_")


def did_you_mean(word: str, known: tuple[str, ...]) -> str:
    """A ". Did you mean 'x'?" hint for error messages, or "" when nothing is close."""
    close = difflib.get_close_matches(word, known, n=1) or [k for k in known if k.lower() == word.lower()]
    return f". Did you mean {close[0]!r}?" if close else ""
