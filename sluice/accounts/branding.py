"""Checkout branding: the merchant's accent colour and logo, checked once when saved.

The colour must keep white button text readable (WCAG AA, 4.5:1), so a merchant cannot make the
payer's pay button illegible; the logo is a small PNG, JPEG or WebP recognised by its bytes (never
SVG, which can carry script), served from our own origin so the checkout's CSP stays strict.
"""

from __future__ import annotations

import re

from sluice.errors import InvalidRequestError

MAX_LOGO_BYTES = 100_000
MIN_CONTRAST = 4.5
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def contrast_with_white(color: str) -> float:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)
    return 1.05 / (luminance + 0.05)


def check_color(color: str) -> str:
    color = color.strip()
    if not _COLOR.match(color):
        raise InvalidRequestError("the accent colour is #rrggbb", param="brand_color")
    ratio = contrast_with_white(color)
    if ratio < MIN_CONTRAST:
        raise InvalidRequestError(
            f"{color} is too light for white text on the pay button (contrast {ratio:.1f}:1, needs "
            f"{MIN_CONTRAST}:1); choose a darker colour",
            param="brand_color",
            code="color_contrast",
        )
    return color.lower()


def logo_type(data: bytes) -> str:
    """The image type of an uploaded logo, from its first bytes."""
    if not data:
        raise InvalidRequestError("the logo file is empty", param="logo")
    if len(data) > MAX_LOGO_BYTES:
        raise InvalidRequestError(f"the logo is larger than {MAX_LOGO_BYTES // 1000} KB", param="logo")
    for signature, media_type in _SIGNATURES:
        if data.startswith(signature):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise InvalidRequestError("the logo must be a PNG, JPEG or WebP image", param="logo", code="logo_type")


def brand_css(color: str | None) -> str:
    """The stylesheet the checkout loads after its own: the accent in light and dark schemes."""
    if color is None:
        return "/* no branding */\n"
    rule = f":root {{ --accent: {color}; }}"
    return f"{rule}\n@media (prefers-color-scheme: dark) {{ {rule} }}\n"
