"""SSRF guard for webhook URLs.

Two checks, both needed:
- `check_url` when an endpoint is created or changed: scheme (https only in live mode), no user
  info, a port from 1 to 65535, no IP address in a non-standard form (`2130706433`, `0177.0.0.1`,
  `0x7f.1`), and every address the host resolves to must be public. The host is normalised first
  (IDNA with UTS #46 mapping, which includes NFKC: `２１３０７０６４３３`, `0177。0。0。1` and `①②⑦.0.0.1`
  become the ASCII they stand for), every check looks at the normalised host, and the normalised URL
  is what is stored and called;
- at send time (sluice/webhooks/sender.py `GuardedResolver`): the HTTP client's resolver is the
  guard, and the socket goes to an address it has just resolved and checked, so a DNS answer that
  changes between the check and the connect (rebinding) cannot reach a private address: there is
  no second lookup.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import idna

from sluice.errors import InvalidRequestError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: host, port -> the addresses the host resolves to.
Resolver = Callable[[str, int], Awaitable[list[str]]]

_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
MAX_URL_LENGTH = 2048
#: Seconds a DNS lookup may take (the API checks URLs inside a request).
RESOLVE_TIMEOUT = 5.0


class WebhookUrlError(InvalidRequestError):
    """Raised when a webhook URL is malformed or points at an address Sluice refuses to call."""

    code = "url_invalid"

    def __init__(self, message: str, *, code: str = "url_invalid") -> None:
        super().__init__(message, param="url", code=code)


class BlockedAddressError(WebhookUrlError):
    """Raised when a webhook host is, or resolves to, a loopback/private/link-local/… address."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="url_forbidden")


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address of `host` from the system resolver (A and AAAA)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def blocked_reason(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why Sluice will not connect to `ip`, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        if ip.scope_id:
            return "a scoped IPv6 address"
        embedded = ip.sixtofour or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if ip.teredo is not None:
            return "a Teredo tunnel address"
        if embedded is not None:
            inner = blocked_reason(embedded, allow_private=allow_private)
            return f"a tunnel to {inner}" if inner else None
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if allow_private:
        if ip.is_loopback:  # ::1 sits in IPv6's reserved ::/8, but is as local as 127.0.0.1
            return None
        return "a reserved address" if ip.is_reserved else None
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "a non-public address"
    return None


def check_ip(address: str, *, allow_private: bool, host: str | None = None) -> IPAddress:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError as exc:
        raise BlockedAddressError(f"{address!r} is not an address Sluice can check") from exc
    reason = blocked_reason(ip, allow_private=allow_private)
    if reason is not None:
        shown = f"{host} resolves to {ip}" if host and host != str(ip) else str(ip)
        raise BlockedAddressError(f"webhook URLs must point at public addresses: {shown} is {reason}")
    return ip


def normalize_host(host: str) -> str:
    """The ASCII host a resolver would look up: IDNA 2008 with the UTS #46 mapping (case folding,
    NFKC, full-width and ideographic full stops), so that no check sees another name than the one
    that is connected to. IPv6 literals are only lower-cased."""
    if ":" in host:
        return host.lower()
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise WebhookUrlError(f"{host!r} is not a valid host name: {exc}") from exc


def normalize_url(url: str, *, livemode: bool) -> str:
    """`url` with its host normalised (see `normalize_host`) and checked syntactically (`parse_url`)."""
    _, host, _ = parse_url(url, livemode=livemode)
    parts = urlsplit(url)
    shown = f"[{host}]" if ":" in host else host
    netloc = shown if parts.port is None else f"{shown}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


def parse_url(url: str, *, livemode: bool) -> tuple[str, str, int]:
    """Syntactic checks; returns (scheme, normalised host, port). Raises WebhookUrlError."""
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlError(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise WebhookUrlError("the URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlError(f"not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookUrlError("webhook URLs are http:// or https://")
    if livemode and scheme != "https":
        raise WebhookUrlError("live-mode webhook URLs must use https://", code="url_insecure")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise WebhookUrlError("webhook URLs cannot carry user info (user:password@)")
    if port == 0:
        raise WebhookUrlError("port 0 is not a port a receiver can listen on")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise WebhookUrlError("the URL has no host")
    if "%" in host:
        raise BlockedAddressError("scoped IPv6 addresses are not allowed in webhook URLs")
    host = normalize_host(host).rstrip(".")
    if not host:
        raise WebhookUrlError("the URL has no host")
    labels = host.split(".")
    if all(_NUMERIC_LABEL.match(label) for label in labels):
        try:
            canonical = str(ipaddress.IPv4Address(host)) == host
        except ValueError:
            canonical = False
        if not canonical:
            raise BlockedAddressError(
                f"{host!r} is an IP address in a non-standard form (decimal, octal or hex); "
                "write it as a.b.c.d"
            )
    return scheme, host, port or (443 if scheme == "https" else 80)


async def check_url(
    url: str, *, livemode: bool, allow_private: bool, resolver: Resolver = system_resolver
) -> str:
    """Everything `parse_url` checks, plus: every address the host resolves to is allowed. Returns the
    normalised URL (`normalize_url`), the one to store and call."""
    _, host, port = parse_url(url, livemode=livemode)
    await resolve_checked(host, port, allow_private=allow_private, resolver=resolver)
    return normalize_url(url, livemode=livemode)


async def resolve_checked(
    host: str, port: int, *, allow_private: bool, resolver: Resolver = system_resolver
) -> str:
    """Resolves `host` once and returns an allowed address (see `resolve_checked_all`)."""
    return (await resolve_checked_all(host, port, allow_private=allow_private, resolver=resolver))[0]


async def resolve_checked_all(
    host: str, port: int, *, allow_private: bool, resolver: Resolver = system_resolver
) -> list[str]:
    """Resolves `host` once and returns its addresses, all allowed; refuses when *any* answer is
    blocked (a name that mixes public and private answers is treated as hostile)."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        check_ip(host, allow_private=allow_private)
        return [host]
    if not allow_private and (host == "localhost" or host.endswith(".localhost")):
        raise BlockedAddressError(f"{host} is a loopback name (RFC 6761)")
    try:
        addresses = await asyncio.wait_for(resolver(host, port), RESOLVE_TIMEOUT)
    except TimeoutError as exc:
        raise WebhookUrlError(f"resolving {host!r} timed out", code="url_unresolvable") from exc
    except (OSError, UnicodeError) as exc:
        raise WebhookUrlError(f"cannot resolve {host!r}: {exc}", code="url_unresolvable") from exc
    if not addresses:
        raise WebhookUrlError(f"{host!r} has no addresses", code="url_unresolvable")
    for address in addresses:
        check_ip(address, allow_private=allow_private, host=host)
    return addresses
