"""Everything `sluice dev` runs in one process: the API (with the hosted checkout and the demo shop),
the indexer and the webhook worker, for a demo merchant that survives restarts.

The chain (anvil) and the database are started by the caller (`launcher.cli.dev`, or a test) and
handed over in a `DevContext`. This module lives in launcher/, not sluice/, because it imports api/
and indexer/ (sluice/ imports neither; pyproject.toml's import contracts check it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from indexer.runner import run as run_indexer
from launcher import devsolana
from sluice.chain.network_config import rpc_env
from sluice.chain.registry import Registry, get_registry
from sluice.config import Environment, Settings, to_asyncpg_url
from sluice.db.session import make_engine, make_sessionmaker
from sluice.demo import DemoConfig
from sluice.errors import AuthenticationError, SluiceError
from sluice.intents.signing import NonceAllocator
from sluice.merchants.service import merchant_service
from sluice.models.merchant import ApiKeyKind, Mode
from sluice.rails.defaults import default_rails
from sluice.rails.registry import Rails
from sluice.users.dev import ensure_dev_user
from sluice.webhooks.worker import run_worker

log = structlog.get_logger(__name__)

#: anvil's well-known accounts 7 and 8 (mnemonic "test test … junk"): the demo merchant's payout
#: address and the platform fee recipient. Accounts 1-5 are the funded payers (launcher.dev).
PAYOUT_ADDRESS = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955"
FEE_RECIPIENT = "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f"
DEMO_MERCHANT = "Sluice Demo Shop"
#: On stacks-local: the demo merchant's payout (Devnet.toml's wallet_2) and the platform fee's
#: recipient (wallet_3); public dev accounts.
STACKS_PAYOUT_ADDRESS = "ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG"
STACKS_FEE_RECIPIENT = "ST2JHG361ZXG51QTKY2NQCVBPPRRE2KZB1HR05NNC"
DEMO_PAYOUTS = {"evm": PAYOUT_ADDRESS, "stacks": STACKS_PAYOUT_ADDRESS}
#: Fiat prices of the demo shop need an ETH rate (and STX, sBTC on stacks-local); stablecoins are
#: quoted 1:1.
DEV_FIXED_RATES = {"ETH/usd": Decimal("3000"), "STX/usd": Decimal("0.6"), "SBTC/usd": Decimal("97000")}
NETWORK = "local"
STACKS_NETWORK = "stacks-local"
STACKS_API_ENV = "SLUICE_STACKS_API_URL_LOCAL"


class DevStackError(SluiceError, RuntimeError):
    """Raised when a part of `sluice dev` cannot start, or stops on its own with an error."""

    code = "dev_stack_error"


@dataclass
class DevContext:
    """The parts the caller started, and where the stack listens."""

    data_dir: Path
    #: postgresql:// URL of a migrated database.
    database_url: str
    rpc_url: str
    #: deployments/local.json as `launcher.dev.setup_local_chain` wrote it.
    manifest: dict[str, Any]
    deployments_dir: Path
    host: str = "127.0.0.1"
    api_port: int = 8000
    #: Accounts holding dev tokens and ETH (anvil accounts 1-5).
    funded_accounts: list[str] = field(default_factory=list)
    #: The local Stacks chain (simnet behind the Stacks API endpoints), when it runs, and
    #: deployments/stacks-local.json.
    stacks_api_url: str | None = None
    stacks_manifest: dict[str, Any] | None = None
    #: The local Solana cluster's `solana` section of .sluice/dev.json (None: not running).
    solana: dict[str, Any] | None = None

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def keys_file(self) -> Path:
        """The demo merchant's keys, kept next to the database they belong to (mode 600)."""
        return self.data_dir / "dev" / "merchant.json"

    def settings(self) -> Settings:
        """Development settings: checkout on this API, 127.0.0.1 webhook receivers allowed."""
        values: dict[str, Any] = {
            "env": Environment.development,
            "database_url": self.database_url,
            "data_dir": self.data_dir,
            "checkout_base_url": f"{self.api_url}/pay",
            "dashboard_url": f"{self.api_url}/dashboard",
            "dashboard_signup_enabled": True,
        }
        if "webhook_allow_private" in Settings.model_fields:
            values["webhook_allow_private"] = True
        if not os.environ.get("SLUICE_PLATFORM_FEE_RECIPIENT"):
            values["platform_fee_recipient"] = FEE_RECIPIENT
        if not os.environ.get("SLUICE_PLATFORM_FEE_RECIPIENT_STACKS"):
            values["platform_fee_recipient_stacks"] = STACKS_FEE_RECIPIENT
        if self.solana and not os.environ.get("SLUICE_PLATFORM_FEE_RECIPIENT_SOLANA"):
            values["platform_fee_recipient_solana"] = devsolana.fee_recipient(self.solana)
        if not os.environ.get("SLUICE_FIXED_RATES"):
            values["fixed_rates"] = DEV_FIXED_RATES
        return Settings(**values)

    def registry(self) -> Registry:
        return Registry.load(
            deployments=self.deployments_dir, environ={**os.environ, rpc_env(NETWORK): self.rpc_url}
        )


@dataclass
class DevMerchant:
    merchant_id: str
    secret_key: str
    publishable_key: str
    webhook_endpoint_id: str | None = None
    webhook_secret: str | None = None


async def ensure_demo_merchant(
    sessions: async_sessionmaker[AsyncSession],
    keys_file: Path,
    rails: Rails,
    payouts: Mapping[str, str] = DEMO_PAYOUTS,
) -> DevMerchant:
    """The demo merchant of the last run when its saved keys still work here; else a new one. Either
    way it has the payout address of every family in `payouts` (checked by `rails`)."""
    with contextlib.suppress(OSError, ValueError, TypeError):
        saved = DevMerchant(**json.loads(keys_file.read_text(encoding="utf-8")))
        try:
            async with sessions() as session:
                by_secret = await merchant_service.authenticate(session, saved.secret_key)
                by_publishable = await merchant_service.authenticate(session, saved.publishable_key)
            if by_secret.merchant_id == by_publishable.merchant_id == saved.merchant_id:
                await _ensure_payout_addresses(sessions, saved.merchant_id, rails, payouts)
                return saved
        except AuthenticationError:
            log.info("dev_merchant_recreated", reason="saved keys unknown to this database")
    async with sessions() as session, session.begin():
        merchant = await merchant_service.create(
            session, DEMO_MERCHANT, payout_addresses=payouts, rails=rails
        )
        secret_key = await merchant_service.issue_key(session, merchant.id, ApiKeyKind.secret, Mode.test)
        publishable = await merchant_service.issue_key(
            session, merchant.id, ApiKeyKind.publishable, Mode.test
        )
    created = DevMerchant(merchant.id, secret_key.secret, publishable.secret)
    save_merchant(created, keys_file)
    return created


async def _ensure_payout_addresses(
    sessions: async_sessionmaker[AsyncSession], merchant_id: str, rails: Rails, payouts: Mapping[str, str]
) -> None:
    """A demo merchant of an earlier run gets the payout addresses of families added since (those it
    has are kept)."""
    from sluice.merchants import payout

    async with sessions() as session, session.begin():
        merchant = await merchant_service.get(session, merchant_id)
        missing = {k: v for k, v in payouts.items() if k not in (merchant.payout_addresses or {})}
        if missing:
            merchant.payout_addresses = payout.merged(merchant.payout_addresses, missing, rails)


def save_merchant(merchant: DevMerchant, keys_file: Path) -> None:
    keys_file.parent.mkdir(parents=True, exist_ok=True)
    keys_file.write_text(json.dumps(asdict(merchant), indent=2) + "\n", encoding="utf-8")
    keys_file.chmod(0o600)


async def ensure_webhook_endpoint(
    client: httpx.AsyncClient, merchant: DevMerchant, url: str
) -> tuple[str | None, str | None]:
    """The demo merchant's endpoint for the built-in receiver (reused, its URL updated when the API
    port changed); (None, None) when this build has no webhook endpoints API."""
    if merchant.webhook_endpoint_id and merchant.webhook_secret:
        current = await client.get(f"/v1/webhook_endpoints/{merchant.webhook_endpoint_id}")
        if current.status_code == 200:
            endpoint = current.json()
            if endpoint.get("url") != url or endpoint.get("disabled"):
                # A new API port, or disabled after failing while `sluice dev` was stopped.
                updated = await client.patch(
                    f"/v1/webhook_endpoints/{merchant.webhook_endpoint_id}",
                    json={"url": url, "disabled": False},
                )
                if updated.status_code != 200:
                    raise DevStackError(f"cannot update the demo webhook endpoint: {updated.text[:300]}")
            return merchant.webhook_endpoint_id, merchant.webhook_secret
    created = await client.post(
        "/v1/webhook_endpoints",
        json={"url": url, "enabled_events": ["*"], "description": "sluice dev: the demo shop's receiver"},
    )
    if created.status_code in (404, 405):
        return None, None
    if created.status_code != 200:
        raise DevStackError(f"cannot create the demo webhook endpoint: {created.text[:300]}")
    body = created.json()
    return str(body["id"]), str(body["secret"])


def _check_port_free(host: str, port: int) -> None:
    """Fails with a clear message before anything starts when the API's port is taken."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise DevStackError(
                f"cannot listen on {host}:{port} ({exc.strerror}): is another sluice dev running? "
                "Pass --api-port to use another port"
            ) from exc


def curl_command(api_url: str, secret_key: str) -> str:
    body = json.dumps({"network": NETWORK, "asset": "USDC", "amount": "25000000"})
    return (
        f"curl -s {api_url}/v1/payment_intents -H {shlex.quote('Authorization: Bearer ' + secret_key)} "
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}"
    )


class DevStack:
    """Runs the API, the indexer and the worker until `stop` is set (or one of them fails)."""

    def __init__(self, ctx: DevContext) -> None:
        self.ctx = ctx
        self.info: dict[str, Any] = {}
        self.demo: DemoConfig | None = None
        self.dashboard_login: tuple[str, str] = ("", "")

    async def run(
        self, stop: asyncio.Event, on_ready: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        import uvicorn

        ctx = self.ctx
        _check_port_free(ctx.host, ctx.api_port)
        settings = ctx.settings()
        # The indexer and the worker read the registry from the environment, as in production;
        # the previous values come back when the stack stops (tests run it inside pytest).
        environ = {rpc_env(NETWORK): ctx.rpc_url, "SLUICE_DEPLOYMENTS_DIR": str(ctx.deployments_dir)}
        if ctx.stacks_api_url:
            environ[STACKS_API_ENV] = ctx.stacks_api_url
        networks = [NETWORK]
        if ctx.solana:
            environ[rpc_env(devsolana.SOLANA_NETWORK)] = ctx.solana["rpc_url"]
            networks.append(devsolana.SOLANA_NETWORK)
        saved_environ = {name: os.environ.get(name) for name in environ}
        os.environ.update(environ)
        get_registry.cache_clear()
        registry = ctx.registry()
        engine = make_engine(to_asyncpg_url(ctx.database_url), pool_size=2)
        tasks: dict[str, asyncio.Task[None]] = {}
        server: uvicorn.Server | None = None
        try:
            payouts = dict(DEMO_PAYOUTS)
            if ctx.solana:
                await devsolana.forget_previous_cluster(engine)
                payouts["solana"] = devsolana.payout_address(ctx.solana)
            rails = default_rails(registry, settings, NonceAllocator())
            merchant = await ensure_demo_merchant(make_sessionmaker(engine), ctx.keys_file, rails, payouts)
            self.dashboard_login = await ensure_dev_user(
                make_sessionmaker(engine), merchant.merchant_id, ctx.data_dir / "dev" / "dashboard.json"
            )
            self.demo = DemoConfig(
                secret_key=merchant.secret_key, api_url=ctx.api_url, state_dir=ctx.data_dir / "demo"
            )
            app = create_app(
                settings, database_url=to_asyncpg_url(ctx.database_url), registry=registry, demo=self.demo
            )
            config = uvicorn.Config(
                app,
                host=ctx.host,
                port=ctx.api_port,
                log_level="warning",
                timeout_graceful_shutdown=2,
                proxy_headers=False,  # as `sluice api`: forwarding headers only through the settings
            )
            server = uvicorn.Server(config)
            tasks["api"] = asyncio.create_task(server.serve(), name="api")
            await self._wait_started(server, tasks["api"])
            if ctx.stacks_api_url:
                networks.append(STACKS_NETWORK)
            tasks["indexer"] = asyncio.create_task(run_indexer(settings, networks, stop), name="indexer")
            tasks["worker"] = asyncio.create_task(run_worker(settings, stop), name="worker")
            async with httpx.AsyncClient(
                base_url=ctx.api_url, headers={"Authorization": f"Bearer {merchant.secret_key}"}, timeout=30
            ) as client:
                endpoint_id, secret = await ensure_webhook_endpoint(
                    client, merchant, f"{ctx.api_url}/demo/webhooks"
                )
                merchant.webhook_endpoint_id, merchant.webhook_secret = endpoint_id, secret
                save_merchant(merchant, ctx.keys_file)
                self.demo.webhook_secret = secret
                demo_intent = await client.post(
                    "/v1/payment_intents",
                    json={
                        "network": NETWORK,
                        "asset": "USDC",
                        "amount": "25000000",
                        "description": "sluice dev: demo intent",
                        "metadata": {"source": "sluice dev"},
                    },
                )
                if demo_intent.status_code != 200:
                    raise DevStackError(f"cannot create the demo intent: {demo_intent.text[:300]}")
                stacks_intent = await self._stacks_demo_intent(client) if ctx.stacks_api_url else None
                solana_intent = await devsolana.create_demo_intent(client) if ctx.solana else None
            self.info = self._describe(merchant, demo_intent.json())
            if stacks_intent is not None:
                self.info["stacks"] = self._describe_stacks(stacks_intent)
            if ctx.solana:
                self.info["solana"] = {**ctx.solana, "demo_intent": solana_intent}
            if on_ready is not None:
                on_ready(self.info)
            stopper = asyncio.create_task(stop.wait(), name="stop")
            done, _ = await asyncio.wait([stopper, *tasks.values()], return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            failed = [t for t in done if t is not stopper and not t.cancelled() and t.exception()]
            if failed:
                raise DevStackError(f"{failed[0].get_name()} stopped: {failed[0].exception()!r}")
        finally:
            stop.set()
            if server is not None:
                server.should_exit = True
            if tasks:
                _, pending = await asyncio.wait(tasks.values(), timeout=15)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*tasks.values(), return_exceptions=True)
            await engine.dispose()
            for name, value in saved_environ.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            get_registry.cache_clear()

    @staticmethod
    async def _wait_started(server: Any, task: asyncio.Task[None]) -> None:
        for _ in range(600):
            if server.started:
                return
            if task.done():
                exc = task.exception()
                raise DevStackError(f"the API did not start (port taken?): {exc!r}")
            await asyncio.sleep(0.05)
        raise DevStackError("the API did not start within 30 s")

    async def _stacks_demo_intent(self, client: httpx.AsyncClient) -> dict[str, Any]:
        """A demo intent on stacks-local: 2.5 STX to the demo merchant's Stacks payout address."""
        created = await client.post(
            "/v1/payment_intents",
            json={
                "network": STACKS_NETWORK,
                "asset": "STX",
                "amount": "2500000",
                "description": "sluice dev: Stacks demo intent",
                "metadata": {"source": "sluice dev"},
            },
        )
        if created.status_code != 200:
            raise DevStackError(f"cannot create the Stacks demo intent: {created.text[:300]}")
        body: dict[str, Any] = created.json()
        return body

    def _describe_stacks(self, demo_intent: dict[str, Any]) -> dict[str, Any]:
        """The `stacks` section of .sluice/dev.json: the local Stacks API, the contracts, dev keys."""
        from sluice.rails.stacks.devnode import (
            DEV_DEPLOYER_KEY,
            DEV_PAYER_ADDRESS,
            DEV_WALLET_1_KEY,
        )

        contracts = (self.ctx.stacks_manifest or {}).get("contracts", {})
        return {
            "network": STACKS_NETWORK,
            "api_url": self.ctx.stacks_api_url,
            "contract_id": contracts.get("sluice-payments", {}).get("contract_id"),
            "sbtc_token": contracts.get("test-token", {}).get("contract_id"),
            "payout_address": STACKS_PAYOUT_ADDRESS,
            # Clarinet's public devnet keys (settings/Devnet.toml): test funds on the local chain only.
            "payer_address": DEV_PAYER_ADDRESS,
            "payer_key": DEV_WALLET_1_KEY.hex(),
            "deployer_key": DEV_DEPLOYER_KEY.hex(),
            "demo_intent": {"id": demo_intent["id"], "checkout_url": demo_intent["checkout_url"]},
        }

    def _describe(self, merchant: DevMerchant, demo_intent: dict[str, Any]) -> dict[str, Any]:
        """The facts `sluice dev` prints and writes to .sluice/dev.json."""
        ctx = self.ctx
        manifest = ctx.manifest
        return {
            "api_url": ctx.api_url,
            "docs_url": f"{ctx.api_url}/docs",
            "demo_url": f"{ctx.api_url}/demo",
            "dashboard_url": f"{ctx.api_url}/dashboard",
            "dashboard_email": self.dashboard_login[0],
            "dashboard_password": self.dashboard_login[1],
            "rpc_url": ctx.rpc_url,
            "chain_id": int(manifest.get("chain_id", 31337)),
            "network": NETWORK,
            "merchant_id": merchant.merchant_id,
            "secret_key": merchant.secret_key,
            "publishable_key": merchant.publishable_key,
            "webhook_endpoint_id": merchant.webhook_endpoint_id,
            "webhook_secret": merchant.webhook_secret,
            "webhook_receiver_url": f"{ctx.api_url}/demo/webhooks",
            "contracts": {name: entry["address"] for name, entry in manifest.get("contracts", {}).items()},
            "tokens": {
                symbol: {"address": token["address"], "decimals": token["decimals"]}
                for symbol, token in manifest.get("tokens", {}).items()
            },
            "accounts": list(ctx.funded_accounts),
            "demo_intent": {"id": demo_intent["id"], "checkout_url": demo_intent["checkout_url"]},
            "curl": curl_command(ctx.api_url, merchant.secret_key),
            "components": {"api": True, "indexer": True, "worker": True},
        }


def write_info(info: dict[str, Any], path: Path) -> None:
    """`.sluice/dev.json`: what scripts need to talk to the dev stack (holds dev keys: mode 600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)


class DevStackThread:
    """The stack in a background thread with its own event loop (tests, notebooks)."""

    def __init__(self, ctx: DevContext) -> None:
        self.stack = DevStack(ctx)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="sluice-dev", daemon=True)

    def start(self, timeout: float = 90) -> dict[str, Any]:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise DevStackError(f"the dev stack did not come up within {timeout:.0f} s")
        if self._error is not None:
            raise DevStackError(f"the dev stack failed to start: {self._error!r}") from self._error
        return self.stack.info

    def stop(self, timeout: float = 30) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    @property
    def error(self) -> BaseException | None:
        return self._error

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await self.stack.run(self._stop, on_ready=lambda _: self._ready.set())

        try:
            asyncio.run(main())
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()
