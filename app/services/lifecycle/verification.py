"""Public verification of certificates by code, or by serial + holder surname."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import aliased

from app.database import utcnow
from app.extensions import db
from app.models import BadgeImage, Certificate, Certification, Course
from app.models.catalog import certification_courses
from app.services.fields import isodate
from app.services.lifecycle import generations
from app.services.lifecycle.certificates import chain, link_chain

MAX_CODE = 64


# What a verifier may see, and what links a chain: no other column is read for a verify answer.
# The certification's minimum score comes in the same statement (snapshots do not keep it); `public` and
# `pdf_key` decide whether the page shows the picture and the PDF.
PUBLIC_COLUMNS = (Certificate.id, Certificate.code, Certificate.serial, Certificate.snapshot,
                  Certificate.issued_at, Certificate.expires_at, Certificate.renewal_opens_at,
                  Certificate.revoked_at, Certificate.revoke_reason, Certificate.renewed_from_id,
                  Certificate.public, Certificate.pdf_key, Certificate.certification_id, Certificate.reissues,
                  Certificate.user_id, Certification.min_score,
                  # the certification's badge image (app/services/credentials/badges.py), shown small
                  BadgeImage.token.label("badge_token"), BadgeImage.version.label("badge_version"))


# What a verify answer shows: a commit that inserts or deletes a certificate (a renewal joins a chain) or
# changes one of these bumps the "verify" generation, so cached answers everywhere go stale at once.
GENERATION = "verify"
generations.track(GENERATION, {"certificates": frozenset({
    "code", "serial", "snapshot", "issued_at", "expires_at", "renewal_opens_at", "revoked_at",
    "revoke_reason", "renewed_from_id", "public", "pdf_key", "user_id", "certification_id", "reissues"}),
    # The page carries the school's name, logo and colour (app/services/organisation.py).
    "organisation_settings": generations.ANY,
    # and the certification's badge (app/services/credentials/badges.py).
    "badge_images": generations.ANY})


def generation() -> int:
    """The current "verify" generation (raises redis.RedisError when Redis is unreachable)."""
    return generations.current(GENERATION)


@dataclass(frozen=True)
class Answer:
    """A verify answer: `data` (None for an unknown code), and `version`, which changes whenever the
    answer does (revoked, reinstated, expiring, expired, renewed): the page's ETag."""

    data: dict | None
    version: str
    certificate_id: int | None
    public: bool = False  # the holder shows the picture and the PDF (never while revoked)
    pdf_key: str | None = None
    holder_id: int | None = None  # not shown: lets the holder's own (uncached) page offer LinkedIn
    badge: tuple[str, int] | None = None  # the badge image's (token, version), for its URL


def lookup(code: str) -> Certificate | None:
    """The certificate with this verification code, or None. One indexed query either way (same cost)."""
    return db.session.scalar(select(Certificate).where(Certificate.code == _bounded(code)))


def is_public(row) -> bool:
    return bool(row.public) and row.revoked_at is None


def _bounded(code: str | None) -> str:
    # An over-long code still runs the same query (on a value that cannot match): a miss must not be
    # distinguishable from a hit by timing.
    # A NUL (from a path: /verify/%00) cannot be sent to PostgreSQL; "!" is in no code (URL-safe base64),
    # so the same query runs on a value that cannot match.
    return (code or "").replace("\x00", "!")[:MAX_CODE]


@cache
def _chain_by_code() -> Select:
    """Built once: composing the statement costs more CPU than running it (the page is hit hard)."""
    target = aliased(Certificate)
    return (select(*PUBLIC_COLUMNS).select_from(Certificate)
            .join(target, (target.user_id == Certificate.user_id)
                  & (target.certification_id == Certificate.certification_id))
            .outerjoin(Certification, Certification.id == Certificate.certification_id)
            .outerjoin(BadgeImage, BadgeImage.certification_id == Certificate.certification_id)
            .where(target.code == bindparam("code")))


def verify(code: str, now: datetime | None = None) -> Answer:
    """The public answer for a code in ONE indexed statement (Core columns, no ORM objects).

    The certificate and its renewal chain come together: the unique code index finds the target, the
    (user, certification, cycle) index its siblings. A miss gets no rows and builds the same data on
    a stand-in row, so a hit and a miss do the same work.
    """
    now, code = now or utcnow(), _bounded(code)
    rows = db.session.execute(_chain_by_code(), {"code": code}).all()
    found = next((r for r in rows if r.code == code), None)
    row = found or _MISSING
    data = _public_data(row, rows, now)
    if found is not None and not data["courses"]:
        data["courses"] = required_courses(found.certification_id)  # issued by hand: no completions
    badge = (row.badge_token, row.badge_version) if row.badge_token else None
    media = {"public": is_public(row), "pdf": row.pdf_key, "badge": badge}
    version = version_of({**data, **media})  # computed for a miss too: the same work
    if found is None:
        return Answer(None, "missing", None)
    return Answer(data, version, found.id, media["public"], found.pdf_key, found.user_id, badge)


def required_courses(certification_id: int | None) -> list[dict]:
    """The certification's current courses: what a certificate issued by hand (whose snapshot lists no
    completions) stands for."""
    if certification_id is None:
        return []
    rows = db.session.execute(select(Course.code, Course.title).join(
        certification_courses, certification_courses.c.course_id == Course.id)
        .where(certification_courses.c.certification_id == certification_id).order_by(Course.code))
    return [{"code": code, "title": title} for code, title in rows]


def version_of(data: dict) -> str:
    """A short digest of a public answer: it changes exactly when what a verifier sees changes."""
    digest = hashlib.sha1(json.dumps(data, sort_keys=True, default=str).encode(), usedforsecurity=False)
    return digest.hexdigest()[:20]


class _Missing:
    """A stand-in row for an unknown code (the columns of PUBLIC_COLUMNS, all empty)."""

    id = code = serial = expires_at = renewal_opens_at = revoked_at = revoke_reason = renewed_from_id = None
    public = pdf_key = certification_id = min_score = user_id = badge_token = badge_version = None
    snapshot: dict = {}
    reissues: list = []
    issued_at = None


_MISSING = _Missing()


def verification_data(cert: Certificate, now: datetime | None = None) -> dict:
    """What a verifier may see: {code, serial, holder, certification, description, issuer, signatory_name,
    signatory_title, issued_at, expires_at, status, revoked_at, revoke_reason, courses, min_score,
    chain: [{serial, issued_at, status, code}]}. From the frozen snapshot (the minimum score from the
    certification: snapshots do not keep it; a certificate issued by hand lists the certification's
    courses)."""
    now = now or utcnow()
    data = _public_data(cert, chain(cert), now)
    certification = cert.certification if cert.certification_id else None
    data["min_score"] = certification.min_score if certification is not None else None
    if not data["courses"] and certification is not None:
        data["courses"] = [{"code": c.code, "title": c.title} for c in certification.courses]
    return data


def _status(row, now: datetime) -> str:
    # The model's rule, applied to a Core row as well (it reads only the date and revocation columns).
    return Certificate.status_at(row, now)


def _public_data(cert, siblings: Sequence, now: datetime) -> dict:
    snap = cert.snapshot or {}
    return {
        "code": cert.code, "serial": cert.serial, "holder": snap.get("holder_name", ""),
        "certification": snap.get("certification_name", ""),
        "description": snap.get("certification_description", ""),
        "issuer": snap.get("issuer_name", ""), "signatory_name": snap.get("signatory_name", ""),
        "signatory_title": snap.get("signatory_title", ""),
        "issued_at": isodate(cert.issued_at), "expires_at": isodate(cert.expires_at),
        "status": _status(cert, now), "revoked_at": isodate(cert.revoked_at),
        "revoke_reason": cert.revoke_reason,
        "courses": [{"code": c.get("code"), "title": c.get("title")} for c in snap.get("courses", [])],
        "min_score": getattr(cert, "min_score", None),
        # Corrections (corrections.py), oldest first: "Reissued on ... (name corrected)".
        "reissues": [{"on": r.get("on"), "summary": r.get("summary")} for r in (cert.reissues or [])],
        "chain": [{"serial": c.serial, "issued_at": isodate(c.issued_at), "status": _status(c, now),
                   "code": c.code} for c in link_chain(cert, siblings)],
    }


def find_by_serial_and_surname(serial: str, surname: str) -> Certificate | None:
    """Case-insensitive: the surname is the last word of the holder name in the snapshot."""
    serial, surname = (serial or "").strip().upper()[:MAX_CODE], (surname or "").strip().casefold()
    cert = db.session.scalar(select(Certificate).where(func.upper(Certificate.serial) == serial))
    if cert is None or not surname:
        return None
    words = str((cert.snapshot or {}).get("holder_name", "")).split()
    return cert if words and words[-1].casefold() == surname else None
