"""What each role in a merchant account may do: the one table every dashboard action is checked against."""

from __future__ import annotations

from enum import StrEnum

from sluice.models.users import Role
from sluice.users.errors import RoleForbiddenError


class Permission(StrEnum):
    view = "view"  # overview, payments, refunds, webhooks, reports (read only)
    capture = "payments.capture"
    cancel = "payments.cancel"
    refund = "refunds.create"
    webhooks = "webhooks.manage"
    keys = "keys.manage"
    team = "team.manage"
    settings = "settings.manage"
    audit = "audit.read"


_ALL = frozenset(Permission)
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.owner: _ALL,
    Role.admin: _ALL,
    Role.developer: frozenset({Permission.view, Permission.webhooks, Permission.keys}),
    Role.support: frozenset({Permission.view, Permission.cancel, Permission.refund}),
    Role.analyst: frozenset({Permission.view}),
}
ROLE_DESCRIPTIONS: dict[Role, str] = {
    Role.owner: "everything, including managing owners",
    Role.admin: "everything except changing or removing owners",
    Role.developer: "API keys and webhooks; read everything else",
    Role.support: "refunds and cancellations; read everything else",
    Role.analyst: "read only",
}


def allows(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[Role(role)]


def require(role: Role, permission: Permission) -> None:
    """Raises RoleForbiddenError unless `role` has `permission`."""
    if not allows(role, permission):
        raise RoleForbiddenError(f"the {Role(role).value} role may not do this ({permission.value})")
