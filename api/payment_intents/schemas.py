"""Request and response shapes of /v1/payment_intents."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.schemas import BaseUnits, DecimalString, Strict
from sluice.intents.schemas import METADATA_KEY_MAX, METADATA_MAX_KEYS, METADATA_VALUE_MAX
from sluice.intents.service import MAX_EXPIRES_IN, MIN_EXPIRES_IN
from sluice.models.payment_intent import CaptureMethod

#: Documents what sluice.merchants.payout.check_address enforces (the service checks; this tells).
ADDRESS_SCHEMA: dict[str, Any] = {"pattern": "^(0[xX])?[0-9a-fA-F]{40}$"}
#: A payer's wallet: an EVM address, or a base58 public key (Solana).
PAYER_SCHEMA: dict[str, Any] = {"pattern": "^((0[xX])?[0-9a-fA-F]{40}|[1-9A-HJ-NP-Za-km-z]{32,44})$"}


class SplitIn(Strict):
    recipient: str = Field(
        description="EVM address (EIP-55 checksum checked when mixed case), not the zero address.",
        json_schema_extra=ADDRESS_SCHEMA,
    )
    bps: int = Field(ge=1, le=10_000, description="Share in basis points.")


class PriceIn(Strict):
    amount: DecimalString = Field(description='Fiat amount as a string, e.g. "25.00".')
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217 code, e.g. usd.")


class PaymentIntentCreate(Strict):
    network: str = Field(description="Network name, see GET /v1/networks.")
    asset: str = Field(description="Asset symbol on that network (USDC, USDT, ETH…).")
    amount: BaseUnits | None = Field(
        default=None, description="Exact amount in base units (string or integer)."
    )
    price: PriceIn | None = Field(default=None, description="Fiat price converted with a locked quote.")
    quote: str | None = Field(default=None, description="Id of a quote from GET /v1/quotes (qt_…).")
    capture_method: CaptureMethod = CaptureMethod.automatic
    expires_in: int | None = Field(
        default=None,
        description="Seconds until the intent expires (default 900).",
        json_schema_extra={"minimum": MIN_EXPIRES_IN, "maximum": MAX_EXPIRES_IN},
    )
    splits: list[SplitIn] = Field(default_factory=list, max_length=4)
    metadata: dict[str, str] = Field(default_factory=dict)
    description: str | None = Field(default=None, max_length=1000)
    payer: str | None = Field(
        default=None,
        description="Only this address may pay (not the zero address).",
        json_schema_extra=ADDRESS_SCHEMA,
    )
    allow_partial: bool = Field(
        default=False,
        description="Escrow only: several deposits may add up; needs `payer` (every deposit comes from it).",
    )
    rail: str | None = Field(
        default=None,
        max_length=32,
        description="How the payer pays (GET /v1/networks lists each network's rails); its first by default.",
    )
    payment_method_types: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=4,
        description="How the payer may pay, the first is the intent's rail: `contract_call` (the payer's "
        "wallet calls the Sluice contract) and/or `deposit_address` (a plain transfer from any wallet or "
        "exchange to the intent's own deposit address); on other chain families, their rail's name. "
        'Default: `rail` alone (EVM: ["contract_call"]).',
    )

    @field_validator("metadata")
    @classmethod
    def _stripe_metadata_limits(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > METADATA_MAX_KEYS:
            raise ValueError(f"metadata has at most {METADATA_MAX_KEYS} keys")
        for key, item in value.items():
            if not key or len(key) > METADATA_KEY_MAX:
                raise ValueError(f"metadata keys are 1 to {METADATA_KEY_MAX} characters")
            if len(item) > METADATA_VALUE_MAX:
                raise ValueError(f"metadata values are at most {METADATA_VALUE_MAX} characters")
        return value


class CancelIn(Strict):
    cancellation_reason: Literal["duplicate", "fraudulent", "requested_by_customer", "abandoned"] | None = (
        None
    )


class TransactionsIn(Strict):
    payer: str = Field(
        description="The wallet address that will sign and send the transactions: 0x-hex on EVM "
        "networks, base58 on Solana.",
        json_schema_extra=PAYER_SCHEMA,
    )
    method: Literal["approve", "permit", "native"] | None = Field(
        default=None,
        description="EVM only: approve + pay (ERC-20), permit (EIP-2612 signature, then one transaction) "
        "or native; defaults to native for the native coin (a token needs one of the other two). "
        "Rails without methods (solana-pay) ignore it.",
    )
    permit_signature: str | None = Field(
        default=None,
        description="0x-hex signature of the `permit` typed data from the first call (method permit).",
    )
    client_secret: str | None = Field(default=None, description="Required with a publishable key.")


class TransactionsPublic(BaseModel):
    """What the payer signs, from the intent's rail. The evm-contract rail fills `method`, `chain_id`,
    `steps`, `permit` and `eip681`; other rails leave what they lack null and may add fields."""

    model_config = ConfigDict(extra="allow")

    object: Literal["payment_transactions"] = "payment_transactions"
    payment_intent: str
    rail: str
    method: str | None = None
    payer: str
    chain_id: int | None = None
    steps: list[str] | None = None
    transactions: list[dict[str, Any]]
    permit: dict[str, Any] | None = None
    eip681: str | None = None
    #: A payment URI the payer's wallet understands (EIP-681 on EVM, …), where the rail has one.
    uri: str | None = None
    checkout_url: str
    qr_svg: str


class CaptureIn(Strict):
    amount_to_capture: BaseUnits | None = Field(
        default=None, description="Base units; default all capturable."
    )


SIGNATURE_SCHEMA: dict[str, Any] = {"pattern": "^0x[0-9a-fA-F]{130}$"}


class GaslessIn(Strict):
    payer: str = Field(
        description="The wallet address that will sign the typed data (it needs no native coin).",
        json_schema_extra=ADDRESS_SCHEMA,
    )
    method: Literal["eip3009", "permit2"] | None = Field(
        default=None,
        description="eip3009 (the token's receiveWithAuthorization, e.g. USDC) or permit2 (any ERC-20 "
        "approved to Uniswap's Permit2 once); defaults to eip3009 when the token supports it.",
    )
    client_secret: str | None = Field(default=None, description="Required with a publishable key.")


class GaslessPublic(BaseModel):
    """The typed data to sign with eth_signTypedData_v4 (uint256 values as decimal strings), and for
    Permit2 the payer's one-time `approve(Permit2, max)` when missing (the only step that needs gas)."""

    object: Literal["gasless_payment_request"] = "gasless_payment_request"
    payment_intent: str
    payer: str
    method: Literal["eip3009", "permit2"]
    methods: list[Literal["eip3009", "permit2"]]
    typed_data: dict[str, Any]
    approval_transaction: dict[str, Any] | None = None


class RelayIn(Strict):
    payer: str = Field(description="The address that signed.", json_schema_extra=ADDRESS_SCHEMA)
    method: Literal["eip3009", "permit2"] = Field(description="The method of the signed typed data.")
    signature: str = Field(
        description="0x-hex 65-byte signature of the typed data from /gasless.",
        json_schema_extra=SIGNATURE_SCHEMA,
    )
    client_secret: str | None = Field(default=None, description="Required with a publishable key.")


class RelayPublic(BaseModel):
    """The relayed payment: `succeeded` once mined (the intent follows when the indexer sees it), or
    `pending` when not mined within the request (the relayer keeps it moving)."""

    object: Literal["relayed_payment"] = "relayed_payment"
    payment_intent: str
    payer: str
    method: Literal["eip3009", "permit2"]
    status: Literal["pending", "succeeded"]
    tx_hash: str
    gas_used: int | None = None
    fee_paid: str | None = Field(default=None, description="Native coin the relayer paid, base units.")
