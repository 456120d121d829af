"""Sluice's exceptions: one root, each subclass combined with the builtin it stands for."""

from __future__ import annotations


class SluiceError(Exception):
    """Root of every error Sluice raises on purpose.

    `code` is machine-readable; the API answers with `http_status` and
    `{"error": {"type": error_type, "code": code, "message": str(error), "param": param}}`.
    """

    code: str = "sluice_error"
    error_type: str = "api_error"
    http_status: int = 500

    def __init__(self, message: str = "", *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.param = param
        if code is not None:
            self.code = code


class SluiceValueError(SluiceError, ValueError):
    """Raised when an argument or configuration value is invalid."""

    code = "invalid_value"


class CompilerError(SluiceError, RuntimeError):
    """Raised when the Solidity compiler is missing or reports errors."""

    code = "compiler_error"


class ArtifactError(SluiceError, LookupError):
    """Raised when a contract artifact is missing or stale; run `sluice contracts build`."""

    code = "artifact_error"


class NetworkError(SluiceError, LookupError):
    """Raised when a network is unknown or its RPC endpoint is not configured or unreachable."""

    code = "network_error"


class KeyConfigError(SluiceError, ValueError):
    """Raised when no usable deployer or operator key is configured."""

    code = "key_config_error"


class DeploymentError(SluiceError, RuntimeError):
    """Raised when a deployment would overwrite a different one, or did not land as expected."""

    code = "deployment_error"


class UnsupportedEvmError(DeploymentError):
    """Raised when a network's EVM lacks (or is not recorded to have) an opcode the compiled contracts
    use, such as transient storage (EIP-1153): `sluice deploy` refuses before sending anything."""

    code = "unsupported_evm"

    def __init__(
        self,
        message: str,
        *,
        network: str | None = None,
        evm_version: str | None = None,
        missing: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.network = network
        self.evm_version = evm_version
        self.missing = missing


# ----------------------------------------------------------------------------- API-facing errors


class InvalidRequestError(SluiceError, ValueError):
    """Raised when a request's parameters are invalid; `param` names the offending one."""

    code = "parameter_invalid"
    error_type = "invalid_request_error"
    http_status = 400


class NotFoundError(SluiceError, LookupError):
    """Raised when an object does not exist for the authenticated merchant (another's is not found too)."""

    code = "resource_missing"
    error_type = "invalid_request_error"
    http_status = 404


class AuthenticationError(SluiceError, PermissionError):
    """Raised when the API key is missing, malformed, unknown, revoked or expired."""

    code = "invalid_api_key"
    error_type = "authentication_error"
    http_status = 401


class PermissionDeniedError(SluiceError, PermissionError):
    """Raised when a valid key may not do this (publishable or restricted key, wrong mode)."""

    code = "permission_denied"
    error_type = "permission_error"
    http_status = 403


class IdempotencyError(SluiceError, ValueError):
    """Raised when an Idempotency-Key is reused with a different request."""

    code = "idempotency_key_reused"
    error_type = "idempotency_error"
    http_status = 400


class IdempotencyConflictError(SluiceError, RuntimeError):
    """Raised when a request with the same Idempotency-Key is still being processed."""

    code = "idempotency_key_in_use"
    error_type = "idempotency_error"
    http_status = 409


class RateLimitError(SluiceError, RuntimeError):
    """Raised when an API key sends more requests than its limit; `retry_after` in seconds."""

    code = "rate_limited"
    error_type = "rate_limit_error"
    http_status = 429

    def __init__(self, message: str = "", *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidStateError(SluiceError, RuntimeError):
    """Raised on a state transition the object's current status does not allow."""

    code = "unexpected_state"
    error_type = "invalid_request_error"
    http_status = 400


# ------------------------------------------------------------------ networks, assets, transactions


class UnknownNetworkError(NetworkError):
    """Raised when a network name is not in the registry; `known` lists the configured ones."""

    code = "unknown_network"
    error_type = "invalid_request_error"
    http_status = 400

    def __init__(self, message: str, *, network: str, known: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.param = "network"
        self.network = network
        self.known = known


class UnknownAssetError(SluiceError, LookupError):
    """Raised when an asset symbol or token address is not configured on a network; `known` lists them."""

    code = "unknown_asset"
    error_type = "invalid_request_error"
    http_status = 400

    def __init__(self, message: str, *, network: str, asset: str, known: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.param = "asset"
        self.network = network
        self.asset = asset
        self.known = known


class NetworkConfigError(SluiceError, ValueError):
    """Raised when the networks file (SLUICE_NETWORKS_FILE) or a deployment manifest is invalid."""

    code = "invalid_network_config"


class ContractNotDeployedError(SluiceError, LookupError):
    """Raised when a network has no SluicePayments or SluiceEscrow recorded; run `sluice deploy` first."""

    code = "contract_not_deployed"
    error_type = "invalid_request_error"
    http_status = 400

    def __init__(self, message: str, *, network: str, kind: str) -> None:
        super().__init__(message)
        self.param = "network"
        self.network = network
        self.kind = kind


class UnsupportedPaymentMethodError(SluiceError, ValueError):
    """Raised when a payment method does not fit the asset (native for a token, permit without EIP-2612)."""

    code = "unsupported_payment_method"
    error_type = "invalid_request_error"
    http_status = 400

    def __init__(self, message: str, *, method: str) -> None:
        super().__init__(message)
        self.param = "method"
        self.method = method


class PayerMismatchError(SluiceError, ValueError):
    """Raised when transactions are requested for another address than the intent's bound payer."""

    code = "payer_mismatch"
    error_type = "invalid_request_error"
    http_status = 400

    def __init__(self, message: str, *, expected: str, actual: str) -> None:
        super().__init__(message)
        self.param = "payer"
        self.expected = expected
        self.actual = actual


class InsufficientBalanceError(SluiceError, ValueError):
    """Raised when the payer holds less of the asset than the intent's amount."""

    code = "insufficient_balance"
    error_type = "invalid_request_error"
    http_status = 400

    def __init__(self, message: str, *, balance: int, required: int) -> None:
        super().__init__(message)
        self.param = "payer"
        self.balance = balance
        self.required = required


class InvalidPermitSignatureError(SluiceError, ValueError):
    """Raised when an EIP-2612 permit signature is malformed or the token rejects it."""

    code = "invalid_permit_signature"
    error_type = "invalid_request_error"
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.param = "permit_signature"


class TransactionRevertedError(SluiceError, RuntimeError):
    """Raised when a transaction being built would revert; `reason` is the decoded custom error, if known."""

    code = "transaction_would_revert"
    error_type = "invalid_request_error"
    http_status = 400

    def __init__(
        self, message: str, *, reason: str | None = None, args: tuple[object, ...] = (), data: bytes = b""
    ) -> None:
        super().__init__(message)
        self.param = None
        self.reason = reason
        self.revert_args = args
        self.data = data


# ----------------------------------------------------------------------------- pricing


class PricingUnavailableError(SluiceError, RuntimeError):
    """Raised when no trustworthy price can be had now (outage, rate limit, time-out, bad answer).

    `retry_after` (seconds) is set when the upstream said when to come back.
    """

    code = "pricing_unavailable"
    error_type = "api_error"
    http_status = 503

    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidPriceError(PricingUnavailableError):
    """Raised when a price source answers with a value that fails validation (non-positive, malformed,
    an incomplete round, the wrong pair)."""

    code = "invalid_price"


class StalePriceError(PricingUnavailableError):
    """Raised when a price source's latest answer is older than the bound allowed for it."""

    code = "stale_price"


class UnsupportedPairError(SluiceError, LookupError):
    """Raised when a price source does not price this asset in this currency."""

    code = "unsupported_pair"
    error_type = "invalid_request_error"
    http_status = 400

    def __init__(self, message: str = "", *, param: str = "currency") -> None:
        super().__init__(message)
        self.param = param


class StablecoinDepegError(SluiceError, RuntimeError):
    """Raised when a stablecoin trades outside its peg band, so quoting it 1:1 would be wrong."""

    code = "stablecoin_depeg"
    error_type = "api_error"
    http_status = 503

    def __init__(self, message: str = "", *, asset: str = "", observed: str = "", band: str = "") -> None:
        super().__init__(message)
        self.asset = asset
        #: The reference price and the allowed deviation, as decimal strings (e.g. "0.9712", "0.02").
        self.observed = observed
        self.band = band


class InvalidAmountError(SluiceError, ValueError):
    """Raised when a fiat amount is not positive, not a decimal, or finer than the currency's minor unit."""

    code = "invalid_amount"
    error_type = "invalid_request_error"
    http_status = 400

    def __init__(self, message: str = "", *, param: str = "amount") -> None:
        super().__init__(message)
        self.param = param


class UnsupportedCurrencyError(SluiceError, ValueError):
    """Raised when a fiat currency code is unknown to Sluice (ISO 4217, lower-case, e.g. "usd")."""

    code = "unsupported_currency"
    error_type = "invalid_request_error"
    http_status = 400

    def __init__(self, message: str = "", *, param: str = "currency") -> None:
        super().__init__(message)
        self.param = param
