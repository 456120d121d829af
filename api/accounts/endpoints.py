"""/v1/accounts and /v1/platform: the platform operator's API (a `plk_…` platform key), Stripe
Connect in spirit: create and update merchant accounts, set their fee, suspend them, see the
platform's fee revenue."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from api.audit import client_ip
from api.deps import Session, _presented_key
from api.schemas import ListResponse, Strict, from_unix
from sluice.accounts import platform_keys
from sluice.accounts.revenue import platform_revenue
from sluice.accounts.service import UNSET, account_service, fee_bound
from sluice.audit.service import record
from sluice.chain.registry import Registry
from sluice.merchants.service import merchant_service
from sluice.models.merchant import Merchant, MerchantStatus
from sluice.models.users import PlatformApiKey, Role
from sluice.reports.filters import AssetBook
from sluice.users.mailer import ConsoleMailer, Mailer
from sluice.users.team import team_service

router = APIRouter(tags=["accounts"])


async def platform_key(request: Request, session: Session) -> PlatformApiKey:
    """The operator's platform key (Authorization: Bearer plk_…); merchant keys are refused."""
    key = await platform_keys.authenticate(session, _presented_key(request))
    request.state.platform_key = key
    return key


PlatformKey = Annotated[PlatformApiKey, Depends(platform_key)]


def _registry(request: Request) -> Registry:
    registry: Registry = request.app.state.intents.registry
    return registry


def mailer_of(request: Request) -> Mailer:
    mailer: Mailer = getattr(request.app.state, "mailer", None) or ConsoleMailer()
    return mailer


class AccountPublic(BaseModel):
    id: str
    object: Literal["account"] = "account"
    name: str
    status: MerchantStatus
    payout_address: str | None = Field(description="The EVM payout address (`payout_addresses.evm`).")
    payout_addresses: dict[str, str] = Field(
        description='Payout addresses by chain family: {"evm": "0x…", "solana": "<base58>", "stacks": "SP…"}.'
    )
    fee_bps: int | None = Field(description="The merchant's own fee; null: the platform default.")
    effective_fee_bps: int = Field(description="The fee signed into its new intents.")
    created: int

    @classmethod
    def of(cls, merchant: Merchant, default_fee_bps: int) -> AccountPublic:
        return cls(
            id=merchant.id,
            name=merchant.name,
            status=MerchantStatus(merchant.status),
            payout_address=merchant.payout_address,
            payout_addresses=dict(merchant.payout_addresses or {}),
            fee_bps=merchant.fee_bps,
            effective_fee_bps=default_fee_bps if merchant.fee_bps is None else merchant.fee_bps,
            created=int(merchant.created_at.timestamp()),
        )


class AccountCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    payout_address: str | None = Field(default=None, description="The EVM payout address.")
    payout_addresses: dict[str, str] | None = Field(
        default=None, description="Payout addresses by chain family (evm, solana, stacks)."
    )
    fee_bps: int | None = Field(default=None, ge=0, description="Within the contracts' maximum fee.")
    owner_email: str | None = Field(
        default=None, description="Invites this person as the account's owner (an email with a link)."
    )


class AccountUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    payout_address: str | None = Field(default=None, description="The EVM payout address; null removes it.")
    payout_addresses: dict[str, str | None] | None = Field(
        default=None,
        description="Sets the payout address of each family named; null removes it. Others are unchanged.",
    )
    fee_bps: int | None = Field(default=None, ge=0, description="null: back to the platform default.")


async def _audit(
    request: Request, session: Session, key: PlatformApiKey, action: str, merchant_id: str
) -> None:
    await record(
        session,
        merchant_id=merchant_id,
        api_key_id=key.id,
        action=action,
        object_id=merchant_id,
        ip=client_ip(request, request.app.state.settings.trusted_proxy_hops),
        request_id=getattr(request.state, "request_id", None),
        status_code=200,
    )


def _public(request: Request, merchant: Merchant) -> AccountPublic:
    return AccountPublic.of(merchant, request.app.state.settings.platform_fee_bps)


@router.post("/accounts", response_model=AccountPublic)
async def create_account(
    body: AccountCreate, key: PlatformKey, session: Session, request: Request
) -> AccountPublic:
    """Create a merchant account. With `owner_email`, that person is invited as its owner."""
    merchant = await account_service.create(
        session,
        _registry(request),
        name=body.name,
        payout_address=body.payout_address,
        payout_addresses=body.payout_addresses,
        rails=request.app.state.intents.rails,
        fee_bps=body.fee_bps,
    )
    if body.owner_email:
        await team_service.invite(
            session,
            request.app.state.settings,
            mailer_of(request),
            actor_role=Role.owner,
            merchant=merchant,
            email=body.owner_email,
            role=Role.owner,
        )
    await _audit(request, session, key, "account.create", merchant.id)
    return _public(request, merchant)


@router.get("/accounts", response_model=ListResponse[AccountPublic])
async def list_accounts(
    key: PlatformKey,
    session: Session,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    starting_after: str | None = None,
    ending_before: str | None = None,
    status: MerchantStatus | None = None,
) -> ListResponse[AccountPublic]:
    """List merchant accounts, newest first."""
    rows, has_more = await account_service.list(
        session, limit=limit, starting_after=starting_after, ending_before=ending_before, status=status
    )
    return ListResponse[AccountPublic](
        data=[_public(request, m) for m in rows], has_more=has_more, url="/v1/accounts"
    )


@router.get("/accounts/{account_id}", response_model=AccountPublic)
async def retrieve_account(
    account_id: str, key: PlatformKey, session: Session, request: Request
) -> AccountPublic:
    """Retrieve a merchant account."""
    return _public(request, await merchant_service.get(session, account_id))


@router.post("/accounts/{account_id}", response_model=AccountPublic)
async def update_account(
    account_id: str, body: AccountUpdate, key: PlatformKey, session: Session, request: Request
) -> AccountPublic:
    """Update a merchant's name, payout addresses or fee (`fee_bps`: null returns it to the default)."""
    given = body.model_fields_set
    merchant = await account_service.update(
        session,
        _registry(request),
        account_id,
        name=body.name,
        payout_address=body.payout_address if "payout_address" in given else UNSET,
        payout_addresses=body.payout_addresses,
        rails=request.app.state.intents.rails,
        fee_bps=body.fee_bps if "fee_bps" in given else UNSET,
    )
    await _audit(request, session, key, "account.update", merchant.id)
    return _public(request, merchant)


@router.post("/accounts/{account_id}/suspend", response_model=AccountPublic)
async def suspend_account(
    account_id: str, key: PlatformKey, session: Session, request: Request
) -> AccountPublic:
    """Suspend a merchant: its new intents are refused; intents already created still settle."""
    merchant = await account_service.set_status(session, account_id, MerchantStatus.suspended)
    await _audit(request, session, key, "account.suspend", merchant.id)
    return _public(request, merchant)


@router.post("/accounts/{account_id}/reactivate", response_model=AccountPublic)
async def reactivate_account(
    account_id: str, key: PlatformKey, session: Session, request: Request
) -> AccountPublic:
    """Lift a suspension."""
    merchant = await account_service.set_status(session, account_id, MerchantStatus.active)
    await _audit(request, session, key, "account.reactivate", merchant.id)
    return _public(request, merchant)


@router.get("/platform/fee_bounds")
async def fee_bounds(key: PlatformKey, request: Request) -> dict[str, Any]:
    """The platform default fee and the highest fee a merchant may be given (the contracts' bound)."""
    return {
        "object": "platform.fee_bounds",
        "default_fee_bps": request.app.state.settings.platform_fee_bps,
        "max_fee_bps": fee_bound(_registry(request)),
    }


@router.get("/platform/fee_revenue")
async def fee_revenue(
    key: PlatformKey,
    session: Session,
    request: Request,
    account: str | None = None,
    created_gte: Annotated[int | None, Query(alias="created[gte]", ge=0)] = None,
    created_lte: Annotated[int | None, Query(alias="created[lte]", ge=0)] = None,
) -> dict[str, Any]:
    """Platform fees received per network and asset (base units as decimal strings), from settled
    payments and captures; `account` narrows it to one merchant."""
    rows = await platform_revenue(
        session, merchant_id=account, created_gte=from_unix(created_gte), created_lte=from_unix(created_lte)
    )
    book = AssetBook(_registry(request))
    data = []
    for r in rows:
        ref = book.ref(r.network, r.token)
        data.append(
            {
                "object": "platform.fee_revenue",
                "network": r.network,
                "asset": ref.symbol,
                "token": r.token,
                "decimals": ref.decimals,
                "livemode": r.livemode,
                "amount": str(r.amount),
                "payments": r.payments,
            }
        )
    return {"object": "list", "data": data, "has_more": False, "url": "/v1/platform/fee_revenue"}
