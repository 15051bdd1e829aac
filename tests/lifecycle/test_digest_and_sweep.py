"""The weekly admin digest (once per ISO week) and the daily sweep's safety when run twice at once."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.extensions import db
from app.models import Certificate, OutboxEmail, ReminderSent
from app.queue import get_redis
from app.services.lifecycle import reminders
from app.services.messaging import outbox
from app.tasks.daily import LOCK_KEY, run_daily, run_steps
from tests.support.certificates import at


def _digests() -> list[OutboxEmail]:
    return list(db.session.scalars(select(OutboxEmail).where(OutboxEmail.template == "admin_digest")
                                   .order_by(OutboxEmail.id)))


def test_digest_once_per_iso_week_on_its_day(app, admin, make_user, learner, issue, monkeypatch):
    monkeypatch.setitem(app.config, "DIGEST_WEEKDAY", 2)  # Wednesday
    second_admin = make_user("admin", email="second@example.com")
    make_user("admin", email="gone@example.com", active=False)
    issue(learner, at(2026, 1, 10, 9))
    monday, wednesday, thursday = at(2027, 12, 13, 6), at(2027, 12, 15, 6), at(2027, 12, 16, 6)
    assert monday.weekday() == 0 and wednesday.weekday() == 2
    assert reminders.send_weekly_digest(monday) == 0
    assert reminders.send_weekly_digest(wednesday) == 2
    assert reminders.send_weekly_digest(wednesday) == 0
    assert reminders.send_weekly_digest(thursday) == 0
    db.session.commit()
    keys = [d.dedupe_key for d in _digests()]
    assert keys == [f"digest:2027-W50:{admin.id}", f"digest:2027-W50:{second_admin.id}"]
    # the next week: once more; a sweep that missed Wednesday catches up on Friday
    assert reminders.send_weekly_digest(at(2027, 12, 22, 6)) == 2  # Wednesday of W51
    assert reminders.send_weekly_digest(at(2027, 12, 29, 6)) == 2  # Wednesday of W52
    assert reminders.send_weekly_digest(at(2028, 1, 1, 6)) == 0  # Saturday of 2027-W52: already sent
    assert reminders.send_weekly_digest(at(2028, 1, 7, 6)) == 2  # Friday of 2028-W1: missed Wednesday
    db.session.commit()
    assert len(_digests()) == 8
    assert _digests()[-2].dedupe_key == f"digest:2028-W1:{admin.id}"


def test_digest_lists_expiring_and_failures(app, admin, learner, issue, jobs, smtp_server):
    cert = issue(learner, at(2026, 1, 10, 9))
    cert.pdf_status, cert.pdf_error = "failed", "TemplateError: boom"
    row = outbox.queue_email("bounce@example.com", "password_reset", subject="Reset",
                             context={"name": "X", "link": "x"})
    row.status, row.last_error = "failed", "550 mailbox unavailable"
    db.session.commit()
    get_redis().flushdb()  # the failed row's job must not be sent
    assert reminders.send_weekly_digest(at(2027, 12, 20, 6), force=True) == 1
    db.session.commit()
    jobs()
    [message] = smtp_server.wait_for(1)
    text = next(p.get_content() for p in message.walk() if p.get_content_type() == "text/plain")
    assert "1 expiring in 30 days" in text and learner.name in text and cert.serial in text
    assert "bounce@example.com" in text and "550 mailbox unavailable" in text
    assert "TemplateError: boom" in text
    assert "2027-W51" in message["Subject"]


def test_digest_sections_from_other_capabilities(app, admin):
    def failing_endpoints(now):
        return {"title": "Failing webhook endpoints", "count": 1, "items": ["https://x.example/hook: 503"],
                "link": None}

    reminders.register_digest_section(failing_endpoints)
    try:
        context = reminders.digest_context(at(2027, 12, 20))
    finally:
        reminders._digest_sections.remove(failing_endpoints)
    assert context["sections"][0]["items"] == ["https://x.example/hook: 503"]


def test_sweep_holds_a_lock(app, learner, issue):
    issue(learner, at(2026, 1, 10, 9))
    lock = get_redis().lock(LOCK_KEY, timeout=60)
    assert lock.acquire(blocking=False)
    try:
        assert run_daily(at(2027, 10, 13).isoformat()) == {"skipped": "another daily sweep is running"}
    finally:
        lock.release()
    assert run_daily(at(2027, 10, 13).isoformat())["reminders"] == 1


def _concurrently(app, target, n: int = 2) -> list:
    """Run target() in n threads released together. On SQLite two writers can make one give up with
    "database is locked" (a failed run the next sweep repeats, never a duplicate); PostgreSQL must not."""
    results, errors = [], []
    barrier = threading.Barrier(n)

    def run():
        with app.app_context():
            try:
                barrier.wait()
                results.append(target())
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    sqlite = db.engine.dialect.name == "sqlite"
    assert all(sqlite and "database is locked" in str(e) for e in errors), errors
    return results


def _counts() -> tuple[int, int, int]:
    db.session.expire_all()
    def mails(template: str) -> int:
        return db.session.scalar(select(func.count(OutboxEmail.id)).where(OutboxEmail.template == template))

    return (db.session.scalar(select(func.count(ReminderSent.id))), mails("certificate_reminder"),
            mails("certificate_expired"))


def test_two_sweeps_at_once_send_once(app, make_user, issue):
    for _ in range(6):
        issue(make_user("learner"), at(2026, 1, 10, 9))
    results = _concurrently(app, lambda: run_daily(at(2027, 10, 13).isoformat()))
    assert sorted(r.get("reminders", -1) for r in results)[-1] == 6
    assert _counts() == (6, 6, 0)


def test_two_sweeps_without_the_lock_still_send_once(app, make_user, issue):
    """Redis flushed or the lock expired mid-run: the database keys alone keep it exactly once."""
    for _ in range(6):
        issue(make_user("learner"), at(2026, 1, 10, 9))
    results = _concurrently(app, lambda: run_steps(at(2027, 10, 13)))
    run_steps(at(2027, 10, 13, 1))  # the next sweep finishes what a failed run left
    assert sum(r["reminders"] for r in results) <= 6
    _concurrently(app, lambda: run_steps(at(2028, 1, 11)))
    run_steps(at(2028, 1, 11, 1))
    assert _counts() == (6, 6, 6)
    assert all(c.expired_notified_at for c in db.session.scalars(select(Certificate)))
