"""What a data export holds (docs/privacy.md promises exactly this): `data.json` with one section per
kind of record about the person, their certificates' PDFs and their signed Open Badges 3.0 credentials.
"""

from __future__ import annotations

import contextlib
import json
import zipfile
from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_, select

from app.documents.storage import StorageError, get_storage
from app.extensions import db
from app.models import (
    ApiToken,
    AuditEvent,
    Certificate,
    Completion,
    EngagementCounter,
    Enrollment,
    Notification,
    OutboxEmail,
    Passkey,
    PublicProfile,
    TotpFactor,
    User,
    UserIdentity,
    UserSession,
)
from app.services.credentials import open_badges
from app.services.fields import isodate
from app.services.lifecycle.certificates import verify_url

#: The sections of data.json, in order (the docs list the same).
SECTIONS = ("profile", "enrollments", "completions", "certificates", "shares", "engagement",
            "notifications", "mail", "sessions", "sign_in", "api_tokens", "audit")


def _iso(value: Any) -> Any:
    return isodate(value) if hasattr(value, "isoformat") else value


def _rows(objects: Iterable[Any], columns: tuple[str, ...]) -> list[dict]:
    return [{c: _iso(getattr(o, c)) for c in columns} for o in objects]


def _all(stmt) -> list:  # type: ignore[no-untyped-def]
    return list(db.session.scalars(stmt))


def certificates_of(user: User) -> list[Certificate]:
    return _all(select(Certificate).where(Certificate.user_id == user.id).order_by(Certificate.id))


def collect(user: User) -> dict[str, Any]:
    """Everything Laurel holds about `user`, as plain JSON values."""
    certs = certificates_of(user)
    cert_ids = [c.id for c in certs]
    profile = db.session.scalar(select(PublicProfile).where(PublicProfile.user_id == user.id))
    enrollments = _all(select(Enrollment).where(Enrollment.user_id == user.id).order_by(Enrollment.id))
    return {
        "profile": {
            "id": user.id, "email": user.email, "name": user.name, "role": user.role,
            "department": user.department, "active": user.active, "reminder_emails": user.reminder_emails,
            "created_at": _iso(user.created_at), "last_login_at": _iso(user.last_login_at),
            "public_profile": None if profile is None else {
                "handle": profile.handle, "enabled": profile.enabled, "headline": profile.headline},
        },
        "enrollments": [{"course_code": e.course.code, "course_title": e.course.title, "status": e.status,
                         "progress": e.progress, "score": e.score, "completed_at": _iso(e.completed_at),
                         "source": e.source, "created_at": _iso(e.created_at)} for e in enrollments],
        "completions": _rows(_all(select(Completion).where(Completion.user_id == user.id)
                                  .order_by(Completion.id)),
                             ("course_id", "completed_at", "score", "source", "recorded_at")),
        "certificates": [{"serial": c.serial, "code": c.code, "certification": c.certification.name,
                          "status": c.status, "issued_at": _iso(c.issued_at),
                          "expires_at": _iso(c.expires_at),
                          "revoked_at": _iso(c.revoked_at), "revoke_reason": c.revoke_reason,
                          "verify_url": verify_url(c), "snapshot": c.snapshot,
                          "files": _file_names(c)} for c in certs],
        "shares": [{"serial": c.serial, "public": c.public} for c in certs],
        "engagement": [{"serial": next(c.serial for c in certs if c.id == row.certificate_id),
                        "kind": row.kind, "day": _iso(row.day), "count": row.count}
                       for row in _all(select(EngagementCounter).where(
                           EngagementCounter.certificate_id.in_(cert_ids)).order_by(EngagementCounter.id))],
        "notifications": _rows(_all(select(Notification).where(Notification.user_id == user.id)
                                    .order_by(Notification.id)),
                               ("kind", "title", "body", "link", "created_at", "read_at")),
        "mail": _rows(_all(select(OutboxEmail).where(
            or_(OutboxEmail.user_id == user.id, OutboxEmail.to == user.email)).order_by(OutboxEmail.id)),
                      ("to", "subject", "template", "status", "created_at", "sent_at", "text_body")),
        "sessions": _rows(_all(select(UserSession).where(UserSession.user_id == user.id)
                               .order_by(UserSession.id)),
                          ("created_at", "last_seen_at", "ip", "device", "method", "ended_at",
                           "ended_reason")),
        "sign_in": {
            "authenticator_app": db.session.scalar(
                select(TotpFactor.confirmed_at).where(TotpFactor.user_id == user.id)) is not None,
            "passkeys": _rows(_all(select(Passkey).where(Passkey.user_id == user.id)),
                              ("name", "created_at", "last_used_at")),
            "single_sign_on": _rows(_all(select(UserIdentity).where(UserIdentity.user_id == user.id)),
                                    ("provider_key", "subject", "email", "created_at", "last_login_at")),
        },
        "api_tokens": _rows(_all(select(ApiToken).where(ApiToken.user_id == user.id)),
                            ("name", "prefix", "created_at", "last_used_at", "revoked_at")),
        "audit": _rows(_all(select(AuditEvent).where(about(user, cert_ids)).order_by(AuditEvent.id)),
                       ("at", "actor_label", "action", "subject_type", "subject_id", "summary", "data")),
    }


def about(user: User, cert_ids: list[int]):  # type: ignore[no-untyped-def]
    """SQL: the audit rows by or about `user` (as actor, as the user, or about one of their certificates)."""
    return or_(AuditEvent.actor_id == user.id,
               (AuditEvent.subject_type == "user") & (AuditEvent.subject_id == str(user.id)),
               (AuditEvent.subject_type == "certificate")
               & AuditEvent.subject_id.in_([str(i) for i in cert_ids]))


def _file_names(cert: Certificate) -> dict[str, str | None]:
    base = cert.serial or f"certificate-{cert.id}"
    return {"pdf": f"certificates/{base}.pdf" if cert.pdf_key else None,
            "credential": f"credentials/{base}.json"}


def write(archive: zipfile.ZipFile, user: User) -> None:
    """data.json, README.txt, certificates/<serial>.pdf and credentials/<serial>.json."""
    data = collect(user)
    archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, default=str))
    archive.writestr("README.txt", README)
    storage = get_storage()
    for cert in certificates_of(user):
        names = _file_names(cert)
        if names["pdf"]:
            # A file gone missing stays listed in data.json (the render recovery makes it again).
            with contextlib.suppress(StorageError):
                archive.writestr(names["pdf"], storage.read(cert.pdf_key))  # type: ignore[arg-type]
        archive.writestr(names["credential"], open_badges.serialized(
            open_badges.current_credential(cert, "ldp")))


README = """Your data from Laurel

data.json           everything Laurel holds about you, one section per kind of record:
                    profile, enrollments, completions, certificates, shares, engagement,
                    notifications, mail, sessions, sign_in, api_tokens, audit
certificates/       your certificates as PDF
credentials/        your certificates as signed Open Badges 3.0 credentials (JSON-LD)

Dates and times are ISO 8601 in UTC.
"""
