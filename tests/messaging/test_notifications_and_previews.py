"""In-app notifications (the bell) and the admin email previews."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Notification
from app.services.lifecycle import revocation
from app.services.messaging import email_preview, notifications
from tests.support.certificates import at

HTMX = {"HX-Request": "true"}


def _kinds(user) -> list[str]:
    return list(db.session.scalars(select(Notification.kind).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def test_lifecycle_events_become_notifications(learner, issue):
    cert = issue(learner, at(2026, 1, 10, 9))
    revocation.revoke(cert, "Wrong person", actor="test")
    revocation.reinstate(cert, actor="test")
    issue(learner, at(2027, 11, 1), renewed_from=cert)
    db.session.commit()
    assert _kinds(learner) == ["issued", "revoked", "reinstated", "renewed"]  # a renewal is said once
    first = db.session.scalar(select(Notification).order_by(Notification.id))
    assert first.title == "Certificate issued: First Aid Level 2"
    assert first.link == f"/me/certificates#cert-{cert.id}"
    assert notifications.unread_count(learner.id) == 4


def test_bell_shows_unread_and_marks_read(login_as, learner, make_user, issue):
    issue(learner)
    client = login_as(learner)
    bell = client.get("/notifications/bell", headers=HTMX)
    assert bell.status_code == 200 and "HX-Request" in bell.headers["Vary"]
    html = bell.get_data(as_text=True)
    assert 'data-testid="bell-count">1<' in html and "Certificate issued: First Aid Level 2" in html
    assert 'hx-trigger="every 30s, sse:bell"' in html  # the stream, with polling as the fallback
    page = client.get("/me/certificates").get_data(as_text=True)
    assert 'id="notification-bell"' in page  # in the navbar of every page
    row = db.session.scalar(select(Notification))
    response = client.post(f"/notifications/{row.id}/read", data={"csrf_token": client.csrf_token})
    assert response.status_code == 302 and response.location.endswith(row.link)
    assert notifications.unread_count(learner.id) == 0
    # someone else cannot read (or learn about) it
    other = login_as(make_user("learner"))
    response = other.post(f"/notifications/{row.id}/read", data={"csrf_token": other.csrf_token})
    assert response.status_code == 404


def test_mark_all_read(login_as, learner):
    for _ in range(3):
        notifications.create(learner.id, "issued", "Hello", "World", "/me/certificates")
    db.session.commit()
    client = login_as(learner)
    response = client.post("/notifications/read-all", headers={**HTMX, "X-CSRFToken": client.csrf_token})
    assert response.status_code == 200 and "bell-count" not in response.get_data(as_text=True)
    assert notifications.unread_count(learner.id) == 0
    listing = client.get("/notifications").get_data(as_text=True)
    assert listing.count('class="list-group-item') == 3


def test_notification_links_stay_on_the_site(login_as, learner):
    row = notifications.create(learner.id, "issued", "Phish", "", "https://evil.example/")
    db.session.commit()
    client = login_as(learner)
    response = client.post(f"/notifications/{row.id}/read", data={"csrf_token": client.csrf_token})
    assert response.location.endswith("/notifications")


def test_bell_poll_after_logout_stops_quietly(client):
    response = client.get("/notifications/bell", headers=HTMX)
    assert response.status_code == 286 and response.data == b""
    assert client.get("/notifications/bell").status_code == 302  # a plain request goes to the login page


def test_expiring_notification(learner, issue):
    from app.tasks.daily import run_steps

    issue(learner, at(2026, 1, 10, 9))
    run_steps(at(2027, 12, 12))
    row = db.session.scalar(select(Notification).where(Notification.kind == "expiring"))
    assert row.title == "First Aid Level 2 expires in 29 days"


def test_every_email_template_previews(app):
    names = email_preview.template_names()
    assert {"certificate_reminder", "certificate_expired", "certificate_shared", "admin_digest",
            "certificate_revoked", "certificate_reinstated", "invite", "password_reset"} <= set(names)
    for name in names:
        preview = email_preview.render(name)
        assert preview.text.strip() and "<html" in preview.html, name
        assert app.config["ORG_NAME"] in preview.html, name


@pytest.mark.parametrize("name", ["certificate_reminder", "certificate_expired", "certificate_shared",
                                  "admin_digest", "certificate_revoked", "certificate_reinstated", "invite",
                                  "password_reset"])
def test_sample_data_covers_the_template(name):
    """Ours and the foundation's, strictly; other capabilities' templates preview leniently (above)."""
    preview = email_preview.render(name, strict=True)  # StrictUndefined: a missing variable raises
    assert preview.missing is None


def test_preview_pages(login_as, admin, learner):
    client = login_as(admin)
    listing = client.get("/admin/emails")
    assert listing.status_code == 200
    for name in email_preview.template_names():
        assert f"/admin/emails/{name}" in listing.get_data(as_text=True)
    detail = client.get("/admin/emails/certificate_reminder")
    html = detail.get_data(as_text=True)
    assert detail.status_code == 200 and 'sandbox=""' in html
    assert "/admin/emails/certificate_reminder/html" in html
    assert "Lena Learner" in html  # the text part, shown as text
    raw = client.get("/admin/emails/certificate_reminder/html")
    csp = raw.headers["Content-Security-Policy"]
    assert raw.status_code == 200 and raw.mimetype == "text/html"
    assert "style-src 'unsafe-inline'" in csp and "sandbox" in csp and "script-src" not in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'self'" in csp
    assert raw.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert client.get("/admin/emails/nope").status_code == 404
    assert client.get("/admin/emails/_layout/html").status_code == 404
    assert login_as(learner).get("/admin/emails").status_code == 403
