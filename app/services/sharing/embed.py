"""Embeddable badges: a small card other sites may frame, a status image, and the oEmbed answer.

Everything shows the certificate's *live* status (valid / expiring / expired / revoked) from the same
public answer as the verify page (`verification.verify`), so an embed never says more than the verify
page does to anyone holding the link. The oEmbed endpoint never fetches the URL it is given: it only
recognises our own addresses (the caller maps the path to a route) and answers from the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import escape

from app.services import organisation
from app.services.lifecycle import verification

STATUS_LABELS = {"valid": "valid", "expiring": "valid", "expired": "expired", "revoked": "revoked",
                 "missing": "not found"}
STATUS_COLOURS = {"valid": "#1f7a3d", "expiring": "#1f7a3d", "expired": "#6c757d", "revoked": "#b02a37",
                  "missing": "#6c757d"}
CARD_WIDTH, CARD_HEIGHT = 360, 150  # the iframe's size when the consumer sets no limit
MIN_WIDTH, MIN_HEIGHT = 120, 60
MAX_SVG_TEXT = 40
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Embed:
    """What a card or badge shows. `data` is None for an unknown code."""

    code: str
    data: dict | None
    version: str
    certificate_id: int | None

    @property
    def status(self) -> str:
        return self.data["status"] if self.data else "missing"


def lookup(code: str) -> Embed:
    """The live public answer for a verification code (one indexed query; a miss costs the same)."""
    answer = verification.verify(code)
    return Embed(code, answer.data, answer.version, answer.certificate_id)


def _svg_text(value: str, limit: int = MAX_SVG_TEXT) -> str:
    """One line for the image: no control characters (XML 1.0 forbids most), shortened, then escaped."""
    text = _CONTROL.sub("", value or "").strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return str(escape(text))


def _text_width(text: str) -> int:
    return 12 + int(6.6 * len(text))  # Verdana-ish 11 px: wide enough for most glyphs


def status_svg(embed: Embed) -> str:
    """A shields-style badge: the certification on the left, the live status on the right."""
    left_raw = embed.data["certification"] if embed.data else "Certificate"
    right_raw = STATUS_LABELS[embed.status]
    left, right = _svg_text(left_raw), _svg_text(right_raw)
    left_w = _text_width(_CONTROL.sub("", left_raw)[:MAX_SVG_TEXT])
    right_w = _text_width(right_raw)
    width = left_w + right_w
    colour = STATUS_COLOURS[embed.status]
    holder = _svg_text(embed.data["holder"], 80) if embed.data else ""
    title = f"{left}: {right}" + (f" ({holder})" if holder else "")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{title}"><title>{title}</title>'
        f'<rect width="{left_w}" height="20" fill="#343a40"/>'
        f'<rect x="{left_w}" width="{right_w}" height="20" fill="{colour}"/>'
        f'<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="6" y="14">{left}</text><text x="{left_w + 6}" y="14">{right}</text></g></svg>'
    )


class OEmbedError(Exception):
    """An oEmbed refusal with the HTTP status the spec asks for (400, 404 or 501)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def bounded_size(raw: str | None, default: int, minimum: int) -> int:
    """A consumer's maxwidth/maxheight: digits only; larger than ours means ours, smaller is honoured
    down to `minimum` (a card smaller than that cannot show anything)."""
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,12}", raw):
        raise OEmbedError(400, "maxwidth and maxheight must be whole numbers of pixels.")
    value = int(raw)
    if value < minimum:
        raise OEmbedError(404, f"No embed fits in less than {MIN_WIDTH} x {MIN_HEIGHT} pixels.")
    return min(value, default)


def certificate_oembed(embed: Embed, *, card_url: str, width: int, height: int) -> dict:
    """The oEmbed 1.0 "rich" answer for a certificate: an iframe of the card."""
    if embed.data is None:
        raise OEmbedError(404, "No certificate has this address.")
    branding = organisation.branding()
    title = f"{embed.data['certification']} — {embed.data['holder']}"
    html = (f'<iframe src="{escape(card_url)}" width="{width}" height="{height}" title="{escape(title)}" '
            f'loading="lazy" referrerpolicy="strict-origin-when-cross-origin" '
            f'sandbox="allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation" '
            f'frameborder="0"></iframe>')
    return {"version": "1.0", "type": "rich", "title": title, "html": html, "width": width,
            "height": height, "provider_name": branding.name, "provider_url": branding.absolute("/"),
            "cache_age": 300}


def profile_oembed(name: str, page_url: str) -> dict:
    """A public profile is a "link" (oEmbed 2.3.4.2): a title, no HTML to frame."""
    branding = organisation.branding()
    return {"version": "1.0", "type": "link", "title": f"{name} — certificates", "url": page_url,
            "provider_name": branding.name, "provider_url": branding.absolute("/"), "cache_age": 300}
