"""Errors of signing in and of acting as a member of an account."""

from __future__ import annotations

from sluice.errors import AuthenticationError, PermissionDeniedError, RateLimitError, SluiceError


class LoginFailedError(AuthenticationError):
    """Raised when an email and password (or a second factor) do not match; never says which."""

    code = "login_failed"


class AccountLockedError(RateLimitError):
    """Raised when a user's account is locked after too many failed sign-ins, or an address sent too
    many; `retry_after` says when to try again."""

    code = "login_locked"


class RoleForbiddenError(PermissionDeniedError):
    """Raised when a member's role does not allow an action (checked on the server for every request)."""

    code = "role_forbidden"


class InvalidTokenError(SluiceError, ValueError):
    """Raised when a password-reset or invitation link is malformed, forged, expired or already used."""

    code = "invalid_token"
    error_type = "invalid_request_error"
    http_status = 400
