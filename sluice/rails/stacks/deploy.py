"""`sluice deploy --network stacks-…`: deploy sip-010-trait + sluice-payments through a Stacks API,
register the operator key (`rotate-signer`), and write deployments/NETWORK.json.

Idempotent: contracts already deployed under the deployer with the same source are kept, and a
manifest that already records this deployment is left unchanged. A manifest recording another
deployment (another deployer, source or operator) is only replaced with `force`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from sluice.chain.manifest import read_manifest, write_manifest
from sluice.errors import DeploymentError, NetworkError
from sluice.paths import PROJECT_ROOT
from sluice.rails.stacks.api import StacksApi
from sluice.rails.stacks.c32 import address_from_public_key
from sluice.rails.stacks.clarity import Buffer, UInt
from sluice.rails.stacks.networks import StacksNetwork
from sluice.rails.stacks.sip018 import public_key
from sluice.rails.stacks.transactions import ContractCall, ContractDeploy, Transaction, unsigned_transaction

log = structlog.get_logger(__name__)

STACKS_CONTRACTS_DIR = PROJECT_ROOT / "contracts" / "stacks" / "contracts"
#: Deployed in this order (sluice-payments uses the trait). Test tokens go to stacks-local only.
CONTRACTS: tuple[tuple[str, str], ...] = (
    ("sip-010-trait", "sip-010-trait.clar"),
    ("sluice-payments", "sluice-payments.clar"),
)
LOCAL_CONTRACTS: tuple[tuple[str, str], ...] = (("test-token", "mocks/test-token.clar"),)
CLARITY_VERSION = 4
#: Micro-STX per transaction; deploys are a few kB (testnet and mainnet fees are per byte).
_MIN_DEPLOY_FEE = 50_000


@dataclass
class StacksDeployResult:
    manifest: dict[str, Any]
    path: Path
    changed: bool
    deployed: list[str]


def contract_sources(network: StacksNetwork) -> list[tuple[str, str]]:
    """(name, source) of the contracts to deploy on `network`."""
    files = CONTRACTS + (LOCAL_CONTRACTS if network.name == "stacks-local" else ())
    return [(name, (STACKS_CONTRACTS_DIR / path).read_text(encoding="utf-8")) for name, path in files]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def deploy_stacks(
    network: StacksNetwork,
    api: StacksApi,
    deployer_key: bytes,
    operator_key: bytes,
    *,
    force: bool = False,
    directory: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> StacksDeployResult:
    """Deploys (or finds) the contracts, sets the operator key, writes the manifest."""
    info = await api.info()
    if int(info.get("network_id", -1)) != network.chain_id:
        raise NetworkError(
            f"the Stacks API serves chain id {info.get('network_id')}, "
            f"but {network.name!r} is {network.chain_id}"
        )
    deployer = address_from_public_key(public_key(deployer_key), network.chain)
    operator_public_key = public_key(operator_key).hex()
    sources = contract_sources(network)
    contracts: dict[str, dict[str, Any]] = {
        name: {"contract_id": f"{deployer}.{name}", "source_sha256": _sha256(source)}
        for name, source in sources
    }
    wanted: dict[str, Any] = {
        "network": network.name,
        "family": "stacks",
        "chain_id": network.chain_id,
        "deployer": deployer,
        "owner": deployer,
        "operator_public_key": operator_public_key,
        "operator_address": address_from_public_key(bytes.fromhex(operator_public_key), network.chain),
        "contracts": contracts,
    }
    existing = read_manifest(network.name, directory)
    if existing is not None and not force and _identity(existing) != _identity(wanted):
        raise DeploymentError(
            f"deployments/{network.name}.json records another deployment "
            f"({existing.get('deployer')}, operator {existing.get('operator_public_key')}); "
            "pass --force to replace it"
        )

    nonce = await api.account_nonce(deployer)
    fee = max(_MIN_DEPLOY_FEE, await api.fee_rate() * 10_000)
    deployed: list[str] = []
    for name, source in sources:
        contract_id = f"{deployer}.{name}"
        live = await api.contract_source(contract_id)
        if live is not None:
            if live != source:
                raise DeploymentError(
                    f"{contract_id} is deployed with another source; deploy from another key to replace it"
                )
            progress(f"{contract_id}: already deployed")
            contracts[name] |= (existing or {}).get("contracts", {}).get(name, {}) | {
                "contract_id": contract_id,
                "source_sha256": _sha256(source),
            }
            continue
        tx = _transaction(network, deployer, nonce, fee, ContractDeploy(name, source, CLARITY_VERSION))
        confirmed = await _send(api, tx.sign(deployer_key), progress, f"deploy {contract_id}")
        nonce += 1
        deployed.append(name)
        contracts[name] |= {
            "tx_id": confirmed["tx_id"],
            "block_height": confirmed.get("block_height"),
        }

    # The operator key: set once, or again when it changed (the previous key revoked at once).
    contract = f"{deployer}.sluice-payments"
    if deployed or existing is None or existing.get("operator_public_key") != operator_public_key or force:
        call = ContractCall(contract, "rotate-signer", (Buffer(bytes.fromhex(operator_public_key)), UInt(0)))
        confirmed = await _send(
            api,
            _transaction(network, deployer, nonce, fee, call).sign(deployer_key),
            progress,
            "rotate-signer",
        )
        wanted["signer_tx_id"] = confirmed["tx_id"]
    elif existing is not None:
        wanted["signer_tx_id"] = existing.get("signer_tx_id")

    changed = existing != wanted
    path = write_manifest(wanted, directory) if changed else _path(network, directory)
    return StacksDeployResult(manifest=wanted, path=path, changed=changed, deployed=deployed)


def _identity(manifest: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two manifests the same deployment."""
    contracts = manifest.get("contracts") or {}
    return (
        manifest.get("deployer"),
        manifest.get("operator_public_key"),
        tuple(sorted((name, c.get("contract_id"), c.get("source_sha256")) for name, c in contracts.items())),
    )


def _path(network: StacksNetwork, directory: Path | None) -> Path:
    from sluice.chain.manifest import manifest_path

    return manifest_path(network.name, directory)


def _transaction(
    network: StacksNetwork, sender: str, nonce: int, fee: int, payload: ContractCall | ContractDeploy
) -> Transaction:
    return unsigned_transaction(
        version=network.transaction_version,
        chain_id=network.chain_id,
        sender=sender,
        nonce=nonce,
        fee=fee,
        payload=payload,
        post_condition_mode="deny",
    )


async def _send(
    api: StacksApi, tx: Transaction, progress: Callable[[str], None], what: str
) -> dict[str, Any]:
    tx_id = await api.broadcast(tx.serialize())
    log.info("stacks.deploy.sent", what=what, tx_id=tx_id, nonce=tx.nonce)
    progress(f"{what}: {tx_id} sent, waiting for a block")
    confirmed = await api.wait_for(tx_id)
    log.info("stacks.deploy.confirmed", what=what, tx_id=tx_id, height=confirmed.get("block_height"))
    progress(f"{what}: confirmed at height {confirmed.get('block_height')}")
    return confirmed


DEPLOYER_KEY_ENV = "SLUICE_STACKS_DEPLOYER_KEY"


def load_deployer_key(network: StacksNetwork) -> bytes:
    """The Stacks deployer key: $SLUICE_STACKS_DEPLOYER_KEY (hex, 32 bytes or 33 with the 0x01 flag
    wallets export), else Clarinet's public devnet deployer key on stacks-local only."""
    import os

    from sluice.errors import KeyConfigError
    from sluice.rails.stacks.devnode import DEV_DEPLOYER_KEY

    value = os.environ.get(DEPLOYER_KEY_ENV)
    if value:
        try:
            key = bytes.fromhex(value.removeprefix("0x"))
            public_key(key)
        except ValueError as exc:
            raise KeyConfigError(f"{DEPLOYER_KEY_ENV} is not a valid secp256k1 private key") from exc
        return key
    if network.name == "stacks-local":
        return DEV_DEPLOYER_KEY
    raise KeyConfigError(f"no Stacks deployer key: set {DEPLOYER_KEY_ENV}")


@dataclass
class StacksVerifyResult:
    #: (what, id, ok, detail) per check.
    rows: list[tuple[str, str, bool, str]]

    @property
    def ok(self) -> bool:
        return all(ok for _, _, ok, _ in self.rows)


async def verify_stacks(
    network: StacksNetwork, api: StacksApi, directory: Path | None = None
) -> StacksVerifyResult:
    """Compares a recorded deployment with the chain: each contract's source with contracts/stacks,
    and the contract's owner and operator key with the manifest."""
    from sluice.rails.stacks.clarity import Some, to_python

    manifest = read_manifest(network.name, directory)
    if manifest is None:
        raise DeploymentError(
            f"no deployments/{network.name}.json: run `sluice deploy --network {network.name}`"
        )
    rows: list[tuple[str, str, bool, str]] = []
    local = dict(contract_sources(network))
    for name, entry in manifest["contracts"].items():
        live = await api.contract_source(entry["contract_id"])
        if live is None:
            rows.append((name, entry["contract_id"], False, "not deployed"))
        elif live != local.get(name):
            rows.append((name, entry["contract_id"], False, "source differs from contracts/stacks"))
        else:
            rows.append((name, entry["contract_id"], True, "source matches"))
    contract = manifest["contracts"]["sluice-payments"]["contract_id"]
    sender = manifest["deployer"]
    owner = to_python(await api.call_read_only(contract, "get-owner", [], sender))
    rows.append(("owner", contract, owner == manifest["owner"], f"on chain {owner}"))
    signer = await api.call_read_only(contract, "get-signer", [], sender)
    key = to_python(signer).hex() if isinstance(signer, Some) else None
    rows.append(("operator key", contract, key == manifest["operator_public_key"], f"on chain {key}"))
    return StacksVerifyResult(rows)
