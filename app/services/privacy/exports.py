""""Download my data": a request queues a job that builds the ZIP, stores it under a random key and
mails the person a link that works only for them, signed in, until it expires (policy.export_days).

One export may be pending (queued or building) per person at a time; the sweep deletes expired files.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from app import liveness
from app.database import utcnow
from app.documents.storage import StorageError, get_storage
from app.extensions import db
from app.models import DataExport, User
from app.queue import enqueue_after_commit, waiting
from app.services import audit, recovery
from app.services.errors import NotAllowed
from app.services.messaging import outbox
from app.services.privacy import contents, policy

BUILD_JOB = "app.tasks.privacy.build_export"
PENDING = ("queued", "building")
INTERRUPTED = "The worker stopped while building this export; it is being built again."
MAX_TOKEN = 64
LOST_AFTER = timedelta(minutes=1)  # grace for the job enqueued right after the commit


def request_export(user: User, *, actor: User) -> DataExport:
    """Queue an export of `user`'s data (by themself or by an admin). NotAllowed while one is pending."""
    if actor.id != user.id and not actor.is_admin:
        raise NotAllowed("Only the person or an admin can ask for this export.")
    pending = db.session.scalar(select(DataExport.id).where(
        DataExport.user_id == user.id, DataExport.status.in_(PENDING)))
    if pending is not None:
        raise NotAllowed("An export is already being prepared; you will get an email when it is ready.")
    if db.session.scalar(select(User.id).where(User.id == user.id, User.email.endswith("@erased.invalid"))):
        raise NotAllowed("This person's data was erased.")
    export = DataExport(token=secrets.token_urlsafe(32), user_id=user.id, requested_by_id=actor.id,
                        status="queued")
    db.session.add(export)
    db.session.flush()
    audit.record(actor, "privacy.export_requested", "user", user.id, "Data export requested",
                 export_id=export.id)
    _enqueue(export.id)
    return export


def _enqueue(export_id: int, suffix: str = "") -> None:
    enqueue_after_commit(db.session, BUILD_JOB, export_id, queue="render-bulk",
                         job_id=f"data-export-{export_id}{suffix}")


def build(export_id: int, now: datetime | None = None) -> str:
    """Claim the queued export (a conditional UPDATE: a duplicate job does nothing), write the ZIP,
    store it, mark it ready and mail the link."""
    now = now or utcnow()
    claimed = db.session.execute(
        update(DataExport).where(DataExport.id == export_id, DataExport.status == "queued")
        .values(status="building", started_at=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        return "skipped"
    liveness.hold("data-export", export_id)
    export = db.session.get(DataExport, export_id, populate_existing=True)
    assert export is not None
    key = f"privacy/exports/{secrets.token_hex(24)}.zip"  # storage keys allow no leading "-" or "_"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "export.zip"
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                contents.write(archive, export.user)
            data = path.read_bytes()
        get_storage().put(key, data, "application/zip")
    except Exception as exc:  # recorded on the row and shown on the page; the person may ask again
        export.status, export.error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
        return "failed"
    export.storage_key, export.size, export.status = key, len(data), "ready"
    export.ready_at = now
    export.expires_at = now + timedelta(days=policy.current().export_days)
    _mail_link(export)
    return "ready"


def _mail_link(export: DataExport) -> None:
    user = export.user
    outbox.queue_email(user.email, "data_export_ready", subject="Your data export is ready",
                       user_id=user.id, dedupe_key=f"data-export-ready:{export.id}",
                       context={"name": user.name, "expires_at": export.expires_at,
                                "link": outbox.external_url("privacy.download_export", token=export.token)})


def downloadable(token: str, viewer: User, now: datetime | None = None) -> DataExport | None:
    """The export behind `token` if `viewer` may download it now (the person, or the admin who asked
    for it); None for anything else: unknown, someone else's, not ready, expired (the view says 404)."""
    token = (token or "")[:MAX_TOKEN]
    export = db.session.scalar(select(DataExport).where(DataExport.token == token))
    if export is None or not export.is_available(now):
        return None
    mine = export.user_id == viewer.id
    asked = viewer.is_admin and export.requested_by_id == viewer.id
    return export if mine or asked else None


def read(export: DataExport) -> bytes:
    assert export.storage_key is not None
    return get_storage().read(export.storage_key)


def filename(export: DataExport) -> str:
    stamp = (export.ready_at or export.created_at).strftime("%Y-%m-%d")
    return f"laurel-my-data-{stamp}.zip"


def recent(user: User, limit: int = 5) -> list[DataExport]:
    stmt = (select(DataExport).where(DataExport.user_id == user.id)
            .order_by(DataExport.created_at.desc(), DataExport.id.desc()).limit(limit))
    return list(db.session.scalars(stmt))


def expired_query(now: datetime):  # type: ignore[no-untyped-def]
    """Ready exports past their expiry (the daily sweep deletes them; the dry run counts them)."""
    return select(DataExport).where(DataExport.status == "ready", DataExport.expires_at <= now)


def delete_expired(now: datetime | None = None) -> int:
    """Delete expired exports' files and rows; a file already gone is fine. Idempotent."""
    now = now or utcnow()
    rows = list(db.session.scalars(expired_query(now)))
    delete_files([r.storage_key for r in rows])
    for row in rows:
        db.session.delete(row)
    db.session.flush()
    return len(rows)


def delete_files(keys: list[str | None]) -> None:
    storage = get_storage()
    for key in keys:
        if key:
            # Deleted already, or the bucket refuses: the row goes anyway; nothing links to the file.
            with contextlib.suppress(StorageError):
                storage.delete(key)


@recovery.register
def requeue_lost_exports() -> dict:
    """Queued exports whose job Redis lost (flushed, restarted): enqueue again. A job still waiting in
    the queue is left alone; the claim makes any extra job do nothing anyway."""
    now = utcnow()
    ids = list(db.session.scalars(select(DataExport.id).where(
        DataExport.status == "queued", DataExport.created_at < now - LOST_AFTER)))
    alive = waiting([job for i in ids for job in _job_ids(i)])
    lost = [i for i in ids if not alive.intersection(_job_ids(i))]
    for export_id in lost:
        _enqueue(export_id, suffix="-lost")
    return {"data_exports_requeued": len(lost)}


def _job_ids(export_id: int) -> list[str]:
    return [f"data-export-{export_id}{suffix}" for suffix in ("", "-again", "-lost")]


@recovery.register_abandoned
def free_abandoned_exports(claims: recovery.Claims) -> dict:
    """Exports left `building` by a worker that died: queue them again once, then fail them."""
    rows = db.session.execute(select(DataExport.id, DataExport.error).where(
        DataExport.status == "building", DataExport.started_at < claims.claimed_before)).all()
    freed = 0
    for export_id, error in rows:
        if not claims.abandoned("data-export", export_id):
            continue
        again = error == INTERRUPTED
        values = ({"status": "failed", "error": "The worker stopped twice; ask for the export again."}
                  if again else {"status": "queued", "error": INTERRUPTED})
        result = db.session.execute(update(DataExport).where(
            DataExport.id == export_id, DataExport.status == "building").values(**values)
            .execution_options(synchronize_session=False))
        if result.rowcount == 1:
            freed += 1
            if not again:
                _enqueue(export_id, suffix="-again")
    return {"data_exports_abandoned": freed}
