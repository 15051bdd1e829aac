"""Scheduled reports: weekly/monthly through the outbox, each period once, CSV attached (read back at
the real SMTP server after the worker ran)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import OutboxEmail
from app.services.analytics import scheduled_reports
from app.services.errors import NotAllowed, ValidationError
from tests.analytics.conftest import NOW, at


def subscribe(user, frequency):
    scheduled_reports.set_subscription(user, frequency, actor="test")
    db.session.commit()


def test_periods():
    week = scheduled_reports.last_period("weekly", NOW)  # NOW is Monday 2026-06-15
    assert (week.key, week.start, week.end) == ("2026-W24", at(2026, 6, 8), at(2026, 6, 15))
    assert scheduled_reports.last_period("weekly", at(2026, 6, 14, 23, 59)).key == "2026-W23"
    month = scheduled_reports.last_period("monthly", NOW)
    assert (month.key, month.start, month.end) == ("2026-05", at(2026, 5, 1), at(2026, 6, 1))
    assert scheduled_reports.last_period("monthly", at(2026, 1, 1)).key == "2025-12"
    assert scheduled_reports.last_period("weekly", at(2026, 1, 1)).key == "2025-W52"


def test_only_admins_choose_a_report(world):
    with pytest.raises(NotAllowed):
        scheduled_reports.set_subscription(world.users["staff"], "weekly", actor="test")
    with pytest.raises(ValidationError):
        scheduled_reports.set_subscription(world.users["admin"], "daily", actor="test")


def test_key_numbers_are_the_hand_counts(world):
    numbers = scheduled_reports.key_numbers(scheduled_reports.last_period("weekly", NOW), NOW)
    assert numbers == {"issued": 1, "revoked": 0, "completions": 0, "held": 6, "expiring_30_days": 1,
                       "top_certifications": [("Mixed", 1)]}
    march = scheduled_reports.last_period("monthly", at(2026, 4, 2))
    numbers = scheduled_reports.key_numbers(march, at(2026, 4, 2))
    assert (numbers["issued"], numbers["completions"], numbers["revoked"]) == (2, 2, 0)
    assert numbers["top_certifications"] == [("Data Protection", 2)]
    april = scheduled_reports.last_period("monthly", at(2026, 5, 3))
    assert scheduled_reports.key_numbers(april, at(2026, 5, 3))["revoked"] == 1


def test_each_period_is_sent_once_with_the_csv_attached(world, make_user, jobs, smtp_server):
    other = make_user("admin", email="boss@example.com", name="Bo Boss")
    subscribe(world.users["admin"], "weekly")
    subscribe(other, "monthly")
    assert scheduled_reports.send_due(NOW) == 2
    db.session.commit()
    assert scheduled_reports.send_due(NOW + timedelta(hours=5)) == 0  # same periods: nothing new
    db.session.commit()
    jobs()
    messages = smtp_server.wait_for(2)
    weekly = next(m for m in messages if m["To"] == "admin@example.com")
    assert "week 2026-W24" in weekly["Subject"]
    text = weekly.get_body(("plain",)).get_content()
    assert "1 certificate(s) issued" in text and "6 certificate(s) held" in text and "Mixed: 1" in text
    assert "/analytics/?from=2026-06-08&to=2026-06-14" in text
    attachment = next(weekly.iter_attachments())
    assert attachment.get_filename() == "laurel-weekly-report-2026-W24.csv"
    assert attachment.get_content_type() == "text/csv"
    payload = attachment.get_payload(decode=True).decode()
    rows = list(csv.reader(io.StringIO(payload)))
    assert rows[0] == scheduled_reports.CSV_HEADER
    assert [(r[0], r[1], r[4], r[7]) for r in rows[1:]] == [("LAU-TEST-0008", "Ann Archer", "Mixed", "valid")]
    monthly = next(m for m in messages if m["To"] == "boss@example.com")
    assert "May 2026" in monthly["Subject"]
    assert "No certificates were issued in this period." in monthly.get_body(("plain",)).get_content()
    # A week later only the weekly report is due again, for the new week.
    assert scheduled_reports.send_due(NOW + timedelta(days=7)) == 1
    db.session.commit()
    keys = sorted(k for (k,) in db.session.query(OutboxEmail.dedupe_key))
    assert keys == [f"report:monthly:2026-05:{other.id}", f"report:weekly:2026-W24:{world.users['admin'].id}",
                    f"report:weekly:2026-W25:{world.users['admin'].id}"]


def test_inactive_or_demoted_admins_get_nothing(world, make_user):
    gone = make_user("admin", email="gone@example.com")
    subscribe(gone, "weekly")
    subscribe(world.users["admin"], "weekly")
    gone.active = False
    world.users["admin"].role = "staff"
    db.session.commit()
    assert scheduled_reports.send_due(NOW) == 0


def test_cron_job_runs_through_the_worker(world, jobs, smtp_server, frozen):
    from app.tasks.reports import send_scheduled_reports
    from app.tasks.schedule import SCHEDULE

    assert any(job == "app.tasks.reports.send_scheduled_reports" for job, _, _ in SCHEDULE)
    subscribe(world.users["admin"], "monthly")
    assert send_scheduled_reports() == {"queued": 1}
    assert send_scheduled_reports() == {"queued": 0}
    jobs()
    assert len(smtp_server.wait_for(1)) == 1
    assert db.session.query(OutboxEmail).one().status == "sent"
