"""Public learner profiles: `/p/<handle>` lists the certificates a learner made public.

Opt-in: nothing is listed until the learner chooses a handle and switches the profile on. The page shows
only certificates the holder made public (the sharing `public` flag) and never a revoked one; an expired
one is listed, marked as expired. A disabled profile and an unknown handle answer the same 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Certificate, PublicProfile, User
from app.services import audit
from app.services.errors import ValidationError
from app.services.fields import clean_text

HANDLE_MIN, HANDLE_MAX = 3, 30
HEADLINE_MAX = 120
_HANDLE = re.compile(r"[a-z0-9-]+")
# Words that look like the site speaking, or like another person's page: refused as handles.
RESERVED = frozenset({
    "admin", "administrator", "api", "app", "about", "account", "accounts", "badges", "certificate",
    "certificates", "credentials", "dashboard", "embed", "exchanges", "help", "issuer", "laurel", "login",
    "logout", "me", "new", "null", "oembed", "official", "p", "privacy", "profile", "profiles", "root",
    "security", "settings", "static", "staff", "support", "system", "terms", "undefined", "verify",
    "wallet", "www",
})


def clean_handle(raw: object) -> str:
    """3-30 characters of a-z, 0-9 and "-" (upper case is folded), not a reserved word. Raises ValueError."""
    handle = clean_text(raw, 200, required=True, label="a handle").lower()
    if len(handle) < HANDLE_MIN or len(handle) > HANDLE_MAX:
        raise ValueError(f"Between {HANDLE_MIN} and {HANDLE_MAX} characters.")
    if not _HANDLE.fullmatch(handle):
        raise ValueError("Use only letters a-z, digits and hyphens.")
    if handle.startswith("-") or handle.endswith("-") or "--" in handle:
        raise ValueError("A hyphen goes between letters or digits.")
    if handle in RESERVED:
        raise ValueError("This handle is reserved. Choose another one.")
    return handle


def profile_of(user: User) -> PublicProfile | None:
    return db.session.scalar(select(PublicProfile).where(PublicProfile.user_id == user.id))


def _taken(handle: str, user: User) -> bool:
    owner = db.session.scalar(select(PublicProfile.user_id).where(func.lower(PublicProfile.handle) == handle))
    return owner is not None and owner != user.id


def save_profile(user: User, handle: object, headline: object = "", enabled: bool = True) -> PublicProfile:
    """Create or change the user's own profile. Bad input -> ValidationError next to the field."""
    errors: dict[str, str] = {}
    try:
        clean = clean_handle(handle)
    except ValueError as exc:
        errors["handle"], clean = str(exc), ""
    try:
        text = clean_text(headline, HEADLINE_MAX) or None
    except ValueError as exc:
        errors["headline"], text = str(exc), None
    if clean and "handle" not in errors and _taken(clean, user):
        errors["handle"] = "Someone else has this handle. Choose another one."
    if errors:
        raise ValidationError(errors)
    profile = profile_of(user)
    before = None if profile is None else (profile.handle, profile.enabled, profile.headline)
    if profile is None:
        profile = PublicProfile(user_id=user.id, handle=clean)
        db.session.add(profile)
    profile.handle, profile.headline, profile.enabled = clean, text, bool(enabled)
    try:
        with db.session.begin_nested():  # two people claiming one handle at once: the index decides
            db.session.flush()
    except IntegrityError:
        raise ValidationError({"handle": "Someone else has this handle. Choose another one."}) from None
    if before != (profile.handle, profile.enabled, profile.headline):
        state = "enabled" if profile.enabled else "disabled"
        audit.record(user, f"profile.{state}" if before is None or before[1] != profile.enabled
                     else "profile.updated", "user", user.id, f"public profile /p/{clean} {state}",
                     handle=clean, enabled=profile.enabled)
    return profile


@dataclass(frozen=True)
class PublicPage:
    profile: PublicProfile
    name: str
    certificates: list[Certificate]


def public_page(handle: str) -> PublicPage | None:
    """The enabled profile behind a handle and its public, unrevoked certificates, newest first; None for
    a disabled or unknown handle (the same answer)."""
    handle = (handle or "")[:HANDLE_MAX + 1].lower()
    if not _HANDLE.fullmatch(handle):  # cannot exist (and a NUL would upset PostgreSQL): no query
        return None
    profile = db.session.scalar(select(PublicProfile).options(joinedload(PublicProfile.user))
                                .where(PublicProfile.handle == handle, PublicProfile.enabled.is_(True)))
    if profile is None or not profile.user.active:
        return None
    certs = list(db.session.scalars(
        select(Certificate).options(joinedload(Certificate.certification))
        .where(Certificate.user_id == profile.user_id, Certificate.public.is_(True),
               Certificate.revoked_at.is_(None))
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())))
    return PublicPage(profile, profile.user.name, certs)
