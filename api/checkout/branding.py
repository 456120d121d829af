"""/brand/{merchant}.css and /brand/{merchant}/logo: a merchant's checkout branding, from this
origin (the checkout's CSP allows only its own styles and images). Public, as a logo on a
payment page is; cached briefly."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from api.deps import Session
from sluice.accounts.branding import brand_css
from sluice.errors import NotFoundError
from sluice.models.merchant import Merchant

router = APIRouter(prefix="/brand", tags=["checkout"], include_in_schema=False)
HEADERS = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}


@router.get("/{merchant_id}.css")
async def brand_stylesheet(merchant_id: str, session: Session) -> Response:
    color = (
        await session.execute(select(Merchant.brand_color).where(Merchant.id == merchant_id))
    ).scalar_one_or_none()
    return Response(brand_css(color), media_type="text/css", headers=HEADERS)


@router.get("/{merchant_id}/logo")
async def brand_logo(merchant_id: str, session: Session) -> Response:
    row = (
        await session.execute(
            select(Merchant.brand_logo, Merchant.brand_logo_type).where(Merchant.id == merchant_id)
        )
    ).one_or_none()
    if row is None or row[0] is None or row[1] is None:
        raise NotFoundError("no logo", param="merchant")
    return Response(
        row[0],
        media_type=row[1],
        headers={**HEADERS, "Content-Security-Policy": "default-src 'none'", "Content-Disposition": "inline"},
    )
