"""/v1/payment_intents: thin endpoints over sluice.intents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status

from api.audit import Audit, audit_context
from api.deps import AnyKey, ReadKey, SecretCaller, SecretKey, Session
from api.payment_intents.schemas import (
    CancelIn,
    CaptureIn,
    GaslessIn,
    GaslessPublic,
    PaymentIntentCreate,
    RelayIn,
    RelayPublic,
    TransactionsIn,
    TransactionsPublic,
)
from api.schemas import MAX_UNIX_TIME, ListResponse, from_unix
from sluice import jsoncodec
from sluice.errors import SluiceError
from sluice.intents.operations import ChainOperations
from sluice.intents.schemas import CreateIntent, PriceSpec, SplitSpec
from sluice.intents.service import PaymentIntentService
from sluice.intents.views import PaymentIntentPublic
from sluice.models.payment_intent import PaymentIntentStatus

router = APIRouter(prefix="/payment_intents", tags=["payment_intents"])


async def intents(request: Request) -> PaymentIntentService:
    service: PaymentIntentService = request.app.state.intents
    return service


Intents = Annotated[PaymentIntentService, Depends(intents)]


async def operations(request: Request) -> ChainOperations:
    ops: ChainOperations = request.app.state.operations
    return ops


Operations = Annotated[ChainOperations, Depends(operations)]


def _json(view: dict[str, Any]) -> Response:
    """An intent's view (`sluice.intents.views.present`, in PaymentIntentPublic's shape) as the body."""
    return Response(jsoncodec.dumps_bytes(view), media_type="application/json")


@router.post("", status_code=status.HTTP_200_OK, response_model=PaymentIntentPublic)
async def create_payment_intent(
    body: PaymentIntentCreate, caller: SecretCaller, request: Request
) -> Response:
    """Create a payment intent, signed by the operator for the network's contract.

    Give exactly one of `amount` (base units), `price` (fiat, converted with a quote locked for 15
    minutes) or `quote`. `capture_method=automatic` pays through the fee-splitting contract;
    `manual` holds the funds in escrow until captured.
    """
    params = CreateIntent(
        network=body.network,
        asset=body.asset,
        amount=body.amount,
        price=PriceSpec(body.price.amount, body.price.currency) if body.price else None,
        quote_id=body.quote,
        capture_method=body.capture_method,
        expires_in=body.expires_in,
        splits=tuple(SplitSpec(s.recipient, s.bps) for s in body.splits),
        metadata=body.metadata,
        description=body.description,
        payer=body.payer,
        allow_partial=body.allow_partial,
        rail=body.rail,
        payment_method_types=tuple(body.payment_method_types) if body.payment_method_types else None,
    )
    audit = audit_context(request)
    service: PaymentIntentService = request.app.state.intents
    store = request.app.state.intent_store
    try:
        created = await service.create(store, caller.account, params, audit)
    except SluiceError:
        if not caller.cached:
            raise
        # Decided on a cached account: decide again on a fresh one.
        await caller.refresh(request)
        created = await service.create(store, caller.account, params, audit)
    # The view is already JSON (the event carries it too): sent as is, not validated again.
    return Response(created.json, media_type="application/json")


@router.get("/{intent_id}", response_model=PaymentIntentPublic)
async def retrieve_payment_intent(
    intent_id: str, principal: ReadKey, session: Session, service: Intents
) -> Response:
    """Retrieve a payment intent. Another merchant's intent is not found (404)."""
    return _json(await service.view(session, await service.get(session, principal, intent_id)))


@router.get("", response_model=ListResponse[PaymentIntentPublic])
async def list_payment_intents(
    principal: ReadKey,
    session: Session,
    service: Intents,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    starting_after: str | None = None,
    ending_before: str | None = None,
    status: PaymentIntentStatus | None = None,
    created_gte: Annotated[int | None, Query(alias="created[gte]", ge=0, le=MAX_UNIX_TIME)] = None,
    created_lte: Annotated[int | None, Query(alias="created[lte]", ge=0, le=MAX_UNIX_TIME)] = None,
) -> ListResponse[PaymentIntentPublic]:
    """List payment intents, newest first, with cursor pagination (`starting_after`/`ending_before`)."""
    rows, has_more = await service.list(
        session,
        principal,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
        status=status,
        created_gte=from_unix(created_gte),
        created_lte=from_unix(created_lte),
    )
    views = [PaymentIntentPublic.model_validate(view) for view in await service.views(session, rows)]
    return ListResponse[PaymentIntentPublic](data=views, has_more=has_more, url="/v1/payment_intents")


@router.post("/{intent_id}/cancel", response_model=PaymentIntentPublic)
async def cancel_payment_intent(
    intent_id: str,
    principal: SecretKey,
    session: Session,
    ops: Operations,
    audit: Audit,
    body: Annotated[CancelIn | None, Body()] = None,
) -> Response:
    """Cancel an intent that has not been captured: its nonce is burnt on chain so it can no longer
    be paid, or, for a funded escrow, the escrow is voided and the payer refunded."""
    intent = await ops.cancel(session, principal, intent_id, body.cancellation_reason if body else None)
    await audit("payment_intent.cancel", intent.id)
    return _json(await ops.intents.view(session, intent))


@router.post("/{intent_id}/transactions", response_model=TransactionsPublic)
async def payment_transactions(
    intent_id: str, body: TransactionsIn, principal: AnyKey, session: Session, ops: Operations
) -> TransactionsPublic:
    """The unsigned transactions the payer's wallet signs, in order, in the shape of
    `eth_sendTransaction` (quantities as 0x-hex): `approve` + `pay`, `native` (pay with value), or
    `permit` (first call returns the EIP-2612 typed data to sign; the second call, with
    `permit_signature`, returns the one transaction). Works with a publishable key plus the
    intent's `client_secret`, for checkout pages."""
    built = await ops.transactions(
        session,
        principal,
        intent_id,
        payer=body.payer,
        method=body.method,
        permit_signature=body.permit_signature,
        client_secret=body.client_secret,
    )
    return TransactionsPublic(**built)


@router.post("/{intent_id}/gasless", response_model=GaslessPublic)
async def gasless_payment_request(
    intent_id: str, body: GaslessIn, principal: AnyKey, session: Session, ops: Operations
) -> GaslessPublic:
    """The typed data the payer signs to pay without gas (`eth_signTypedData_v4`): EIP-3009
    `ReceiveWithAuthorization` when the token supports it, else a Permit2 `PermitWitnessTransferFrom`
    with the intent as witness (plus the payer's one-time Permit2 approval when missing). Send the
    signature to `/relay`. ERC-20 intents with capture_method=automatic only. Works with a
    publishable key plus the intent's `client_secret`."""
    built = await ops.gasless_request(
        session, principal, intent_id, payer=body.payer, method=body.method, client_secret=body.client_secret
    )
    return GaslessPublic(**built)


@router.post("/{intent_id}/relay", response_model=RelayPublic)
async def relay_gasless_payment(
    intent_id: str, body: RelayIn, principal: AnyKey, session: Session, ops: Operations, audit: Audit
) -> RelayPublic:
    """Relays the payer's signed gasless payment: the signature is checked against the typed data of
    `/gasless` for this payer and method (`invalid_signature` otherwise), the call is simulated
    (`transaction_would_revert` with the contract's error), then the gateway's relayer sends it and pays
    the gas (recorded per intent in the reports). One relay per intent (`payment_already_relayed`)."""
    relayed = await ops.relay_gasless(
        session,
        principal,
        intent_id,
        payer=body.payer,
        method=body.method,
        signature=body.signature,
        client_secret=body.client_secret,
    )
    await audit("payment_intent.relay", intent_id)
    return RelayPublic(**relayed)


@router.post("/{intent_id}/capture", response_model=PaymentIntentPublic)
async def capture_payment_intent(
    intent_id: str,
    principal: SecretKey,
    session: Session,
    ops: Operations,
    audit: Audit,
    body: Annotated[CaptureIn | None, Body()] = None,
) -> Response:
    """Capture escrowed funds (capture_method=manual): the operator relayer calls the escrow's
    `capture`, which pays the merchant and the splits. Partial captures leave the rest capturable."""
    amount = body.amount_to_capture if body else None
    intent = await ops.capture(session, principal, intent_id, amount)
    await audit("payment_intent.capture", intent.id)
    return _json(await ops.intents.view(session, intent))
