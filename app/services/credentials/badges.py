"""Each certification's badge image: uploaded (PNG or SVG), or drawn from its name and the branding.

Every certification has one `BadgeImage` row, made in the same flush as the certification (a
`before_flush` listener; the migration made them for the certifications that existed), so public pages
never have to write. The row's random `token` names the badge in public URLs. Files live in the app's
storage (app/documents/storage.py): an upload under `badges/<token>-<random>.png|svg`, a generated PNG
under a key derived from what it shows (name, colour, logo), so a rename or a new logo draws it again and
nothing has to be invalidated.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.credentials import badge_images
from app.documents.storage import StorageError, get_storage
from app.extensions import db
from app.models import Certification
from app.models.badge import BadgeImage
from app.services import audit, organisation
from app.services.errors import ValidationError
from app.services.messaging.outbox import external_url

MAX_TOKEN = 32


@dataclass(frozen=True)
class Picture:
    """A badge file ready to serve: bytes, content type and a digest for the ETag."""

    data: bytes
    content_type: str

    @property
    def etag(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:24]


def new_token() -> str:
    return secrets.token_hex(16)  # 128 bits: not guessable, not derived from the id; safe in storage keys


@event.listens_for(Session, "before_flush")
def _badge_for_new_certifications(session: Session, flush_context, instances) -> None:
    """A new certification gets its badge row (generated, random token) in the same flush."""
    for obj in list(session.new):
        if isinstance(obj, Certification):
            session.add(BadgeImage(certification=obj, token=new_token(), source="generated", version=1))


def badge_of(certification_id: int) -> BadgeImage | None:
    return db.session.scalar(select(BadgeImage).where(BadgeImage.certification_id == certification_id))


def image_url(badge: BadgeImage) -> str:
    """The badge's public PNG address (the version makes a new upload a new address for caches)."""
    return external_url("credentials.badge_png", token=badge.token, v=badge.version)


def all_badges() -> list[BadgeImage]:
    """Every certification's badge row (one per certification: a small table)."""
    return list(db.session.scalars(select(BadgeImage)))


def by_token(token: str) -> BadgeImage | None:
    if not token or len(token) > MAX_TOKEN:
        return None
    return db.session.scalar(select(BadgeImage).where(BadgeImage.token == token))


def ensure_badge(certification: Certification) -> BadgeImage:
    """The certification's badge row, made now if it has none (rows inserted without the ORM)."""
    badge = badge_of(certification.id)
    if badge is None:
        badge = BadgeImage(certification_id=certification.id, token=new_token(), source="generated",
                           version=1)
        db.session.add(badge)
        db.session.flush()
    return badge


# --------------------------------------------------------------------------------------------
# Upload and removal
# --------------------------------------------------------------------------------------------


def upload(certification: Certification, data: bytes, *, actor: audit.Actor) -> list[str]:
    """Check and store an uploaded PNG or SVG as the certification's badge.

    Refused files raise ValidationError({"badge": why}) before anything is stored. Returns the storage
    keys of the files the badge no longer uses, for `discard` after the commit."""
    try:
        checked = badge_images.check_upload(data or b"")
    except badge_images.BadgeImageError as exc:
        raise ValidationError({"badge": str(exc)}) from None
    badge = ensure_badge(certification)
    stem = f"badges/{badge.token}-{secrets.token_hex(6)}"
    stored: list[str] = []
    try:
        _put(f"{stem}.png", checked.png, "image/png", stored)
        if checked.svg is not None:
            _put(f"{stem}.svg", checked.svg, "image/svg+xml", stored)
    except StorageError as exc:
        discard(stored)
        raise ValidationError({"badge": f"The image could not be stored: {exc}"}) from exc
    obsolete = [key for key in (badge.png_key, badge.svg_key) if key]
    badge.source = checked.kind
    badge.png_key = f"{stem}.png"
    badge.svg_key = f"{stem}.svg" if checked.svg is not None else None
    badge.version = (badge.version or 0) + 1
    db.session.flush()
    audit.record(actor, "certification.badge_uploaded", "certification", certification.id,
                 f"Badge image uploaded for {certification.name} ({checked.kind.upper()})",
                 kind=checked.kind, bytes=len(data))
    return obsolete


def _put(key: str, data: bytes, content_type: str, stored: list[str]) -> None:
    get_storage().put(key, data, content_type)
    stored.append(key)


def remove(certification: Certification, *, actor: audit.Actor) -> list[str]:
    """Back to the generated badge. Returns the keys to `discard` after the commit."""
    badge = ensure_badge(certification)
    obsolete = [key for key in (badge.png_key, badge.svg_key) if key]
    if badge.source == "generated":
        return []
    badge.source, badge.png_key, badge.svg_key = "generated", None, None
    badge.version = (badge.version or 0) + 1
    db.session.flush()
    audit.record(actor, "certification.badge_removed", "certification", certification.id,
                 f"Badge image removed for {certification.name}: the generated badge is used")
    return obsolete


def discard(keys: list[str]) -> None:
    """Best-effort removal of files nobody uses any more (after the commit that stopped using them)."""
    for key in keys:
        try:
            get_storage().delete(key)
        except StorageError as exc:
            current_app.logger.warning("could not delete %s: %s", key, exc)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def png(badge: BadgeImage) -> Picture:
    """The badge as PNG: the upload (or the SVG's PNG copy), else the generated one."""
    if badge.png_key:
        try:
            return Picture(get_storage().read(badge.png_key), "image/png")
        except StorageError as exc:  # a lost file: the generated badge stands in, and we say so
            current_app.logger.warning("badge file %s is missing: %s", badge.png_key, exc)
    return Picture(_generated(badge), "image/png")


def svg(badge: BadgeImage) -> Picture | None:
    if not badge.svg_key:
        return None
    try:
        return Picture(get_storage().read(badge.svg_key), "image/svg+xml")
    except StorageError:
        return None


def _generated(badge: BadgeImage) -> bytes:
    """Drawn once per look (name, colour, logo) and kept in storage; drawn again when the look changes."""
    certification = db.session.get(Certification, badge.certification_id)
    brand = organisation.branding()
    name = certification.name if certification is not None else "Badge"
    look = hashlib.sha256(f"{name}\x00{brand.colour}\x00{brand.logo_url or ''}".encode()).hexdigest()[:16]
    key = f"badges/generated/{badge.token}-{look}.png"
    storage = get_storage()
    try:
        return storage.read(key)
    except StorageError:
        pass
    logo = organisation.read_logo() if brand.logo_url else None
    data = badge_images.draw_badge(name, brand.colour, logo)
    try:
        storage.put(key, data, "image/png")
    except StorageError as exc:  # served all the same; drawn again next time
        current_app.logger.warning("could not keep the generated badge %s: %s", key, exc)
    return data


def describe(badge: BadgeImage | None) -> str:
    """How the admin sees where the badge comes from."""
    if badge is None or badge.source == "generated":
        return "Generated from the certification's name and your branding"
    return "Uploaded SVG" if badge.source == "svg" else "Uploaded PNG"
