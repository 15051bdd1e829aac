"""The organisation's branding: name, logo, primary colour and a short "about" line.

Admins edit it on Admin › Settings; it is stored in one row (`organisation_settings`, id 1). Anything
left empty falls back to the environment (`ORG_NAME`) or the built-in defaults, so a fresh install
looks like before. Every page, public ones included, reads it through `branding()`: one small query by
primary key, at most once per request (memoised on `flask.g`). The colour reaches pages through
`/branding.css?v=<version>` (CSP forbids inline styles), the logo through `/branding/logo.png?v=<version>`;
both are cacheable for good because `version` goes up on every save.

Other domains use `branding().name` as the default issuer.
"""

from __future__ import annotations

import io
import re
import secrets
import warnings
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, has_request_context

from app.documents.storage import StorageError, get_storage
from app.extensions import db
from app.models.organisation import OrganisationSettings
from app.services import audit
from app.services.errors import ValidationError
from app.services.fields import check_fields, clean_text

SETTINGS_ID = 1
DEFAULT_COLOUR = "#1f5f4a"  # app.css's --laurel
MAX_NAME = 120
MAX_ABOUT = 200
MAX_LOGO_BYTES = 2 * 1024 * 1024  # as for template images (app/services/documents/designer.py)
MAX_LOGO_PIXELS = 25_000_000  # a decompression bomb is refused before it is decoded
LOGO_BOX = (800, 400)  # stored logos are re-encoded and shrunk to fit this box
MIN_CONTRAST = 4.5  # white text on the colour (buttons, the header): WCAG AA for normal text
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class Branding:
    name: str
    logo_url: str | None  # a path on this site ("/branding/logo.png?v=3"), or None
    colour: str  # "#rrggbb"
    about: str
    version: int = 0

    @property
    def stylesheet_url(self) -> str:
        return f"/branding.css?v={self.version}"

    def absolute(self, path: str | None) -> str | None:
        """An address for mail and Open Graph tags (BASE_URL + path)."""
        return current_app.config["BASE_URL"].rstrip("/") + path if path else None


def _row() -> OrganisationSettings | None:
    return db.session.get(OrganisationSettings, SETTINGS_ID)


def _from_row(row: OrganisationSettings | None) -> Branding:
    default_name = current_app.config.get("ORG_NAME") or "Laurel"
    if row is None:
        return Branding(default_name, None, DEFAULT_COLOUR, "", 0)
    logo = f"/branding/logo.png?v={row.version}" if row.logo_key else None
    return Branding(row.name or default_name, logo, row.colour or DEFAULT_COLOUR, row.about or "",
                    row.version)


def branding() -> Branding:
    """The current branding; one query per request at most (jobs ask the database each time)."""
    if not has_request_context():
        return _from_row(_row())
    cached = g.get("_branding")
    if cached is None:
        cached = g._branding = _from_row(_row())
    return cached


def forget_cached() -> None:
    if has_request_context():
        g.pop("_branding", None)


def current_values() -> dict[str, Any]:
    """What the settings form starts from (the stored values, not the fallbacks)."""
    row = _row()
    return {"name": row.name if row else "", "about": row.about if row else "",
            "colour": (row.colour if row else "") or DEFAULT_COLOUR}


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def contrast_with_white(colour: str) -> float:
    r, g_, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * _channel(r) + 0.7152 * _channel(g_) + 0.0722 * _channel(b)
    return 1.05 / (luminance + 0.05)


def clean_colour(value: object) -> str:
    """"#rrggbb", dark enough that white text on it stays readable."""
    text = clean_text(value, 7, label="a colour").lower() or DEFAULT_COLOUR
    if not _COLOUR.fullmatch(text):
        raise ValueError("Enter a colour as #rrggbb, for example #1f5f4a.")
    if contrast_with_white(text) < MIN_CONTRAST:
        raise ValueError("Choose a darker colour: white text on it would be hard to read "
                         f"(contrast {contrast_with_white(text):.1f}:1, at least {MIN_CONTRAST}:1 needed).")
    return text


def clean_logo(data: bytes) -> bytes:
    """A PNG or JPEG (by content) of at most 2 MB, re-encoded as a PNG no larger than LOGO_BOX.

    Re-encoding drops metadata and anything hidden after the image; a huge or malformed file is
    refused with a message, never decoded in full.
    """
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_LOGO_BYTES:
        raise ValueError(f"The logo is larger than {MAX_LOGO_BYTES // (1024 * 1024)} MB.")
    if not any(data.startswith(magic) for magic in LOGO_TYPES):
        raise ValueError("Only PNG and JPEG images are accepted (checked by content, not by the file name).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning: we check the size ourselves
            image = Image.open(io.BytesIO(data))
            if image.format not in LOGO_TYPES.values():
                raise ValueError("Only PNG and JPEG images are accepted.")
            width, height = image.size
            if width < 1 or height < 1 or width * height > MAX_LOGO_PIXELS:
                raise ValueError(f"The logo is {width}×{height} pixels; use a smaller image "
                                 "(up to 25 megapixels).")
            image.load()
            image = image.convert("RGBA")
            image.thumbnail(LOGO_BOX)
            out = io.BytesIO()
            image.save(out, format="PNG")
    except ValueError:
        raise
    except Image.DecompressionBombError as exc:
        raise ValueError("The logo has far too many pixels; use a smaller image "
                         "(up to 25 megapixels).") from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError("The logo could not be read as an image.") from exc
    return out.getvalue()


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    cleaned, errors = check_fields(values, {
        "name": lambda v: clean_text(v, MAX_NAME, required=True, label="the organisation's name"),
        "about": lambda v: clean_text(v, MAX_ABOUT),
        "colour": clean_colour,
    })
    if errors:
        raise ValidationError(errors)
    return cleaned


# --------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------


def update_branding(values: dict[str, Any], *, logo: bytes | None = None, remove_logo: bool = False,
                    actor: audit.Actor) -> str | None:
    """Save name, about, colour and optionally a new logo (or remove it). Returns the storage key of a
    logo nobody uses any more, for the caller to `discard_logo` after the commit."""
    cleaned = _checked(values)
    png = None
    if logo:
        try:
            png = clean_logo(logo)
        except ValueError as exc:
            raise ValidationError({"logo": str(exc)}) from None
    row = _row()
    if row is None:
        row = OrganisationSettings(id=SETTINGS_ID, version=0, logo_key=None)
        db.session.add(row)
    obsolete = None
    if png is not None:
        key = f"branding/logo-{secrets.token_hex(8)}.png"
        try:
            get_storage().put(key, png, "image/png")
        except StorageError as exc:
            raise ValidationError({"logo": f"The logo could not be stored: {exc}"}) from exc
        obsolete, row.logo_key = row.logo_key, key
    elif remove_logo:
        obsolete, row.logo_key = row.logo_key, None
    row.name, row.about, row.colour = cleaned["name"], cleaned.get("about", ""), cleaned["colour"]
    row.version = (row.version or 0) + 1
    db.session.flush()
    audit.record(actor, "organisation.branding_updated", "organisation", SETTINGS_ID,
                 f"Branding updated: {row.name}", name=row.name, colour=row.colour,
                 logo="new" if png else ("removed" if remove_logo and obsolete else "kept"))
    forget_cached()
    return obsolete


def discard_logo(key: str | None) -> None:
    """Best-effort removal of a replaced logo (after the commit that stopped using it)."""
    if key:
        try:
            get_storage().delete(key)
        except StorageError as exc:
            current_app.logger.warning("could not delete %s: %s", key, exc)


def read_logo() -> bytes | None:
    """The stored logo PNG, or None (no logo, or the file is gone)."""
    row = _row()
    if row is None or not row.logo_key:
        return None
    try:
        return get_storage().read(row.logo_key)
    except StorageError:
        return None


def stylesheet(brand: Branding | None = None) -> str:
    """The CSS custom properties every page's stylesheet (static/css/app.css) builds on."""
    colour = (brand or branding()).colour
    return (f":root {{ --laurel: {colour}; --laurel-dark: {_darker(colour)}; }}\n"
            ".navbar.bg-laurel, .public-header { background: var(--laurel); }\n")


def _darker(colour: str, factor: float = 0.8) -> str:
    r, g_, b = (int(int(colour[i:i + 2], 16) * factor) for i in (1, 3, 5))
    return f"#{r:02x}{g_:02x}{b:02x}"


def email_context() -> dict[str, Any]:
    """What templates/emails/_layout.html shows: the name, colour, logo (absolute URL) and about line."""
    brand = branding()
    return {"org_name": brand.name,
            "brand": {"name": brand.name, "colour": brand.colour, "about": brand.about,
                      "logo_url": brand.absolute(brand.logo_url)}}
