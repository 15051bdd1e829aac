"""The Analytics page (full page vs htmx fragment, roles, filters) and its streamed CSV exports."""

from __future__ import annotations

import csv
import io

import pytest

from app.extensions import db
from app.models import AuditEvent, ReportSubscription

HX = {"HX-Request": "true"}


@pytest.fixture
def admin_client(world, login_as, frozen):
    return login_as(world.users["admin"])


def test_full_page_has_charts_tables_and_text_alternatives(admin_client):
    response = admin_client.get("/analytics/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert "<html" in html and 'id="analytics-filters"' in html and "chart.umd.min.js" in html
    for name in ("issued-per-month", "by-certification", "status", "by-department", "by-category",
                 "completion-rate", "completion-by-department", "engagement"):
        assert f'data-chart="chart-data-{name}"' in html
        assert f'<script type="application/json" id="chart-data-{name}">' in html
        assert f"/analytics/export/{name}.csv" in html
    assert html.count("<details") == 8 and "Data table" in html
    for title in ("Top performers", "Recent completions", "Expiring in the next 90 days"):
        assert title in html
    assert "Ann Archer" in html and "LAU-TEST-0002" in html
    assert "<script>" not in html and " style=" not in html.split("<body", 1)[1]  # CSP: nothing inline
    assert "Scheduled report" in html


def test_htmx_gets_the_fragment_with_the_filtered_figures(admin_client, world):
    response = admin_client.get("/analytics/?department=Engineering", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and 'id="analytics-filters"' not in html and "data-analytics-results" in html
    assert "department “Engineering”" in html
    assert "Cat Chen" in html and "Ann Archer" not in html
    assert "/analytics/export/status.csv?department=Engineering" in html


def test_history_restore_gets_the_full_page(admin_client):
    response = admin_client.get("/analytics/?category=Safety",
                                headers={**HX, "HX-History-Restore-Request": "true"})
    html = response.get_data(as_text=True)
    assert "<html" in html and '<option selected>Safety</option>' in html


def test_bad_filters_answer_422_with_messages(admin_client):
    response = admin_client.get("/analytics/?from=2026-02-30&certification=x", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Check the filters" in html and "Use a date like" in html and "Choose a certification" in html
    assert admin_client.get("/analytics/?to=nope").status_code == 422


def test_staff_read_only_learner_refused_anonymous_sent_to_login(world, login_as, client, frozen):
    html = login_as(world.users["staff"]).get("/analytics/").get_data(as_text=True)
    assert "Read-only" in html and "Scheduled report" not in html and 'href="/analytics/"' in html
    assert login_as(world.users["ann"]).get("/analytics/").status_code == 403
    assert login_as(world.users["ann"]).get("/analytics/export/status.csv").status_code == 403
    assert client.get("/analytics/").status_code == 302
    staff = login_as(world.users["staff"])
    response = staff.post("/analytics/report", data={"frequency": "weekly", "csrf_token": staff.csrf_token})
    assert response.status_code == 403


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_chart_csv_export_honours_filters(admin_client, world):
    response = admin_client.get("/analytics/export/completion-rate.csv?department=Nursing")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert 'filename="laurel-completion-rate.csv"' in response.headers["Content-Disposition"]
    assert _csv(response) == [
        ["Course", "Completion rate (%)", "Course title", "Completed", "Enrolled (not withdrawn)"],
        ["DP-110", "100.0", "Course DP-110", "2", "2"], ["FA-101", "100.0", "Course FA-101", "2", "2"],
        ["FA-102", "100.0", "Course FA-102", "2", "2"], ["LD-300", "100.0", "Course LD-300", "1", "1"]]
    rows = _csv(admin_client.get("/analytics/export/issued-per-month.csv?from=2026-03-01&to=2026-06-30"))
    assert rows == [["Month", "Certificates issued"], ["2026-03", "2"], ["2026-04", "0"], ["2026-05", "0"],
                    ["2026-06", "2"]]
    rows = _csv(admin_client.get("/analytics/export/engagement.csv"))
    assert rows[0] == ["Month", "Views", "Downloads", "Shares", "LinkedIn clicks"]
    assert ["2026-01", "5", "2", "0", "0"] in rows and len(rows) == 13


def test_table_csv_exports_every_row(admin_client):
    rows = _csv(admin_client.get("/analytics/export/top-performers.csv"))
    assert rows == [["Name", "Email", "Department", "Certificates held", "Average score"],
                    ["Ann Archer", "ann@example.com", "Nursing", "3", "80.0"],
                    ["Ben Bose", "ben@example.com", "Nursing", "2", "81.7"],
                    ["Dan Dahl", "dan@example.com", "", "1", ""]]
    response = admin_client.get("/analytics/export/expiring.csv?certification=999999")
    assert response.status_code == 422
    rows = _csv(admin_client.get("/analytics/export/expiring.csv"))
    assert [r[2] for r in rows[1:]] == ["LAU-TEST-0002", "LAU-TEST-0006", "LAU-TEST-0007"]
    rows = _csv(admin_client.get("/analytics/export/recent-completions.csv?category=Safety"))
    assert len(rows) == 1 + 4 and {r[4] for r in rows[1:]} == {"FA-101", "FA-102"}
    assert admin_client.get("/analytics/export/nope.csv").status_code == 404


def test_large_table_export_streams_in_chunks(admin_client, world):
    """Many rows go out as several chunks (rows are read in batches, not built up in memory)."""
    from app.models import Completion, Enrollment

    enrollment = db.session.query(Enrollment).filter_by(status="completed").first()
    from datetime import timedelta

    base = enrollment.completed_at
    db.session.add_all(Completion(enrollment_id=enrollment.id, user_id=enrollment.user_id,
                                  course_id=enrollment.course_id, completed_at=base - timedelta(minutes=i),
                                  score=50) for i in range(1, 3001))
    db.session.commit()
    response = admin_client.get("/analytics/export/recent-completions.csv")
    chunks = list(response.response)
    assert len(chunks) > 3
    text = "".join(c if isinstance(c, str) else c.decode() for c in chunks)
    assert text.count("\n") == 3009


def test_report_subscription_form(admin_client, world):
    token = admin_client.csrf_token
    response = admin_client.post("/analytics/report", data={"frequency": "monthly", "csrf_token": token})
    assert response.status_code == 302
    sub = db.session.query(ReportSubscription).one()
    assert (sub.user_id, sub.frequency) == (world.users["admin"].id, "monthly")
    assert 'value="monthly" selected' in admin_client.get("/analytics/").get_data(as_text=True)
    admin_client.post("/analytics/report", data={"frequency": "sometimes", "csrf_token": token})
    assert db.session.query(ReportSubscription).one().frequency == "monthly"
    admin_client.post("/analytics/report", data={"frequency": "", "csrf_token": token})
    assert db.session.query(ReportSubscription).count() == 0
    actions = [a for (a,) in db.session.query(AuditEvent.action).filter(AuditEvent.action.like("report.%"))]
    assert actions == ["report.subscribed", "report.unsubscribed"]
    assert admin_client.post("/analytics/report", data={"frequency": "weekly"}).status_code == 400  # no CSRF


def test_navigation_entry(world, login_as, frozen):
    html = login_as(world.users["admin"]).get("/").get_data(as_text=True)
    assert 'href="/analytics/"' in html and "Analytics" in html
    assert 'href="/analytics/"' not in login_as(world.users["ann"]).get("/").get_data(as_text=True)
