"""The `sluice` command line: the one place that starts the API, the indexer and the worker.

It lives outside `sluice/` because it imports `api/` and `indexer/` (sluice/ is the core both of
them import; the import contracts in pyproject.toml keep it that way). Those imports sit inside the
commands that need them: `sluice indexer` must not pay for FastAPI, nor `sluice api` for the
indexer, at start-up (tests/indexer/test_imports.py).
"""

from __future__ import annotations

import contextlib
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from launcher.commands.reconcile import reconcile_cmd
from sluice.errors import SluiceError

if TYPE_CHECKING:
    from typer._click import Command, Context  # the click that typer vendors

    # web3 is imported where used: it costs ~0.5 s of start-up that `sluice indexer` and `sluice
    # worker` never need.
    from web3 import Web3

    from sluice.chain.network_config import NetworkConfig


class LazyGroup(TyperGroup):
    """The `sluice` group, with the command groups of `lazy` imported only when one of them runs (or
    `sluice --help` lists them).

    `sluice merchants` and `sluice db` type their options with the model enums, so defining them
    imports SQLAlchemy's ORM and every model (~0.5 s), which every other command (`sluice deploy`,
    `sluice indexer --help`, …) would otherwise pay at start-up. They are listed last, as before.
    """

    #: Command name -> "module:Typer app"; each app carries its command name (`typer.Typer(name=...)`).
    lazy: ClassVar[dict[str, str]] = {
        "merchants": "launcher.commands.merchants:merchants_app",
        "db": "launcher.commands.merchants:db_app",
        "users": "launcher.commands.users:users_app",
        "platform": "launcher.commands.users:platform_app",
    }

    def list_commands(self, ctx: Context) -> list[str]:
        return [name for name in super().list_commands(ctx) if name not in self.lazy] + list(self.lazy)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, _, attribute = self.lazy[cmd_name].partition(":")
            sub_app = getattr(importlib.import_module(module), attribute)
            self.add_command(typer.main.get_group(sub_app), cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: Context, args: list[str]) -> tuple[str | None, Command | None, list[str]]:
        if args and args[0] not in self.commands and args[0] not in self.lazy:
            for name in self.lazy:  # an unknown name: "Did you mean …?" must consider every command
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=LazyGroup, help="Sluice: a non-custodial, contract-enforced payment gateway.", no_args_is_help=True
)
contracts_app = typer.Typer(help="Compile the Solidity contracts.", no_args_is_help=True)
deploy_app = typer.Typer(help="Deploy the contracts to a network (CREATE2: same address everywhere).")
app.add_typer(contracts_app, name="contracts")
app.add_typer(deploy_app, name="deploy")
app.command("reconcile")(reconcile_cmd)

console = Console()
err = Console(stderr=True)


def _fail(exc: SluiceError) -> typer.Exit:
    err.print(f"[bold red]error[/] ({exc.code}): {exc}")
    return typer.Exit(code=2)


@contracts_app.command("build")
def contracts_build(
    check: Annotated[
        bool, typer.Option("--check", help="Fail if contracts/artifacts is stale; write nothing.")
    ] = False,
) -> None:
    """Compile contracts/ with the pinned solcjs into contracts/artifacts/."""
    from sluice.contracts.build import build_artifacts, stale_artifacts, write_artifacts

    try:
        artifacts = build_artifacts()
    except SluiceError as exc:
        raise _fail(exc) from exc
    if check:
        stale = stale_artifacts(artifacts)
        if stale:
            err.print(
                f"[bold red]stale artifacts[/]: {', '.join(stale)}; run `sluice contracts build` and commit"
            )
            raise typer.Exit(code=1)
        console.print(f"artifacts up to date ({len(artifacts)} contracts)")
        return
    for path in write_artifacts(artifacts):
        console.print(f"wrote {path.relative_to(path.parents[2])}")


def _network(name: str) -> NetworkConfig:
    """The network called `name` from the registry (built-in, deployments, $SLUICE_NETWORKS_FILE),
    read afresh: a command is one process, and tests run several in one."""
    from sluice.chain.registry import Registry

    return Registry.load().network(name)


def _web3(network: NetworkConfig, rpc_url: str | None) -> Web3:
    from web3 import Web3

    from sluice.errors import NetworkError

    url = rpc_url or (network.rpc_urls[0] if network.rpc_urls else None)
    if url is None:
        raise NetworkError(
            f"no RPC URL for network {network.name!r}: set {network.rpc_env} or pass --rpc-url"
        )
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
    try:
        w3.eth.chain_id  # noqa: B018 (connectivity check)
    except Exception as exc:
        raise NetworkError(f"cannot reach the RPC endpoint of {network.name!r}: {exc}") from exc
    if int(w3.eth.chain_id) != network.chain_id:
        raise NetworkError(
            f"the RPC endpoint serves chain id {w3.eth.chain_id}, but {network.name!r} is {network.chain_id}"
        )
    return w3


NetworkOpt = Annotated[
    str, typer.Option("--network", "-n", help="Network name (local, ethereum, bsc, base, …).")
]
RpcOpt = Annotated[str | None, typer.Option("--rpc-url", help="RPC URL; default $SLUICE_RPC_URL_<NETWORK>.")]


@deploy_app.callback(invoke_without_command=True)
def deploy_cmd(
    ctx: typer.Context,
    network: Annotated[str | None, typer.Option("--network", "-n", help="Network name.")] = None,
    rpc_url: RpcOpt = None,
    keystore: Annotated[
        Path | None,
        typer.Option(help="Encrypted keystore of the deployer ($SLUICE_KEYSTORE_PASSWORD or prompt)."),
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Contract owner; default the deployer.")] = None,
    operator: Annotated[
        str | None, typer.Option(help="Operator signer address; default $SLUICE_OPERATOR_ADDRESS.")
    ] = None,
    relayer: Annotated[
        str | None,
        typer.Option(help="Relayer address (captures, refunds, voids); default $SLUICE_RELAYER_ADDRESS."),
    ] = None,
    max_fee_bps: Annotated[int, typer.Option(min=0, max=10_000, help="Largest total of splits.")] = 3000,
    salt: Annotated[
        str | None, typer.Option(help="CREATE2 salt, 0x + 64 hex; default keccak('sluice.v1').")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a different recorded deployment.")] = False,
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url", help="Stacks networks: Stacks API URL; default $SLUICE_STACKS_API_URL_<NET>."
        ),
    ] = None,
) -> None:
    """Deploy SluicePayments and SluiceEscrow (EVM) or sluice-payments (stacks-*); write
    deployments/NETWORK.json (no-op when already there)."""
    if ctx.invoked_subcommand is not None:
        return
    if network is None:
        err.print("error: --network is required (for example: sluice deploy --network local)")
        raise typer.Exit(code=2)
    if network.startswith("stacks-"):
        _deploy_stacks(network, api_url, force=force)
        return
    from sluice.chain.deploy import LocalSender, deploy, resolve_params
    from sluice.chain.evm_features import check_network
    from sluice.chain.keys import load_deployer

    try:
        config = _network(network)
        # Before any RPC call: a network whose EVM cannot run the contracts gets nothing sent at all
        # (deploy() then asks the node itself to run the same opcodes before its first transaction).
        check_network(config)
        w3 = _web3(config, rpc_url)
        chain_id = int(w3.eth.chain_id)
        deployer = load_deployer(keystore, chain_id)
        params = resolve_params(
            deployer.address,
            chain_id,
            owner=owner,
            operator=operator,
            relayer=relayer,
            max_fee_bps=max_fee_bps,
            salt=salt,
        )
        result = deploy(w3, network, LocalSender(deployer), params, force=force, progress=console.print)
    except SluiceError as exc:
        raise _fail(exc) from exc
    table = Table(title=f"Sluice on {network} (chain id {result.manifest['chain_id']})")
    for col in ("contract", "address", "tx"):
        table.add_column(col)
    for name, entry in result.manifest["contracts"].items():
        table.add_row(name, entry["address"], entry.get("tx_hash") or "-")
    console.print(table)
    console.print(f"manifest: {result.path}" + ("" if result.changed else " (unchanged)"))


def _verify_stacks(network: str, api_url: str | None) -> Any:
    import asyncio

    from sluice.rails.stacks.api import StacksApi
    from sluice.rails.stacks.deploy import verify_stacks
    from sluice.rails.stacks.networks import get_stacks_network

    async def run() -> Any:
        net = get_stacks_network(network)
        async with StacksApi(net.api_url(api_url)) as api:
            return await verify_stacks(net, api)

    return asyncio.run(run())


def _deploy_stacks(network: str, api_url: str | None, *, force: bool) -> None:
    """`sluice deploy --network stacks-…`: the Clarity contract through the network's Stacks API."""
    import asyncio

    from sluice.config import get_settings
    from sluice.intents.signing import operator_account
    from sluice.rails.stacks.api import StacksApi
    from sluice.rails.stacks.deploy import deploy_stacks, load_deployer_key
    from sluice.rails.stacks.networks import get_stacks_network

    async def run() -> Any:
        net = get_stacks_network(network)
        operator = bytes(operator_account(get_settings(), live=network != "stacks-local").key)
        async with StacksApi(net.api_url(api_url)) as api:
            return await deploy_stacks(
                net, api, load_deployer_key(net), operator, force=force, progress=console.print
            )

    try:
        result = asyncio.run(run())
    except SluiceError as exc:
        raise _fail(exc) from exc
    table = Table(title=f"Sluice on {network} (chain id {result.manifest['chain_id']})")
    for col in ("contract", "tx"):
        table.add_column(col)
    for entry in result.manifest["contracts"].values():
        table.add_row(entry["contract_id"], entry.get("tx_id") or "-")
    console.print(table)
    console.print(f"manifest: {result.path}" + ("" if result.changed else " (unchanged)"))


@deploy_app.command("verify")
def deploy_verify(
    network: NetworkOpt,
    rpc_url: RpcOpt = None,
    api_url: Annotated[str | None, typer.Option("--api-url", help="Stacks networks: Stacks API URL.")] = None,
) -> None:
    """Compare the on-chain code and configuration of a recorded deployment with contracts/artifacts
    (stacks-*: the Clarity sources in contracts/stacks, the owner and the operator key)."""
    from sluice.chain.deploy import verify

    try:
        result = (
            _verify_stacks(network, api_url)
            if network.startswith("stacks-")
            else verify(_web3(_network(network), rpc_url), network)
        )
    except SluiceError as exc:
        raise _fail(exc) from exc
    table = Table(title=f"verify {network}")
    for col in ("contract", "address", "ok", "detail"):
        table.add_column(col)
    for name, address, ok, detail in result.rows:
        table.add_row(name, address, "[green]yes[/]" if ok else "[red]NO[/]", detail)
    console.print(table)
    if not result.ok:
        raise typer.Exit(code=1)


@app.command()
def dev(
    port: Annotated[int, typer.Option(help="anvil's port.")] = 8545,
    api_port: Annotated[
        int, typer.Option(help="The API's port (checkout at /pay, demo shop at /demo).")
    ] = 8000,
    host: Annotated[str, typer.Option(help="Interface the API listens on.")] = "127.0.0.1",
    reset: Annotated[
        bool,
        typer.Option("--reset", help="Forget the saved chain, demo merchant and embedded database first."),
    ] = False,
    exit_after_setup: Annotated[
        bool, typer.Option("--exit-after-setup", help="Stop once the chain is deployed (for scripts).")
    ] = False,
    info_file: Annotated[
        Path | None, typer.Option(help="Where to write the stack's URLs and keys; default .sluice/dev.json.")
    ] = None,
    stacks_port: Annotated[int, typer.Option(help="The local Stacks API's port (stacks-local).")] = 3999,
    solana_port: Annotated[
        int, typer.Option(help="The local Solana cluster's RPC port (another free one when taken).")
    ] = 8899,
    solana: Annotated[
        bool, typer.Option("--solana/--no-solana", help="Run the local Solana cluster (solana-local).")
    ] = True,
) -> None:
    """Run everything locally: PostgreSQL, anvil with the contracts and dev tokens, the local Solana
    cluster, a demo merchant, and the API + indexer + webhook worker. Ctrl-C stops it all; the next
    run resumes the same data (the Solana cluster starts empty each time)."""
    from launcher.dev import (
        FUNDED_ACCOUNTS,
        anvil,
        data_dir,
        default_info_file,
        local_solana,
        prepare_database,
        reset_data,
        run_stack,
        setup_local_chain,
        stacks_chain,
    )
    from launcher.devstack import DevContext
    from sluice.paths import deployments_dir

    directory = data_dir()
    if reset:
        from sluice.config import get_settings

        reset_data(directory, embedded_db=get_settings().database_url is None)
    try:
        with (
            anvil(port, directory / "anvil" / "state.json") as url,
            stacks_chain(stacks_port, deployments_dir()) as stacks,
        ):
            chain = setup_local_chain(url)
            table = Table(title=f"Sluice dev chain at {url} (chain id 31337)")
            table.add_column("name")
            table.add_column("address")
            for name, entry in chain.manifest["contracts"].items():
                table.add_row(name, entry["address"])
            for symbol, token in chain.manifest.get("tokens", {}).items():
                table.add_row(
                    f"{symbol} ({token['contract']}, {token['decimals']} decimals)", token["address"]
                )
            console.print(table)
            console.print("manifest: deployments/local.json; dev accounts 1-5 hold 1,000,000 of each token")
            if stacks is not None:
                contracts = stacks[1]["contracts"]
                console.print(
                    f"Stacks (stacks-local, simnet) at {stacks[0]}: "
                    f"{contracts['sluice-payments']['contract_id']}, "
                    f"test sBTC {contracts['test-token']['contract_id']}; deployments/stacks-local.json"
                )
            else:
                console.print("Stacks: not started (needs Node.js and `npm ci`)")
            if exit_after_setup:
                return
            database_url, _ = prepare_database(directory)
            from web3 import Web3

            accounts = Web3(Web3.HTTPProvider(url)).eth.accounts[1 : FUNDED_ACCOUNTS + 1]
            solana_cluster = local_solana(solana_port) if solana else contextlib.nullcontext(None)
            with solana_cluster as solana_info:
                ctx = DevContext(
                    data_dir=directory,
                    database_url=database_url,
                    rpc_url=url,
                    manifest=chain.manifest,
                    deployments_dir=deployments_dir(),
                    host=host,
                    api_port=api_port,
                    funded_accounts=[str(a) for a in accounts],
                    stacks_api_url=stacks[0] if stacks else None,
                    stacks_manifest=stacks[1] if stacks else None,
                    solana=solana_info,
                )
                info_path = info_file or default_info_file()
                run_stack(ctx, info_path, lambda info: _print_dev_info(info, info_path))
            console.print("stopped; the chain and the database are kept in " + str(directory))
    except KeyboardInterrupt:
        console.print("stopped")
    except SluiceError as exc:
        raise _fail(exc) from exc


def _print_dev_info(info: dict[str, object], info_path: Path) -> None:
    """What a newcomer needs, one fact a line (plain echo: long lines must not wrap)."""
    lines = [
        "",
        "Sluice dev is running",
        f"  API          {info['api_url']}",
        f"  API docs     {info['docs_url']}",
        f"  Demo shop    {info['demo_url']}",
        f"  Dashboard    {info['dashboard_url']} (sign in as {info['dashboard_email']},"
        f" password {info['dashboard_password']})",
        f"  Checkout     {info['demo_intent']['checkout_url']}",  # type: ignore[index]
        f"  Chain        {info['rpc_url']} (chain id {info['chain_id']}, network {info['network']})",
        *_solana_lines(info),
        f"  Secret key   {info['secret_key']}",
        f"  Publishable  {info['publishable_key']}",
        f"  Webhooks     {info['webhook_endpoint_id'] or 'not available in this build'}"
        f" -> {info['webhook_receiver_url']} (verified deliveries are printed below)",
        *_stacks_lines(info),
        "",
        "Create a payment intent:",
        f"  {info['curl']}",
        "",
        f"Facts for scripts: {info_path}. Press Ctrl-C to stop (everything is kept for the next run).",
    ]
    typer.echo("\n".join(lines))


def _stacks_lines(info: dict[str, Any]) -> list[str]:
    stacks = info.get("stacks")
    if not stacks:
        return []
    return [
        f"  Stacks       {stacks['api_url']} (stacks-local, simnet; contract {stacks['contract_id']})",
        f"  Stacks pay   {stacks['demo_intent']['checkout_url']}",
    ]


def _solana_lines(info: dict[str, Any]) -> list[str]:
    solana = info.get("solana")
    if not solana:
        return []
    lines = [
        f"  Solana       {solana['rpc_url']} (network solana-local, dev USDC mint {solana['usdc_mint']})"
    ]
    if (solana.get("demo_intent") or {}).get("checkout_url"):
        lines.append(f"  Solana pay   {solana['demo_intent']['checkout_url']}")
    return lines


@app.command()
def api(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (the API is stateless).")] = 1,
) -> None:
    """Run the merchant API (uvicorn)."""
    import uvicorn

    import api.main

    # By import string: uvicorn imports it again in each worker process when workers > 1.
    # proxy_headers off: uvicorn otherwise takes X-Forwarded-For from any local peer as the client's
    # address; the API reads it itself, and only behind SLUICE_TRUSTED_PROXY_HOPS proxies.
    uvicorn.run(
        f"{api.main.__name__}:app",
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        factory=False,
        proxy_headers=False,
    )


@app.command()
def indexer(
    network: Annotated[
        list[str] | None,
        typer.Option("--network", "-n", help="Network to index (repeatable); default every deployed one."),
    ] = None,
    reindex_from: Annotated[
        int | None,
        typer.Option(
            "--reindex-from",
            help="Roll the network(s) back to this block (clears a halt) and exit; the next run re-indexes.",
        ),
    ] = None,
) -> None:
    """Follow the contracts' events into PostgreSQL and move payment intents (one leader per network)."""
    from indexer import runner
    from sluice.config import get_settings

    if reindex_from is not None and not network:
        err.print("error: --reindex-from needs --network")
        raise typer.Exit(code=2)
    try:
        runner.main(get_settings(), network or None, reindex_block=reindex_from)
    except SluiceError as exc:
        raise _fail(exc) from exc
    except KeyboardInterrupt:
        pass


@app.command()
def sweep(
    network: Annotated[
        list[str],
        typer.Option("--network", "-n", help="Network whose deposit addresses to sweep (repeatable)."),
    ],
    once: Annotated[bool, typer.Option("--once", help="One run per network, then exit.")] = False,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", min=1, max=200, help="Deposit addresses per transaction.")
    ] = None,
) -> None:
    """Sweep paid deposit addresses to their merchants and splits with the relayer key."""
    from sluice.config import get_settings
    from sluice.deposits import runner

    try:
        runner.main(get_settings(), network, once=once, batch_size=batch_size)
    except SluiceError as exc:
        raise _fail(exc) from exc
    except KeyboardInterrupt:
        pass


@app.command()
def worker(
    no_jobs: Annotated[
        bool, typer.Option("--no-jobs", help="Deliver webhooks only; run no scheduled jobs.")
    ] = False,
) -> None:
    """Run the webhook delivery worker and the scheduled jobs; run as many as you like side by side."""
    import asyncio
    import signal

    from sluice.config import get_settings
    from sluice.logging import configure_logging
    from sluice.webhooks.worker import run_worker

    settings = get_settings()
    configure_logging(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop, scheduled_jobs=not no_jobs)

    try:
        asyncio.run(main())
    except SluiceError as exc:
        raise _fail(exc) from exc


if __name__ == "__main__":
    app()
