"""Deploys SluicePayments, SluiceEscrow and SluiceDeposits through CREATE2 and records them in
deployments/NAME.json.

Shared by `sluice deploy` and the Ape script (scripts/deploy.py): both hand over a `Sender`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from eth_abi import encode
from eth_utils import is_address, keccak, to_checksum_address
from hexbytes import HexBytes

from sluice.chain import create2
from sluice.chain.evm_features import probe_node
from sluice.chain.keys import ANVIL_OPERATOR_KEY, ANVIL_RELAYER_KEY, LOCAL_CHAIN_IDS
from sluice.chain.manifest import manifest_path, read_manifest, write_manifest
from sluice.contracts import Artifact, load_artifact
from sluice.errors import DeploymentError, KeyConfigError, SluiceValueError

if TYPE_CHECKING:  # web3 and eth_account cost ~0.5 s to import; planning a deployment needs neither
    from eth_account.signers.local import LocalAccount
    from web3 import Web3
    from web3.types import TxParams

log = structlog.get_logger(__name__)

#: The contracts `sluice deploy` puts on every network, in order.
CORE_CONTRACTS = ("SluicePayments", "SluiceEscrow", "SluiceDeposits")
#: Salt of the deterministic deployment: with the same owner, signer, relayer and fee bound, every
#: chain gets the same addresses.
DEFAULT_SALT = keccak(text="sluice.v1")
DEFAULT_MAX_FEE_BPS = 3000


class Sender(Protocol):
    """Who pays for the deployment: an address and a way to send a transaction and get its receipt."""

    @property
    def address(self) -> str: ...

    def send(self, w3: Web3, tx: TxParams) -> dict[str, Any]: ...


@dataclass
class LocalSender:
    """Signs with a local private key (env variable or keystore) and sends the raw transaction."""

    account: LocalAccount

    @property
    def address(self) -> str:
        return str(self.account.address)

    def send(self, w3: Web3, tx: TxParams) -> dict[str, Any]:
        tx = dict(tx)  # type: ignore[assignment]
        tx.setdefault("from", self.account.address)
        tx.setdefault("chainId", w3.eth.chain_id)
        tx.setdefault("nonce", w3.eth.get_transaction_count(self.account.address, "pending"))
        if "gas" not in tx:
            tx["gas"] = int(w3.eth.estimate_gas(tx) * 12 // 10)
        if "gasPrice" not in tx and "maxFeePerGas" not in tx:
            tx["gasPrice"] = w3.eth.gas_price
        signed = self.account.sign_transaction(tx)  # type: ignore[arg-type]
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        return dict(w3.eth.wait_for_transaction_receipt(tx_hash, timeout=300))


@dataclass(frozen=True)
class DeployParams:
    """What fixes the deployed code and so the CREATE2 address."""

    owner: str
    #: The intent signer (the API's signing key); never sends transactions.
    operator: str
    #: The relayer: sends escrow captures, refunds and voids and cancels nonces.
    relayer: str
    max_fee_bps: int = DEFAULT_MAX_FEE_BPS
    salt: bytes = DEFAULT_SALT

    def constructor_args(self) -> list[Any]:
        return [
            to_checksum_address(self.owner),
            to_checksum_address(self.operator),
            to_checksum_address(self.relayer),
            self.max_fee_bps,
        ]


OPERATOR_ENV = "SLUICE_OPERATOR_ADDRESS"
RELAYER_ENV = "SLUICE_RELAYER_ADDRESS"


def parse_salt(salt: str | None) -> bytes:
    """The CREATE2 salt: 0x + 64 hex digits, default keccak('sluice.v1') (as `sluice deploy --salt`)."""
    if salt is None:
        return DEFAULT_SALT
    try:
        value = bytes.fromhex(salt.removeprefix("0x"))
    except ValueError:
        value = b""
    if len(value) != 32:
        raise SluiceValueError("--salt must be 0x followed by 64 hex digits")
    return value


def resolve_params(
    deployer: str,
    chain_id: int,
    *,
    owner: str | None,
    operator: str | None,
    max_fee_bps: int,
    salt: str | None,
    relayer: str | None = None,
) -> DeployParams:
    """The parameters of `sluice deploy` and `ape run deploy` from their options: owner defaults to
    the deployer, the operator (intent signer) to $SLUICE_OPERATOR_ADDRESS and the relayer to
    $SLUICE_RELAYER_ADDRESS, on local chains to anvil's accounts 9 and 8."""
    operator = operator or os.environ.get(OPERATOR_ENV)
    relayer = relayer or os.environ.get(RELAYER_ENV)
    if chain_id in LOCAL_CHAIN_IDS and (operator is None or relayer is None):
        from eth_account import Account

        operator = operator or Account.from_key(ANVIL_OPERATOR_KEY).address
        relayer = relayer or Account.from_key(ANVIL_RELAYER_KEY).address
    if operator is None:
        raise KeyConfigError(f"no operator signer: pass --operator ADDRESS or set {OPERATOR_ENV}")
    if relayer is None:
        raise KeyConfigError(f"no relayer: pass --relayer ADDRESS or set {RELAYER_ENV}")
    for label, value in (("--operator", operator), ("--relayer", relayer), ("--owner", owner)):
        if value is not None and not is_address(value):
            raise SluiceValueError(f"{label} {value!r} is not an address")
    if to_checksum_address(operator) == to_checksum_address(relayer):
        raise SluiceValueError(
            "--relayer must differ from --operator: the intent signer and the relayer are separate roles "
            "(see docs/contracts.md)"
        )
    return DeployParams(
        owner=to_checksum_address(owner or deployer),
        operator=to_checksum_address(operator),
        relayer=to_checksum_address(relayer),
        max_fee_bps=max_fee_bps,
        salt=parse_salt(salt),
    )


def init_code(artifact: Artifact, params: DeployParams) -> bytes:
    """Creation bytecode followed by the ABI-encoded constructor arguments."""
    args = encode(["address", "address", "address", "uint256"], params.constructor_args())
    return bytes(artifact.bytecode) + args


def mask_immutables(code: bytes, refs: tuple[tuple[int, int], ...]) -> bytes:
    """Runtime code with the constructor-filled ranges zeroed, for comparing with an artifact."""
    out = bytearray(code)
    for start, length in refs:
        out[start : start + length] = bytes(length)
    return bytes(out)


def code_matches(w3: Web3, address: str, artifact: Artifact) -> bool:
    """Whether the code at `address` is the artifact's runtime code (immutables aside)."""
    onchain = bytes(HexBytes(w3.eth.get_code(to_checksum_address(address))))
    expected = bytes(artifact.deployed_bytecode)
    if len(onchain) != len(expected):
        return False
    refs = artifact.immutable_references
    return mask_immutables(onchain, refs) == mask_immutables(expected, refs)


def ensure_factory(w3: Web3, sender: Sender) -> None:
    """Makes sure the CREATE2 proxy exists, creating it with its keyless transaction if needed."""
    if create2.has_factory(w3):
        return
    log.info("create2_factory_missing", factory=create2.FACTORY)
    balance = w3.eth.get_balance(create2.FACTORY_DEPLOYER)
    if balance < create2.FACTORY_DEPLOY_COST:
        sender.send(
            w3,
            {"to": create2.FACTORY_DEPLOYER, "value": create2.FACTORY_DEPLOY_COST - balance},  # type: ignore[typeddict-item]
        )
    try:
        tx_hash = w3.eth.send_raw_transaction(create2.FACTORY_DEPLOY_TX)
        w3.eth.wait_for_transaction_receipt(tx_hash, timeout=300)
    except Exception as exc:  # chains that refuse pre-EIP-155 transactions
        raise DeploymentError(
            f"the CREATE2 deployer {create2.FACTORY} is missing and could not be created ({exc}); "
            "deploy it on this chain first (https://github.com/Arachnid/deterministic-deployment-proxy)"
        ) from exc
    if not create2.has_factory(w3):
        raise DeploymentError(f"the CREATE2 deployer was not created at {create2.FACTORY}")


def ensure_permit2(w3: Web3, say: Callable[[str], None]) -> None:
    """Permit2 (`payWithPermit2`) lives at its canonical address on every major chain; a local anvil
    gets Uniswap's code there. Elsewhere a missing Permit2 only disables that payment method."""
    from sluice.chain.permit2 import PERMIT2_ADDRESS, install_permit2

    if w3.eth.get_code(to_checksum_address(PERMIT2_ADDRESS)):
        return
    if str(w3.client_version).lower().startswith("anvil"):
        install_permit2(w3)
        say(f"Permit2: installed at {PERMIT2_ADDRESS} (anvil)")
    else:
        log.warning("permit2_missing", address=PERMIT2_ADDRESS)
        say(f"Permit2: not deployed at {PERMIT2_ADDRESS} on this chain; Permit2 payments unavailable")


def _differences(manifest: dict[str, Any], planned: dict[str, Any]) -> list[str]:
    diffs = []
    for key in ("chain_id", "owner", "operator", "relayer", "max_fee_bps", "salt"):
        if manifest.get(key) != planned.get(key):
            diffs.append(f"{key}: recorded {manifest.get(key)!r}, requested {planned.get(key)!r}")
    for name, entry in planned["contracts"].items():
        old = manifest.get("contracts", {}).get(name, {})
        for key in ("address", "artifact_hash"):
            if old.get(key) != entry[key]:
                diffs.append(f"{name}.{key}: recorded {old.get(key)!r}, requested {entry[key]!r}")
    return diffs


@dataclass
class DeployResult:
    manifest: dict[str, Any]
    path: Path
    changed: bool
    deployed: list[str]


def deploy(
    w3: Web3,
    network: str,
    sender: Sender,
    params: DeployParams,
    *,
    force: bool = False,
    directory: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> DeployResult:
    """Deploys the core contracts (a no-op when this exact deployment is on chain already).

    Raises DeploymentError when the manifest records a different deployment that is still on chain,
    unless `force` is given, and UnsupportedEvmError (nothing sent) when the node cannot execute an
    opcode of the contracts (sluice.chain.evm_features.probe_node).
    """
    say = progress or (lambda _msg: None)
    chain_id = int(w3.eth.chain_id)
    artifacts = {name: load_artifact(name) for name in CORE_CONTRACTS}
    planned: dict[str, Any] = {
        "network": network,
        "chain_id": chain_id,
        "owner": to_checksum_address(params.owner),
        "operator": to_checksum_address(params.operator),
        "relayer": to_checksum_address(params.relayer),
        "max_fee_bps": params.max_fee_bps,
        "salt": "0x" + params.salt.hex(),
        "create2_factory": create2.FACTORY,
        "contracts": {
            name: {
                "address": create2.create2_address(params.salt, init_code(a, params)),
                "artifact_hash": a.hash,
                "constructor_args": params.constructor_args(),
            }
            for name, a in artifacts.items()
        },
    }
    existing = read_manifest(network, directory)
    if existing is not None and existing.get("chain_id") != chain_id:
        raise DeploymentError(
            f"deployments/{network}.json is for chain id {existing.get('chain_id')}, "
            f"but the RPC endpoint serves chain id {chain_id}; check --rpc-url"
        )
    recorded_live = existing is not None and all(
        code_matches(w3, entry["address"], artifacts[name])
        for name, entry in existing.get("contracts", {}).items()
        if name in artifacts
    )
    if existing is not None and recorded_live:
        diffs = _differences(existing, planned)
        if not diffs:
            say(f"{network}: already deployed, nothing to do")
            return DeployResult(existing, manifest_path(network, directory), changed=False, deployed=[])
        if not force:
            raise DeploymentError(
                f"deployments/{network}.json records a different deployment that is live on chain:\n  "
                + "\n  ".join(diffs)
                + "\nrerun with --force to deploy the new one and replace the manifest"
            )

    # The node must run the contracts' opcodes (transient storage, …) before anything is sent.
    probe_node(w3, network, tuple(artifacts))
    ensure_factory(w3, sender)
    ensure_permit2(w3, say)
    deployed = []
    for name, artifact in artifacts.items():
        entry = planned["contracts"][name]
        address = entry["address"]
        if code_matches(w3, address, artifact):
            say(f"{name}: already at {address} (same code), recording it")
            old = (existing or {}).get("contracts", {}).get(name, {})
            entry["tx_hash"] = old.get("tx_hash") if old.get("address") == address else None
            entry["block_number"] = old.get("block_number") if old.get("address") == address else None
            continue
        if w3.eth.get_code(address):
            raise DeploymentError(f"{address} holds other code than {name}; choose another --salt")
        say(f"{name}: deploying to {address}")
        data = create2.factory_calldata(params.salt, init_code(artifact, params))
        receipt = sender.send(w3, {"to": create2.FACTORY, "data": data})
        if receipt.get("status") != 1 or not code_matches(w3, address, artifact):
            raise DeploymentError(
                f"{name} deployment failed: transaction {HexBytes(receipt['transactionHash']).to_0x_hex()}"
            )
        entry["tx_hash"] = HexBytes(receipt["transactionHash"]).to_0x_hex()
        entry["block_number"] = int(receipt["blockNumber"])
        deployed.append(name)
        log.info("contract_deployed", network=network, contract=name, address=address, tx=entry["tx_hash"])
    manifest = {
        **planned,
        "deployer": to_checksum_address(sender.address),
        "deployed_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
    if existing is not None and not deployed and not _differences(existing, planned):
        manifest["deployed_at"] = existing.get("deployed_at", manifest["deployed_at"])
    path = write_manifest(manifest, directory)
    return DeployResult(manifest, path, changed=True, deployed=deployed)


@dataclass
class VerifyResult:
    network: str
    ok: bool
    rows: list[tuple[str, str, bool, str]]  # contract, address, ok, detail


def verify(w3: Web3, network: str, *, directory: Path | None = None) -> VerifyResult:
    """Compares the on-chain code and configuration of a recorded deployment with the artifacts."""
    manifest = read_manifest(network, directory)
    if manifest is None:
        raise DeploymentError(f"no deployment recorded for {network!r} (deployments/{network}.json)")
    if int(w3.eth.chain_id) != manifest["chain_id"]:
        raise DeploymentError(
            f"deployments/{network}.json is for chain id {manifest['chain_id']}, "
            f"the RPC endpoint serves {w3.eth.chain_id}"
        )
    rows = []
    for name, entry in manifest["contracts"].items():
        artifact = load_artifact(name)
        address = entry["address"]
        if not w3.eth.get_code(address):
            rows.append((name, address, False, "no code at this address"))
            continue
        if not code_matches(w3, address, artifact):
            rows.append((name, address, False, "on-chain code differs from contracts/artifacts"))
            continue
        contract = w3.eth.contract(address=address, abi=artifact.abi)
        problems, notes = [], []
        if contract.functions.maxFeeBps().call() != manifest["max_fee_bps"]:
            problems.append("maxFeeBps differs from the manifest")
        if artifact.hash != entry["artifact_hash"]:
            problems.append("artifact hash differs from the manifest (sources changed since deployment)")
        # Owner, signer and relayer may change legitimately (two-step transfer, rotation): reported,
        # not failed.
        owner = contract.functions.owner().call()
        if owner != manifest["owner"]:
            notes.append(f"owner is now {owner}")
        signer = contract.functions.signer().call()
        if signer != manifest["operator"]:
            notes.append(f"operator signer is now {signer}")
        relayer = contract.functions.relayer().call()
        if relayer != manifest.get("relayer"):
            notes.append(f"relayer is now {relayer}")
        detail = "; ".join(problems + notes) or "code and configuration match"
        rows.append((name, address, not problems, detail))
    return VerifyResult(network, all(r[2] for r in rows), rows)
