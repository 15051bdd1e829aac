"""Corrections and reissue: fix what a certificate prints (the holder's name, the completion date, the
score) without revoking it.

A reissue keeps the serial and the verification code: the certificate gets a new version (a
`certificate_versions` row with the snapshot it replaced), its snapshot is corrected, the PDF is rendered
again by the existing render job (the documents domain subscribes to `certificate.reissued`), the Open
Badges credential follows the snapshot, verifiers see "Reissued on <day> (name corrected)", and the
holder is told by mail. Holders ask through a correction request that an admin (or their manager)
approves (= a reissue) or rejects (the holder is told why). Exactly once: `locking.hold(cert)` first,
then the values are compared with the snapshot, so a double click finds nothing left to change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from app.database import utcnow
from app.extensions import db
from app.models import Certificate, CertificateVersion, CorrectionRequest, User
from app.rules import completion_dates, display
from app.services import audit, events, locking
from app.services.accounts import scope
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import check_fields, clean_date, clean_score, clean_text, isodate
from app.services.lifecycle.certificates import certificate_data, verify_url
from app.services.messaging import outbox

#: What a correction may change, with the words verifiers see ("name corrected").
FIELDS = {"holder_name": "name", "completed_on": "completion date", "score": "score"}
MAX_REASON = 1000


def current_values(cert: Certificate) -> dict:
    """What the certificate prints now, in the shape corrections take: {holder_name, completed_on, score}."""
    snap = cert.snapshot or {}
    completed = [c.get("completed_at") for c in snap.get("courses", []) if c.get("completed_at")]
    return {"holder_name": snap.get("holder_name") or cert.user.name,
            "completed_on": datetime.fromisoformat(max(completed)).date() if completed else None,
            "score": snap.get("score")}


def _completed_on(value: object) -> date | None:
    day = clean_date(value)
    if day is not None:
        completion_dates.check(datetime.combine(day, time.min, tzinfo=UTC))
    return day


def clean_values(fields: dict, cert: Certificate) -> dict:
    """The corrected values given (only FIELDS), checked; the changes against the current ones.
    ValidationError per field; one with nothing that changes."""
    checks = {"holder_name": lambda v: clean_text(v, 200, required=True, label="the name as printed"),
              "completed_on": _completed_on, "score": clean_score}
    values, errors = check_fields({k: v for k, v in fields.items() if k in FIELDS}, checks)
    day = values.get("completed_on")
    if day is not None and day > cert.issued_at.date():
        errors["completed_on"] = ("The completion date cannot be after the issue date "
                                  f"({display.day(cert.issued_at)}).")
    if errors:
        raise ValidationError(errors)
    current = current_values(cert)
    # An empty date or score means "as it is" (a printed value is corrected, never removed).
    changes = {k: v for k, v in values.items() if v is not None and v != current[k]}
    if not changes:
        raise ValidationError({next(iter(values), "holder_name"):
                               "The certificate already shows these values: nothing to correct."})
    return changes


def clean_reason(reason: object, field: str = "reason") -> str:
    text = clean_text(reason, 10_000, multiline=True) if reason is not None else ""
    if not text:
        raise ValidationError({field: "Give the reason: it is kept with the certificate's history."})
    if len(text) > MAX_REASON:
        raise ValidationError({field: f"At most {MAX_REASON} characters."})
    return text


def _checked_reason(reason: object, field: str = "reason") -> str:
    try:
        return clean_reason(reason, field)
    except ValueError as exc:  # clean_text's control-character refusal
        raise ValidationError({field: str(exc)}) from None


def _corrected(snapshot: dict, changes: dict) -> dict:
    snap = {**snapshot, "courses": [dict(c) for c in snapshot.get("courses", [])]}
    if "holder_name" in changes:
        snap["holder_name"] = changes["holder_name"]
    if "score" in changes:
        snap["score"] = changes["score"]
    if "completed_on" in changes and changes["completed_on"] is not None:
        moment = isodate(datetime.combine(changes["completed_on"], time.min, tzinfo=UTC))
        for course in snap["courses"]:
            course["completed_at"] = moment
    return snap


def summary_of(changes: dict) -> str:
    """'name corrected', 'name and score corrected', ..."""
    words = [FIELDS[k] for k in FIELDS if k in changes]
    joined = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return f"{joined} corrected"


def reissue(cert: Certificate, fields: dict, reason: object, *, actor: audit.Actor,
            request: CorrectionRequest | None = None) -> CertificateVersion:
    """Correct the certificate and make its next version. ValidationError for bad values or reason;
    NotAllowed for a revoked certificate. Audited, emits certificate.reissued, mails the holder."""
    reason = _checked_reason(reason)
    locking.hold(cert)  # a double click: the second request sees the first one's values (nothing to do)
    if cert.revoked_at is not None:
        raise NotAllowed(f"{cert.serial} is revoked: reinstate it before correcting it.")
    changes = clean_values(fields, cert)
    previous = dict(cert.snapshot or {})
    before = current_values(cert)
    now = utcnow()
    summary = summary_of(changes)
    cert.version = (cert.version or 1) + 1
    row = CertificateVersion(
        certificate_id=cert.id, version=cert.version, summary=summary, reason=reason,
        changes={k: [_plain(before[k]), _plain(v)] for k, v in changes.items()},
        actor_id=actor.id if isinstance(actor, User) else None,
        actor_label=actor.email if isinstance(actor, User) else str(actor or "system"),
        created_at=now, previous_snapshot=previous, previous_pdf_key=cert.pdf_key,
        previous_pdf_version=cert.pdf_attempts or 0)
    db.session.add(row)
    cert.snapshot = _corrected(previous, changes)  # a new dict: the JSON column sees the change
    shown = {"version": cert.version, "on": isodate(now), "summary": summary}
    cert.reissues = [*(cert.reissues or []), shown]
    cert.pdf_status, cert.pdf_error, cert.pdf_updated_at = "pending", None, now  # rendered again
    db.session.flush()
    audit.record(actor, "certificate.reissued", "certificate", cert.id,
                 f"{cert.serial} reissued as version {cert.version}: {summary}", serial=cert.serial,
                 version=cert.version, changes=row.changes, reason=reason,
                 request_id=request.id if request else None)
    events.emit("certificate.reissued", reissue_data(cert, row))
    _mail(cert, "certificate_reissued", f"Your certificate {cert.serial} was corrected",
          {"summary": summary, "reason": reason, "changes": _readable(row.changes),
           "requested": bool(request)})
    return row


def reissue_data(cert: Certificate, version: CertificateVersion) -> dict:
    """The webhook payload: the certificate plus {version, reissued_at, summary, changed: [fields]}."""
    return {**certificate_data(cert), "version": version.version, "reissued_at": isodate(version.created_at),
            "summary": version.summary, "changed": sorted(version.changes)}


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def _readable(changes: dict) -> list[str]:
    return [f"{FIELDS[k].capitalize()}: {_shown(k, a)} → {_shown(k, b)}" for k, (a, b) in changes.items()]


def _shown(field: str, value: object) -> str:
    if value is None or value == "":
        return "none"
    if field == "completed_on":
        return display.day(date.fromisoformat(str(value)))
    if field == "score":
        return display.score(value)
    return str(value)


def versions(cert: Certificate) -> list[CertificateVersion]:
    """The certificate's reissues, newest first."""
    return list(db.session.scalars(select(CertificateVersion)
                                   .where(CertificateVersion.certificate_id == cert.id)
                                   .order_by(CertificateVersion.version.desc())))


# --- requests from holders ----------------------------------------------------------------------------


def request_correction(cert: Certificate, fields: dict, reason: object, *, user: User) -> CorrectionRequest:
    """The holder asks for a correction. One open request per certificate (NotAllowed for a second)."""
    if cert.user_id != user.id:
        raise NotAllowed("Only the holder may ask for a correction of this certificate.")
    reason = _checked_reason(reason)
    locking.hold(cert)
    if cert.revoked_at is not None:
        raise NotAllowed(f"{cert.serial} is revoked: it cannot be corrected.")
    changes = clean_values(fields, cert)
    if pending_request(cert) is not None:
        raise NotAllowed("A correction request for this certificate is already waiting for an answer.")
    row = CorrectionRequest(certificate_id=cert.id, user_id=user.id, reason=reason,
                            requested={k: _plain(v) for k, v in changes.items()})
    db.session.add(row)
    db.session.flush()
    audit.record(user, "correction.requested", "certificate", cert.id,
                 f"{user.email} asked to correct {cert.serial}: {summary_of(changes)}", request_id=row.id,
                 requested=row.requested, reason=reason)
    return row


def pending_request(cert: Certificate) -> CorrectionRequest | None:
    return db.session.scalar(select(CorrectionRequest).where(
        CorrectionRequest.certificate_id == cert.id, CorrectionRequest.status == "pending"))


def approve(req: CorrectionRequest, *, actor: audit.Actor) -> CertificateVersion:
    """Reissue with the requested values (NotAllowed once decided: a double click approves once)."""
    locking.hold(req)
    if req.status != "pending":
        raise NotAllowed(f"This request was {req.status} already.")
    version = reissue(req.certificate, req.requested, f"Requested by the holder: {req.reason}", actor=actor,
                      request=req)
    _decide(req, "approved", actor, None, version)
    return version


def reject(req: CorrectionRequest, note: object, *, actor: audit.Actor) -> None:
    """Refuse with a note the holder reads (required). Audited; the holder is told by mail."""
    note = _checked_reason(note, "note")
    locking.hold(req)
    if req.status != "pending":
        raise NotAllowed(f"This request was {req.status} already.")
    _decide(req, "rejected", actor, note, None)
    cert = req.certificate
    _mail(cert, "correction_rejected", f"Your correction request for {cert.serial}",
          {"note": note, "asked": _readable({k: [None, v] for k, v in req.requested.items()})})


def _decide(req: CorrectionRequest, status: str, actor: audit.Actor, note: str | None,
            version: CertificateVersion | None) -> None:
    req.status, req.decided_at, req.decision_note = status, utcnow(), note
    req.decided_by_id = actor.id if isinstance(actor, User) else None
    req.version_id = version.id if version else None
    db.session.flush()
    audit.record(actor, f"correction.{status}", "certificate", req.certificate_id,
                 f"Correction request {req.id} for {req.certificate.serial} {status}", request_id=req.id,
                 note=note)


def request_query(status: str = "pending", viewer: User | None = None) -> Select:
    """Correction requests, oldest first (a queue); `viewer`: only the holders that user may see."""
    stmt = (select(CorrectionRequest)
            .options(joinedload(CorrectionRequest.certificate).joinedload(Certificate.certification),
                     joinedload(CorrectionRequest.user))
            .order_by(CorrectionRequest.created_at, CorrectionRequest.id))
    if status:
        stmt = stmt.where(CorrectionRequest.status == status)
    if viewer is not None:
        stmt = scope.restrict(stmt, CorrectionRequest.user_id, viewer)
    return stmt


def pending_count(viewer: User | None = None) -> int:
    stmt = request_query("pending", viewer).options().order_by(None)
    return db.session.scalar(select(func.count()).select_from(
        stmt.with_only_columns(CorrectionRequest.id).subquery())) or 0


def request_data(req: CorrectionRequest) -> dict:
    """API shape: {id, certificate_id, user_id, requested, reason, status, created_at, decided_at,
    decision_note, version}."""
    return {"id": req.id, "certificate_id": req.certificate_id, "user_id": req.user_id,
            "requested": req.requested, "reason": req.reason, "status": req.status,
            "created_at": isodate(req.created_at), "decided_at": isodate(req.decided_at),
            "decision_note": req.decision_note,
            "version": None if req.version_id is None
            else db.session.get(CertificateVersion, req.version_id).version}


def _mail(cert: Certificate, template: str, subject: str, extra: dict) -> None:
    holder = cert.user
    name = (cert.snapshot or {}).get("certification_name") or cert.certification.name
    outbox.queue_email(holder.email, template, subject=subject, user_id=holder.id, context={
        "name": (cert.snapshot or {}).get("holder_name") or holder.name, "certification": name,
        "serial": cert.serial, "verify_url": verify_url(cert), **extra})
