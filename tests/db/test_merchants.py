"""Merchants and API keys against real PostgreSQL."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from sluice.clock import utcnow
from sluice.errors import AuthenticationError, InvalidRequestError, NotFoundError
from sluice.merchants import keys
from sluice.merchants.service import merchant_service
from sluice.models.merchant import ApiKey, ApiKeyKind, Mode

pytestmark = pytest.mark.db


@pytest.fixture
async def session(db_url):
    from sluice.config import to_asyncpg_url
    from sluice.db.session import make_engine, make_sessionmaker

    engine = make_engine(to_asyncpg_url(db_url), pool_size=1)
    async with make_sessionmaker(engine)() as s:
        yield s
        await s.commit()
    await engine.dispose()


async def test_key_is_stored_only_as_hash_with_visible_prefix(session):
    m = await merchant_service.create(session, "Acme")
    issued = await merchant_service.issue_key(session, m.id, ApiKeyKind.secret, Mode.test)
    assert issued.secret.startswith("sk_test_") and len(issued.secret) == 40
    row = (await session.execute(select(ApiKey).where(ApiKey.id == issued.api_key.id))).scalar_one()
    assert row.key_hash == keys.hash_key(issued.secret)
    assert issued.secret not in (row.prefix, row.key_hash)
    assert row.prefix == issued.secret[:12]


async def test_authenticate_returns_merchant_kind_and_mode(session):
    m = await merchant_service.create(session, "Acme")
    issued = await merchant_service.issue_key(session, m.id, ApiKeyKind.publishable, Mode.live)
    principal = await merchant_service.authenticate(session, issued.secret)
    assert (principal.merchant_id, principal.kind, principal.mode) == (
        m.id,
        ApiKeyKind.publishable,
        Mode.live,
    )
    assert principal.livemode is True


@pytest.mark.parametrize("bad", ["", "sk_test_short", "xx_test_" + "a" * 32, "sk_prod_" + "a" * 32])
async def test_malformed_key_is_rejected(session, bad):
    with pytest.raises(AuthenticationError, match="malformed"):
        await merchant_service.authenticate(session, bad)


async def test_unknown_key_is_rejected(session):
    with pytest.raises(AuthenticationError, match="invalid API key"):
        await merchant_service.authenticate(session, keys.generate(ApiKeyKind.secret, Mode.test))


async def test_revoked_key_is_rejected(session):
    m = await merchant_service.create(session, "Acme")
    issued = await merchant_service.issue_key(session, m.id, ApiKeyKind.secret, Mode.test)
    await merchant_service.revoke(session, m.id, issued.api_key.id)
    with pytest.raises(AuthenticationError) as info:
        await merchant_service.authenticate(session, issued.secret)
    assert info.value.code == "api_key_revoked"


async def test_roll_keeps_old_key_during_grace_then_only_new(session):
    m = await merchant_service.create(session, "Acme")
    old = await merchant_service.issue_key(session, m.id, ApiKeyKind.secret, Mode.test)
    new = await merchant_service.roll(session, m.id, old.api_key.id, grace=timedelta(hours=1))
    assert (await merchant_service.authenticate(session, old.secret)).api_key_id == old.api_key.id
    assert (await merchant_service.authenticate(session, new.secret)).api_key_id == new.api_key.id
    await merchant_service.revoke(session, m.id, old.api_key.id, at=utcnow() - timedelta(seconds=1))
    with pytest.raises(AuthenticationError):
        await merchant_service.authenticate(session, old.secret)


async def test_another_merchants_key_cannot_be_revoked(session):
    a = await merchant_service.create(session, "Acme")
    b = await merchant_service.create(session, "Globex")
    issued = await merchant_service.issue_key(session, a.id, ApiKeyKind.secret, Mode.test)
    with pytest.raises(NotFoundError):
        await merchant_service.revoke(session, b.id, issued.api_key.id)
    assert (await merchant_service.authenticate(session, issued.secret)).merchant_id == a.id


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("0x52908400098527886E0F7030069857D2E4169EE7", True),
        ("0x52908400098527886e0f7030069857d2e4169ee7", True),
        ("0x52908400098527886E0F7030069857D2E4169ee7", False),  # mixed case, bad checksum
        ("0x1234", False),
    ],
)
async def test_payout_address_checksum(session, address, ok):
    if ok:
        m = await merchant_service.create(session, "Acme", address)
        assert m.payout_address == "0x52908400098527886E0F7030069857D2E4169EE7"
    else:
        with pytest.raises(InvalidRequestError) as info:
            await merchant_service.create(session, "Acme", address)
        assert info.value.param == "payout_address"
