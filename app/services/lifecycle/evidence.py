"""Evidence: files and/or a text a learner submits for a certification, reviewed by an assessor.

A certification with `evidence_required` issues only after an approved submission (the gate in
app/services/lifecycle/rules.py). Who may review: admins, and the certification's named assessors.
Uploads are checked by their first bytes (PDF, PNG, JPEG or plain UTF-8 text; the name's extension must
agree), stored under a random key (app/documents/storage.py), and served only as attachments to the
learner and the reviewers. Nothing is ever rendered, decompressed or executed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from sqlalchemy import Select, or_, select

from app.database import utcnow
from app.documents.storage import get_storage
from app.extensions import db
from app.models import Certification, EvidenceFile, EvidenceSubmission, User
from app.services import audit, events, locking
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import clean_text, isodate
from app.services.lifecycle import issuing
from app.services.messaging import outbox

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 5
MAX_TEXT = 10_000
# extension -> (content type, first bytes); text is checked separately
TYPES = {"pdf": ("application/pdf", (b"%PDF-",)), "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
         "jpg": ("image/jpeg", (b"\xff\xd8\xff",)), "txt": ("text/plain; charset=utf-8", ())}
ALIASES = {"jpeg": "jpg"}
_MARKUP = (b"<!doctype", b"<html", b"<script", b"<svg", b"<?xml", b"<body", b"<iframe")


@dataclass
class Upload:
    filename: str
    data: bytes


def may_review(user: User, cert: Certification) -> bool:
    return bool(user.is_authenticated and user.active and (user.is_admin or user in cert.assessors))


def visible_to(user: User, submission: EvidenceSubmission) -> bool:
    return submission.user_id == user.id or may_review(user, submission.certification)


def file_kind(filename: str, data: bytes) -> str:
    """The file's extension ("pdf", "png", "jpg", "txt") from its content; ValueError when the content is
    not one of those or disagrees with the name."""
    if not data:
        raise ValueError("The file is empty.")
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"Files can be at most {MAX_FILE_BYTES // (1024 * 1024)} MB.")
    sniffed = next((ext for ext, (_, magics) in TYPES.items() if any(map(data.startswith, magics))), None)
    if sniffed is None and _is_plain_text(data):
        sniffed = "txt"
    if sniffed is None:
        raise ValueError("Upload a PDF, PNG, JPEG or plain text file.")
    named = PurePosixPath(filename).suffix.lower().lstrip(".")
    if ALIASES.get(named, named) != sniffed:
        raise ValueError(f"The file's content is not what its name says (.{named or '?'}): "
                         f"upload it as .{sniffed} or upload the right file.")
    return sniffed


def _is_plain_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
        return False
    head = data.lstrip()[:64].lower()
    return not head.startswith(_MARKUP)  # a web page in disguise: refused, even though served as text


def display_name(filename: str) -> str:
    """The name shown to people: the last path segment (either slash), control characters gone, short."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "file"
    return name[-120:]


def submit(user: User, cert: Certification, text: str, uploads: list[Upload], *,
           actor: audit.Actor) -> EvidenceSubmission:
    """A new submission (pending review). Refused while one is pending, or when the certification takes
    no evidence. Emits evidence.submitted."""
    if not cert.evidence_required or cert.status != "active":
        raise NotAllowed(f"{cert.name} takes no evidence.")
    errors: dict[str, str] = {}
    try:
        text = clean_text(text, MAX_TEXT, multiline=True)
    except ValueError as problem:
        errors["text"] = str(problem)
    uploads = [u for u in uploads if u.filename or u.data]
    kinds: list[str] = []
    if len(uploads) > MAX_FILES:
        errors["files"] = f"At most {MAX_FILES} files."
    else:
        for upload in uploads:
            try:
                kinds.append(file_kind(upload.filename, upload.data))
            except ValueError as problem:
                errors["files"] = f"{display_name(upload.filename)}: {problem}"
                break
    if not errors and not text and not uploads:
        errors["text"] = "Write a text or attach a file."
    if errors:
        raise ValidationError(errors)
    locking.hold(user)  # two submissions at once: the second sees the first as pending
    if db.session.scalar(select(EvidenceSubmission.id).where(
            EvidenceSubmission.user_id == user.id, EvidenceSubmission.certification_id == cert.id,
            EvidenceSubmission.status == "pending")):
        raise NotAllowed("Your evidence is waiting for review: you can submit again after the decision.")
    row = EvidenceSubmission(user_id=user.id, certification_id=cert.id, text=text, status="pending",
                             submitted_at=utcnow())
    row.user, row.certification = user, cert
    storage = get_storage()
    for upload, kind in zip(uploads, kinds, strict=True):
        key = f"evidence/{secrets.token_hex(16)}.{kind}"
        # Stored before the commit: a rolled-back request leaves an unreferenced random name, never a row
        # pointing at nothing.
        storage.put(key, upload.data, TYPES[kind][0])
        row.files.append(EvidenceFile(storage_key=key, filename=display_name(upload.filename),
                                      content_type=TYPES[kind][0], extension=kind, size=len(upload.data)))
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "evidence.submitted", "evidence", row.id,
                 f"Evidence for {cert.name} submitted by {user.email}", user_id=user.id,
                 certification_id=cert.id, files=len(row.files))
    events.emit("evidence.submitted", evidence_data(row))
    return row


def review(submission: EvidenceSubmission, decision: str, comment: str, *,
           actor: User) -> list:
    """Approve or reject a pending submission (once: a second decision is refused, 409). The learner is
    told by mail; an approval runs issuance for the learner. Returns the certificates it issued."""
    if not may_review(actor, submission.certification):
        raise NotAllowed("Only an admin or this certification's assessors review its evidence.")
    errors: dict[str, str] = {}
    if decision not in ("approve", "reject"):
        errors["decision"] = "Approve or reject."
    try:
        comment = clean_text(comment, 2000, multiline=True)
    except ValueError as problem:
        errors["comment"] = str(problem)
    if decision == "reject" and not errors.get("comment") and not comment:
        errors["comment"] = "Say what is missing: the learner reads it."
    if errors:
        raise ValidationError(errors)
    learner = submission.user
    issuing.lock_learner(learner)  # the approval and an evaluation of the same learner take turns
    submission = locking.hold(submission)
    if submission.status != "pending":
        raise NotAllowed(f"This evidence was {submission.status} already.")
    submission.status = "approved" if decision == "approve" else "rejected"
    submission.reviewed_at, submission.reviewer_id, submission.review_comment = utcnow(), actor.id, comment
    submission.reviewer = actor
    db.session.flush()
    cert = submission.certification
    audit.record(actor, "evidence.reviewed", "evidence", submission.id,
                 f"Evidence of {learner.email} for {cert.name} {submission.status}", status=submission.status,
                 user_id=learner.id, certification_id=cert.id, comment=comment)
    events.emit("evidence.reviewed", evidence_data(submission))
    if learner.active:
        outbox.queue_email(learner.email, "evidence_reviewed", user_id=learner.id,
                           subject=f"Your evidence for {cert.name} was {submission.status}",
                           context={"name": learner.name, "certification": cert.name,
                                    "approved": submission.status == "approved", "comment": comment,
                                    "url": outbox.external_url("lifecycle.my_evidence", cert_id=cert.id)})
    if submission.status == "approved":
        return issuing.evaluate(learner, actor=actor, locked=True)
    return []


def evidence_data(row: EvidenceSubmission) -> dict:
    """The public shape (API, webhooks): no file contents, no storage keys."""
    return {"id": row.id, "status": row.status, "text": row.text,
            "user": {"id": row.user.id, "name": row.user.name, "email": row.user.email},
            "certification": {"id": row.certification.id, "name": row.certification.name},
            "submitted_at": isodate(row.submitted_at), "reviewed_at": isodate(row.reviewed_at),
            "reviewer_id": row.reviewer_id, "review_comment": row.review_comment or "",
            "files": [{"id": f.id, "filename": f.filename, "content_type": f.content_type, "size": f.size}
                      for f in row.files]}


def visible_query(viewer: User, *, status: str = "", user_id: int | None = None,
                  certification_id: int | None = None, reviewable: bool = False) -> Select:
    """Submissions the viewer may see, newest first: their own, and (admins: all) those of the
    certifications they assess. `reviewable`: only the latter (the review queue)."""
    stmt = select(EvidenceSubmission).join(Certification).order_by(EvidenceSubmission.submitted_at.desc(),
                                                                     EvidenceSubmission.id.desc())
    if not viewer.is_admin:
        mine = Certification.assessors.any(User.id == viewer.id)
        stmt = stmt.where(mine if reviewable else or_(mine, EvidenceSubmission.user_id == viewer.id))
    if status:
        stmt = stmt.where(EvidenceSubmission.status == status)
    if user_id is not None:
        stmt = stmt.where(EvidenceSubmission.user_id == user_id)
    if certification_id is not None:
        stmt = stmt.where(EvidenceSubmission.certification_id == certification_id)
    return stmt


def read_file(evidence_file: EvidenceFile) -> bytes:
    return get_storage().read(evidence_file.storage_key)
