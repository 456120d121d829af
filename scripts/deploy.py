"""Ape script: deploy SluicePayments, SluiceEscrow and SluiceDeposits exactly as `sluice deploy` does.

    ape run deploy                                   # ethereum:local:foundry (anvil at 127.0.0.1:8545)
    ape run deploy --network ethereum:sepolia:node --account deployer --operator 0x…
    ape run deploy --network base:mainnet:node                     # prompts for one of your Ape accounts

It calls sluice.chain.deploy.deploy() with contracts/artifacts (not Ape's own compile output), through
the connected Ape provider's web3, and writes deployments/<name>.json ($SLUICE_DEPLOYMENTS_DIR) like
`sluice deploy`: same CREATE2 salt, constructor arguments and so the same addresses. Transactions are
signed by an Ape account: the first test account on local networks (anvil's account 0, the deployer
`sluice deploy` uses there), else `--account ALIAS` / $SLUICE_APE_ACCOUNT, else a prompt.

Importing this module has no side effects; it needs Ape only to run (`pip install -e '.[ape]'`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.types import TxParams

from sluice.chain.deploy import (
    DEFAULT_MAX_FEE_BPS,
    OPERATOR_ENV,
    RELAYER_ENV,
    DeployResult,
    deploy,
    resolve_params,
)
from sluice.chain.evm_features import check_network
from sluice.chain.registry import Registry
from sluice.errors import NetworkError, SluiceError
from sluice.paths import NODE_MODULES

#: Ape's ecosystem:network -> Sluice's network name (sluice/chain/networks.py, deployments/<name>.json).
#: Forks (ethereum:mainnet-fork, …) are left out on purpose: they would overwrite the live manifest.
APE_TO_SLUICE_NETWORK = {
    "ethereum:local": "local",
    "ethereum:mainnet": "ethereum",
    "ethereum:sepolia": "sepolia",
    "bsc:mainnet": "bsc",
    "bsc:testnet": "bsc-testnet",
    "base:mainnet": "base",
    "base:sepolia": "base-sepolia",
}
ACCOUNT_ENV = "SLUICE_APE_ACCOUNT"


def sluice_network(ecosystem: str, network: str) -> str:
    """Sluice's name for Ape's `ecosystem:network`, e.g. ("bsc", "testnet") -> "bsc-testnet"."""
    choice = f"{ecosystem}:{network}"
    try:
        return APE_TO_SLUICE_NETWORK[choice]
    except KeyError:
        known = ", ".join(APE_TO_SLUICE_NETWORK)
        raise NetworkError(
            f"Ape network {choice!r} has no Sluice name (known: {known}); pass --sluice-network NAME"
        ) from None


class ApeSender:
    """sluice.chain.deploy's `Sender` around an Ape account (test account, keyfile, hardware wallet):
    Ape fills in nonce and fees, signs (prompting when the account asks to) and sends; the receipt
    handed back is web3's, as LocalSender's is.

    A plain class, not a dataclass: `ape run` executes this file through runpy, outside sys.modules,
    where @dataclass cannot resolve the postponed annotations."""

    def __init__(self, account: Any) -> None:
        self.account = account  # ape.api.AccountAPI

    @property
    def address(self) -> str:
        return str(self.account.address)

    def send(self, w3: Web3, tx: TxParams) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "to": to_checksum_address(str(tx["to"])),
            "data": HexBytes(tx.get("data", b"")),
            "value": int(tx.get("value", 0)),
        }
        estimate = w3.eth.estimate_gas({**fields, "from": self.address})  # type: ignore[arg-type]
        fields["gas"] = int(estimate * 12 // 10)  # the margin LocalSender adds
        txn = self.account.provider.network.ecosystem.create_transaction(**fields, sender=self.address)
        receipt = self.account.call(txn)
        return dict(w3.eth.wait_for_transaction_receipt(HexBytes(receipt.txn_hash), timeout=300))


def select_account(alias: str | None, is_local: bool) -> Any:
    """The signing account: `alias` (or "TEST::n"), else test account 0 on local networks, else a prompt."""
    from ape import accounts

    if alias:
        if alias.upper().startswith("TEST::"):
            return accounts.test_accounts[int(alias.split("::", 1)[1])]
        return accounts.load(alias)
    if is_local:
        return accounts.test_accounts[0]
    from ape.cli.choices import select_account as prompt_account

    return prompt_account(f"Account to deploy with (or set {ACCOUNT_ENV})")


def _project_anvil_first() -> None:
    """ape-foundry starts `anvil` from PATH when none answers: make that the project's pinned one."""
    bin_dir = NODE_MODULES / ".bin"
    if (bin_dir / "anvil").exists():
        os.environ["PATH"] = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])


def run(
    provider: Any,
    *,
    account: str | None = None,
    owner: str | None = None,
    operator: str | None = None,
    relayer: str | None = None,
    max_fee_bps: int = DEFAULT_MAX_FEE_BPS,
    salt: str | None = None,
    force: bool = False,
    name: str | None = None,
) -> DeployResult:
    """Deploys through the connected Ape `provider`; returns what sluice.chain.deploy.deploy returns."""
    network = provider.network
    name = name or sluice_network(network.ecosystem.name, network.name)
    config = Registry.load().network(name)
    check_network(config)  # a network whose EVM cannot run the contracts: refused, nothing sent
    w3: Web3 = provider.web3
    chain_id = int(w3.eth.chain_id)
    expected = config.chain_id
    if chain_id != expected:
        raise NetworkError(f"the Ape provider serves chain id {chain_id}, but {name!r} is {expected}")
    sender = ApeSender(select_account(account, is_local=network.is_local))
    params = resolve_params(
        sender.address,
        chain_id,
        owner=owner,
        operator=operator,
        relayer=relayer,
        max_fee_bps=max_fee_bps,
        salt=salt,
    )
    click.echo(f"{name} (chain id {chain_id}) via {network.ecosystem.name}:{network.name}:{provider.name}")
    click.echo(
        f"deployer {sender.address}, owner {params.owner}, operator {params.operator}, "
        f"relayer {params.relayer}"
    )
    return deploy(w3, name, sender, params, force=force, progress=click.echo)


def _command() -> click.Command | None:
    try:
        from ape.cli import ConnectedProviderCommand
    except ImportError:  # Ape not installed: the module stays importable
        return None

    class Command(ConnectedProviderCommand):
        def invoke(self, ctx: click.Context) -> Any:
            _project_anvil_first()  # before Ape connects (and perhaps starts anvil)
            return super().invoke(ctx)

    @click.command(cls=Command, short_help="Deploy Sluice as `sluice deploy` does")
    @click.option(
        "--account",
        envvar=ACCOUNT_ENV,
        help=f"Ape account alias (or TEST::n); default test account 0 on local networks. [${ACCOUNT_ENV}]",
    )
    @click.option("--owner", help="Contract owner; default the deployer.")
    @click.option("--operator", envvar=OPERATOR_ENV, help=f"Operator signer address. [${OPERATOR_ENV}]")
    @click.option("--relayer", envvar=RELAYER_ENV, help=f"Relayer address. [${RELAYER_ENV}]")
    @click.option(
        "--max-fee-bps", type=click.IntRange(0, 10_000), default=DEFAULT_MAX_FEE_BPS, show_default=True
    )
    @click.option("--salt", help="CREATE2 salt, 0x + 64 hex; default keccak('sluice.v1').")
    @click.option("--force", is_flag=True, help="Replace a different recorded deployment.")
    @click.option("--sluice-network", "name", help="Sluice network name, for Ape networks without a mapping.")
    def cli(
        provider: Any,
        account: str | None,
        owner: str | None,
        operator: str | None,
        relayer: str | None,
        max_fee_bps: int,
        salt: str | None,
        force: bool,
        name: str | None,
    ) -> None:
        """Deploy the Sluice contracts; write deployments/NAME.json (no-op when already there)."""
        try:
            result = run(
                provider,
                account=account,
                owner=owner,
                operator=operator,
                relayer=relayer,
                max_fee_bps=max_fee_bps,
                salt=salt,
                force=force,
                name=name,
            )
        except SluiceError as exc:
            raise click.ClickException(f"({exc.code}) {exc}") from exc
        for contract, entry in result.manifest["contracts"].items():
            click.echo(f"{contract:16} {entry['address']}  tx {entry.get('tx_hash') or '-'}")
        click.echo(f"manifest: {Path(result.path)}" + ("" if result.changed else " (unchanged)"))

    return cli


cli = _command()
