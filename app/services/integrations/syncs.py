"""Sync runs: Moodle/IOMAD, SQL source and CSV drop folder, on a schedule or on demand.

A run is a `SyncRun` row with counts (created / updated / unchanged / failed). Runs of one integration
never overlap (a Redis lock held by the job). Every item is applied inside its own savepoint, so an item
that fails changes nothing half-way while the rest of the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from redis.lock import Lock
from sqlalchemy import select

from app import liveness
from app.connectors import file_drop, sql_source
from app.connectors.file_drop import DropFile, DropSource
from app.connectors.moodle import MoodleError
from app.connectors.s3_bucket import BucketError
from app.database import utcnow
from app.extensions import db
from app.models.integration import SYNC_TYPES, Integration, SyncRun
from app.queue import enqueue_after_commit, get_redis
from app.services import audit, recovery
from app.services.errors import NotAllowed
from app.services.integrations import locations as file_locations
from app.services.integrations import moodle as moodle_sync
from app.services.integrations import pdf_exports
from app.services.integrations import registry as integrations
from app.services.integrations import settings as integration_settings
from app.services.integrations.sync_items import ITEM_ERRORS, actor_for, count
from app.services.lifecycle import imports

RUN_JOB = "app.tasks.integrations.run_sync"
LOCK_TIMEOUT = 2 * 3600  # seconds; a run longer than this is assumed dead
#: A source that cannot be reached or read fails the whole run with this message.
SOURCE_ERRORS = (MoodleError, OSError, file_drop.FolderError, sql_source.SourceError, BucketError)


def lock(integration_id: int) -> Lock:
    return get_redis().lock(_lock_key(integration_id), timeout=LOCK_TIMEOUT, blocking=False)


def _lock_key(integration_id: int) -> str:
    return f"laurel:lock:integration-sync:{integration_id}"


# --------------------------------------------------------------------------- run bookkeeping


def start(integration: Integration, trigger: str) -> SyncRun:
    run = SyncRun(integration_id=integration.id, trigger=trigger, status="running", details={})
    db.session.add(run)
    integration.last_run_at = run.started_at = utcnow()
    db.session.flush()
    liveness.hold("sync", run.id)
    return run


def finish(
    run: SyncRun, integration: Integration, message: str | None = None, error: str | None = None
) -> None:
    run.finished_at = utcnow()
    run.message = error or message
    run.status = "failed" if error else ("partial" if run.failed else "succeeded")
    summary = f"created {run.created}, updated {run.updated}, unchanged {run.unchanged}, failed {run.failed}"
    if error:
        integrations.note_failure(integration, error)
        integrations.log(integration, "error", f"Sync failed: {error}", run_id=run.id)
    else:
        integrations.note_success(integration)
        integrations.log(
            integration,
            "warning" if run.failed else "info",
            f"Sync {run.status}: {summary}",
            run_id=run.id,
            **(run.details or {}),
        )


# --------------------------------------------------------------------------- entry points


def run(integration_id: int, *, trigger: str = "schedule") -> dict:
    """Run one sync now (caller holds the lock and commits). Returns a summary with post-commit work."""
    integration = integrations.get(integration_id)
    if integration is None or integration.type not in SYNC_TYPES:
        return {"status": "skipped", "reason": "no such sync integration"}
    if not integration.active and trigger == "schedule":
        return {"status": "skipped", "reason": "inactive"}
    sync_run = start(integration, trigger)
    summary: dict = {"run_id": sync_run.id, "integration_id": integration.id, "moves": []}
    try:
        message = _RUNNERS[integration.type](integration, sync_run, summary)
    except SOURCE_ERRORS as exc:
        finish(sync_run, integration, error=str(exc))
    else:
        finish(sync_run, integration, message)
    summary.update(
        status=sync_run.status,
        created=sync_run.created,
        updated=sync_run.updated,
        unchanged=sync_run.unchanged,
        failed=sync_run.failed,
        message=sync_run.message,
    )
    return summary


def skipped(integration_id: int, reason: str) -> None:
    integration = integrations.get(integration_id)
    if integration is not None:
        integrations.log(integration, "info", f"Sync skipped: {reason}")


def after_commit(summary: dict) -> int:
    """File moves happen only once the imported rows are committed (a crash before re-imports: harmless).

    A move that fails is logged (the caller commits the log) and the file stays where it was: the next
    run imports it again, which changes nothing. Returns the number of failed moves.
    """
    failed = 0
    for source, item, outcome, report in summary.get("moves", []):
        try:
            source.move(item, outcome, report)
        except (OSError, file_drop.FolderError, BucketError) as exc:
            failed += 1
            integration = integrations.get(summary["integration_id"])
            if integration is not None:
                integrations.log(integration, "error", f"{item.name}: could not move it to {outcome}/: {exc}")
    return failed


def enqueue(integration: Integration, trigger: str = "manual") -> None:
    """Queue a run after commit (the lock makes a second, overlapping one a no-op)."""
    if integration.type not in SYNC_TYPES:
        raise NotAllowed("Only Moodle, SQL and file integrations sync.")
    enqueue_after_commit(db.session, RUN_JOB, integration.id, trigger, queue="low")


def sync_now(integration: Integration, *, actor: audit.Actor) -> None:
    """An admin asks for a run now (console or API): queued after commit, audited and logged.

    An inactive integration may be run by hand (to try it before switching the schedule on)."""
    integrations.ensure_alive(integration)
    enqueue(integration, "manual")
    audit.record(actor, "integration.sync_requested", "integration", integration.id,
                 f"Sync of {integration.name} requested")
    integrations.log(integration, "info", "Sync requested by an admin")


def enqueue_due(now: datetime | None = None) -> int:
    """Queue every active sync integration whose frequency has elapsed since its last run."""
    now = now or utcnow()
    candidates = db.session.scalars(
        select(Integration).where(
            Integration.active.is_(True),
            Integration.deleted_at.is_(None),
            Integration.type.in_(SYNC_TYPES),
            Integration.sync_every_minutes.is_not(None),
        )
    ).all()
    queued = 0
    for integration in candidates:
        last = integration.last_run_at
        if last is None or last + timedelta(minutes=integration.sync_every_minutes) <= now:
            integration.last_run_at = now  # the next cron tick must not queue it again meanwhile
            enqueue(integration, "schedule")
            queued += 1
    return queued


@recovery.register
def recover_runs(now: datetime | None = None) -> dict:
    """Sweep step: a run still `running` after the lock timeout died with its worker."""
    now = now or utcnow()
    stale = db.session.scalars(
        select(SyncRun).where(
            SyncRun.status == "running", SyncRun.started_at < now - timedelta(seconds=LOCK_TIMEOUT)
        )
    ).all()
    for stale_run in stale:
        stale_run.status, stale_run.finished_at = "failed", now
        stale_run.message = "The worker stopped during this run."
    return {"sync_runs": len(stale)}


SYNC_INTERRUPTED = "The worker stopped during this run."


@recovery.register_abandoned
def free_abandoned_runs(claims: recovery.Claims) -> dict:
    """Runs left `running` by a worker that died: close them, and free the integration's lock (held
    by the dead run, for up to LOCK_TIMEOUT) so the next scheduled run is not blocked for hours."""
    runs = db.session.scalars(select(SyncRun).where(
        SyncRun.status == "running", SyncRun.started_at < claims.claimed_before)).all()
    dead = [run for run in runs if claims.abandoned("sync", run.id)]
    live_integrations = {run.integration_id for run in runs if not claims.abandoned("sync", run.id)}
    for run in dead:
        run.status, run.finished_at, run.message = "failed", claims.now, SYNC_INTERRUPTED
        if run.integration_id not in live_integrations:
            get_redis().delete(_lock_key(run.integration_id))
    return {"sync_runs_abandoned": len(dead)}


def test(integration: Integration) -> dict:
    """A dry check that changes nothing: connect, read, validate, and say what a run would see."""
    try:
        if integration.type == "moodle":

            return moodle_sync.test(integration)
        if integration.type == "sql":
            return _test_sql(integration)
        if integration.type == "file_drop":
            return _test_file_drop(integration)
        if integration.type == "pdf_export":
            return pdf_exports.test(integration)
    except (sql_source.SourceError, file_drop.FolderError, BucketError, OSError) as exc:
        return {"ok": False, "error": str(exc)}
    raise NotAllowed("This integration type has no dry run.")


# --------------------------------------------------------------------------- SQL and file sources


def _apply_preview(run: SyncRun, integration: Integration, preview: imports.ImportPreview, kind: str) -> None:
    """Apply the good rows (all at once, or row by row if a row fails) and count the outcome."""
    actor = actor_for(integration)
    try:
        with db.session.begin_nested():
            results = [imports.apply(imports.ImportPreview(rows=list(preview.rows)), actor=actor)]
    except ITEM_ERRORS:
        results = []
        for row in preview.rows:
            try:
                with db.session.begin_nested():
                    results.append(imports.apply(imports.ImportPreview(rows=[row]), actor=actor))
            except ITEM_ERRORS as exc:
                count(run, kind, "failed")
                integrations.log(
                    integration,
                    "warning",
                    f"Row {row.line} ({row.email}, {row.course_code}) failed: {exc}",
                    run_id=run.id,
                )
    for result in results:
        count(run, kind, "created", result.users_created + result.enrollments_created)
        count(run, kind, "updated", result.enrollments_updated + result.completions_recorded)
        count(run, kind, "unchanged", result.unchanged)


def _fetch_sql(integration: Integration, limit: int = sql_source.MAX_ROWS) -> list[dict[str, str]]:
    """The source's rows, under the outgoing-address policy and SQL_IMPORT_DIR as they are now."""
    creds = integrations.credentials(integration)
    return sql_source.fetch_rows(
        creds["database_url"],
        integration.config["query"],
        allow_private=integration_settings.allow_private(),
        import_dir=integration_settings.sql_import_dir(),
        own_database=integration_settings.own_database(),
        limit=limit,
    )


def _run_sql(integration: Integration, run: SyncRun, summary: dict) -> str:
    rows = _fetch_sql(integration)
    preview = imports.parse(sql_source.to_csv(rows))
    for line, reason in preview.errors:
        count(run, "rows", "failed")
        # scrub: a reason quotes the bad value, which may be any column the query selected
        reason = sql_source.scrub(reason, rows)
        integrations.log(integration, "warning", f"Row {line - 1} rejected: {reason}", run_id=run.id)
    if preview.rows:
        _apply_preview(run, integration, imports.ImportPreview(rows=preview.rows), "rows")
    return f"{len(rows)} row(s) read"


def _test_sql(integration: Integration) -> dict:
    rows = _fetch_sql(integration)
    preview = imports.parse(sql_source.to_csv(rows)) if rows else imports.ImportPreview()
    return {
        "ok": True,
        "message": f"The query returned {len(rows)} row(s); {len(preview.rows)} valid, "
        f"{len(preview.errors)} with errors.",
        "errors": [f"row {n - 1}: {sql_source.scrub(r, rows)}" for n, r in preview.errors[:10]],
    }


def _test_file_drop(integration: Integration) -> dict:
    source = file_locations.drop_source(integration)
    settle = float((integration.config or {}).get("settle_seconds") or 5)
    files = source.ready(0)
    settled = {f.ref for f in source.ready(settle)}
    kind = "Bucket" if file_locations.is_s3(integration) else "Folder"
    return {
        "ok": True,
        "message": f"{kind} {source.describe()} is readable; {len(files)} CSV file(s) waiting"
        + (f" ({len(files) - len(settled)} still settling)." if len(settled) < len(files) else "."),
        "files": [f.name for f in files[:20]],
    }


def _import_drop_file(
    integration: Integration, run: SyncRun, source: DropSource, item: DropFile
) -> tuple[str, str | None]:
    """Import one file; returns where it goes (done/failed) and the report for failed/."""
    try:
        preview = imports.parse(source.read(item))
    except file_drop.TooLarge as exc:
        count(run, "files", "failed")  # no rows to count: the file itself is the failure
        integrations.log(integration, "warning", f"{exc} Moved to failed/", run_id=run.id)
        return file_drop.FAILED, f"{exc}\n"
    if preview.errors:
        count(run, "files", "failed", total=False)
        count(run, "rows", "failed", len(preview.errors))
        integrations.log(
            integration,
            "warning",
            f"{item.name}: {len(preview.errors)} bad row(s); moved to failed/",
            run_id=run.id,
            errors=preview.errors[:50],
        )
        return file_drop.FAILED, "\n".join(f"line {line}: {reason}" for line, reason in preview.errors) + "\n"
    before = run.failed
    _apply_preview(run, integration, preview, "rows")
    if run.failed != before:
        count(run, "files", "failed", total=False)
        integrations.log(
            integration, "warning", f"{item.name}: some rows failed to apply; moved to failed/", run_id=run.id
        )
        return file_drop.FAILED, "Some rows failed to apply; see the integration log.\n"
    count(run, "files", "done", total=False)
    integrations.log(integration, "info", f"{item.name}: {len(preview.rows)} row(s) imported", run_id=run.id)
    return file_drop.DONE, None


def _run_file_drop(integration: Integration, run: SyncRun, summary: dict) -> str:
    settle = float((integration.config or {}).get("settle_seconds") or 5)
    source = file_locations.drop_source(integration)
    files = source.ready(settle)
    for item in files:
        outcome, report = _import_drop_file(integration, run, source, item)
        summary["moves"].append((source, item, outcome, report))
    return f"{len(files)} file(s) processed"


def _run_moodle(integration: Integration, run: SyncRun, summary: dict) -> str:

    return moodle_sync.run(integration, run)


_RUNNERS: dict[str, Callable[[Integration, SyncRun, dict], str]] = {
    "moodle": _run_moodle,
    "sql": _run_sql,
    "file_drop": _run_file_drop,
}
