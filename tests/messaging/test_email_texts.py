"""Admin-editable email texts (Admin > Emails): save, reset, preview, hostile input, real sends, fallback;
and the mail log's HTML part in a sandboxed document."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, EmailText, OutboxEmail
from app.services.errors import ValidationError
from app.services.lifecycle import revocation
from app.services.messaging import email_texts, outbox
from tests.support.certificates import at
from tests.support.web import htmx_headers

EDIT = "/admin/emails/certificate_revoked/edit"
SUBJECT = "{{ org_name }}: {{ serial }} withdrawn"
BODY = ("Dear {{ name }},\n\nWe withdrew {{ certification }} <b>today</b>.\nReason: {{ reason }}\n\n"
        "[Check the status]({{ verify_url }})\n\nQuestions? Write to https://help.example.org/certs")


def _parts(message) -> dict[str, str]:
    return {p.get_content_type(): p.get_content() for p in message.walk() if not p.is_multipart()}


def _save(client, subject: str = SUBJECT, body: str = BODY, name: str = "certificate_revoked"):
    return client.post(f"/admin/emails/{name}/edit",
                       data={"subject": subject, "body": body, "csrf_token": client.csrf_token})


def _texts() -> list[tuple[str, str, str]]:
    db.session.expire_all()
    return [(r.template, r.subject, r.body) for r in db.session.scalars(select(EmailText))]


# --------------------------------------------------------------------------------------------
# Editing, resetting, who may
# --------------------------------------------------------------------------------------------


def test_admin_edits_and_resets_a_text(login_as, admin):
    client = login_as(admin)
    page = client.get(EDIT)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Default template" in html
    # The form starts from a text close to the built-in one, with this email's placeholders listed.
    assert "Your certificate {{ serial }} has been revoked" in html
    assert 'data-insert="{{ reason }}"' in html and "Reset to default" not in html

    response = _save(client)
    assert response.status_code == 302 and response.location.endswith(EDIT)
    assert _texts() == [("certificate_revoked", SUBJECT, BODY)]
    html = client.get(EDIT).get_data(as_text=True)
    assert "Your text" in html and "Reset to default" in html and "withdrawn" in html
    listing = client.get("/admin/emails").get_data(as_text=True)
    assert "/admin/emails/certificate_revoked/edit" in listing and "Your text" in listing

    response = client.post("/admin/emails/certificate_revoked/reset", data={"csrf_token": client.csrf_token})
    assert response.status_code == 302 and _texts() == []
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "email_text")
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["email_text.saved", "email_text.reset"]


@pytest.mark.parametrize("role", ["learner", "staff"])
def test_only_admins_edit_preview_or_reset(login_as, make_user, admin, role):
    email_texts.save("certificate_revoked", SUBJECT, BODY, actor=admin)
    db.session.commit()
    client = login_as(make_user(role))
    data = {"subject": "Hacked", "body": "Hacked", "csrf_token": client.csrf_token}
    assert client.get(EDIT).status_code == 403
    assert client.post(EDIT, data=data).status_code == 403
    assert client.post("/admin/emails/certificate_revoked/preview", data=data).status_code == 403
    assert client.post("/admin/emails/certificate_revoked/preview.html", data=data).status_code == 403
    assert client.post("/admin/emails/certificate_revoked/reset", data=data).status_code == 403
    assert _texts() == [("certificate_revoked", SUBJECT, BODY)]


def test_anonymous_is_sent_to_login_and_csrf_is_required(client, login_as, admin):
    assert client.get(EDIT).status_code == 302
    admin_client = login_as(admin)
    response = admin_client.post(EDIT, data={"subject": "x", "body": "y"})  # no CSRF token
    assert response.status_code == 400 and _texts() == []


def test_unknown_or_non_editable_email_is_404(login_as, admin):
    client = login_as(admin)
    assert client.get("/admin/emails/password_reset/edit").status_code == 404
    assert client.get("/admin/emails/nope/edit").status_code == 404
    assert _save(client, name="invite").status_code == 404


# --------------------------------------------------------------------------------------------
# Hostile input: 422, nothing changed
# --------------------------------------------------------------------------------------------

HOSTILE = [
    ("body", "Hello {{ holder_name }}", "Unknown placeholder {{ holder_name }}"),
    ("body", "Hello {{ nme }}", "did you mean {{ name }}"),
    ("body", "{{ ''.__class__ }}", "only allowed around a placeholder name"),
    ("body", "{{ name.__class__.__mro__ }}", "only allowed around a placeholder name"),
    ("body", "{% for x in range(10**9) %}{{ name }}{% endfor %}", "only allowed around a placeholder name"),
    ("body", "{{ name|upper }}", "only allowed around a placeholder name"),
    ("body", "{# comment #} hi", "only allowed around a placeholder name"),
    ("body", "x" * 1_000_000, "5000"),
    ("body", "{{ name }} " * 101, "At most 100 placeholders"),
    ("body", "Hello\x07bell", "control character"),
    ("body", "", "This field is required"),
    ("subject", "Line one\nBcc: everyone@example.com", "line break"),
    ("subject", "s" * 201, "200"),
    ("subject", "{{ config }}", "Unknown placeholder {{ config }}"),
]


@pytest.mark.parametrize(("field", "value", "message"), HOSTILE)
def test_hostile_text_is_refused_and_changes_nothing(login_as, admin, field, value, message):
    email_texts.save("certificate_revoked", SUBJECT, BODY, actor=admin)
    db.session.commit()
    client = login_as(admin)
    data = {"subject": SUBJECT, "body": BODY, field: value}
    response = _save(client, data["subject"], data["body"])
    assert response.status_code == 422
    assert message in response.get_data(as_text=True).replace("&#34;", '"').replace("&#39;", "'")
    assert _texts() == [("certificate_revoked", SUBJECT, BODY)]
    preview = client.post("/admin/emails/certificate_revoked/preview", headers=htmx_headers(client),
                          data={"subject": data["subject"], "body": data["body"]})
    assert preview.status_code == 422 and "cannot be saved yet" in preview.get_data(as_text=True)
    frame = client.post("/admin/emails/certificate_revoked/preview.html",
                        data={**data, "csrf_token": client.csrf_token})
    assert frame.status_code == 422 and "sandbox" in frame.headers["Content-Security-Policy"]


def test_the_service_refuses_too(admin):
    with pytest.raises(ValidationError) as refused:
        email_texts.save("certificate_issued", "{{ ''.__class__ }}", "{{ holder }}", actor=admin)
    assert set(refused.value.errors) == {"subject", "body"}
    assert db.session.scalar(select(func.count()).select_from(EmailText)) == 0


# --------------------------------------------------------------------------------------------
# Preview
# --------------------------------------------------------------------------------------------


def test_live_preview_renders_sample_data_in_both_parts(login_as, admin):
    client = login_as(admin)
    data = {"subject": SUBJECT, "body": BODY}
    fragment = client.post("/admin/emails/certificate_revoked/preview", headers=htmx_headers(client),
                           data=data)
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert "Laurel Academy: LAU-2026-000123 withdrawn" in text  # org name and sample serial
    assert "Dear Lena Learner," in text and "Check the status: http://localhost/verify/" in text
    assert 'hx-swap-oob="true"' in text  # the text part goes to its tab

    frame = client.post("/admin/emails/certificate_revoked/preview.html",
                        data={**data, "csrf_token": client.csrf_token})
    html = frame.get_data(as_text=True)
    assert frame.status_code == 200 and frame.mimetype == "text/html"
    csp = frame.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp and "script-src" not in csp
    assert frame.headers["X-Frame-Options"] == "SAMEORIGIN"
    # Typed markup is text, never markup; the button and the address are links.
    assert "&lt;b&gt;today&lt;/b&gt;" in html and "<b>today" not in html
    assert ">Check the status</a>" in html and 'href="https://help.example.org/certs"' in html
    assert "Laurel Academy" in html  # inside the usual layout
    assert _texts() == []  # previews never save


# --------------------------------------------------------------------------------------------
# Real sends
# --------------------------------------------------------------------------------------------


def test_a_real_send_uses_the_custom_subject_and_body_in_both_parts(admin, learner, issue, jobs, smtp_server):
    cert = issue(learner, at(2026, 1, 10, 9))
    email_texts.save("certificate_revoked", SUBJECT, BODY, actor=admin)
    db.session.commit()
    revocation.revoke(cert, "Wrong <script>alert(1)</script> person", actor=admin)
    db.session.commit()
    jobs()
    message = next(m for m in smtp_server.wait_for(1) if "withdrawn" in m["Subject"])
    assert message["Subject"] == f"Laurel Academy: {cert.serial} withdrawn"
    parts = _parts(message)
    text, html = parts["text/plain"], parts["text/html"]
    assert "Dear Lena Learner," in text and "We withdrew First Aid Level 2 <b>today</b>." in text
    assert "Reason: Wrong <script>alert(1)</script> person" in text
    assert f"Check the status: http://localhost/verify/{cert.code}" in text
    assert "Dear Lena Learner,<br>" not in html and "Dear Lena Learner," in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html
    assert f'href="http://localhost/verify/{cert.code}"' in html


def test_an_unedited_email_keeps_the_file_template(learner, issue, jobs, smtp_server):
    cert = issue(learner, at(2026, 1, 10, 9))
    revocation.revoke(cert, "Wrong person", actor="test")
    db.session.commit()
    jobs()
    message = next(m for m in smtp_server.wait_for(1) if "revoked" in m["Subject"])
    assert message["Subject"] == f"Your certificate {cert.serial} has been revoked"
    assert "If you think this is a mistake" in _parts(message)["text/plain"]


def test_a_text_that_fails_at_send_time_falls_back_to_the_default(admin, jobs, smtp_server, caplog):
    # Stored around the checks (an older version, a hand edit): the mail must still go out.
    db.session.add(EmailText(template="certificate_reinstated", subject="{{ broken",
                             body="Hello {{ not_a_placeholder }}"))
    db.session.commit()
    with caplog.at_level(logging.ERROR):
        row = outbox.queue_email("lena@example.com", "certificate_reinstated",
                                 subject="Your certificate LAU-1 is valid again",
                                 context={"name": "Lena", "certification": "First Aid", "serial": "LAU-1",
                                          "verify_url": "http://localhost/verify/x"})
        db.session.commit()
    assert row.subject == "Your certificate LAU-1 is valid again"
    assert "custom text of the certificate_reinstated email failed" in caplog.text
    jobs()
    [message] = smtp_server.wait_for(1)
    assert "has been reinstated and is valid again" in _parts(message)["text/plain"]
    assert db.session.get(OutboxEmail, row.id, populate_existing=True).status == "sent"


def test_every_editable_email_renders_its_starting_text_with_sample_data(app):
    from app.services.messaging import email_preview

    for name, kind in email_texts.KINDS.items():
        preview = email_preview.draft(name, kind.subject, kind.body)
        assert "{{" not in preview.subject + preview.text + preview.html, name
        assert "Laurel Academy" in preview.html and preview.text.strip(), name


# --------------------------------------------------------------------------------------------
# Mail log: the HTML part, sandboxed
# --------------------------------------------------------------------------------------------


def test_mail_log_shows_the_html_part_in_a_sandboxed_document(login_as, admin, staff):
    row = outbox.queue_email("lena@example.com", "certificate_reinstated", subject="Hi",
                             context={"name": "Lena", "certification": "First Aid", "serial": "LAU-1",
                                      "verify_url": "http://localhost/verify/x"})
    row.html_body = ('<p>Hello</p><script>parent.document.title="pwned"</script>'
                     '<img src="https://tracker.example.com/p.gif" onerror="alert(1)">')
    db.session.commit()
    client = login_as(admin)
    detail = client.get(f"/admin/mail/{row.id}").get_data(as_text=True)
    assert f'<iframe class="mail-frame" sandbox="" src="/admin/mail/{row.id}/html"' in detail
    assert "has been reinstated" in detail  # the text part, in its tab
    response = client.get(f"/admin/mail/{row.id}/html")
    assert response.status_code == 200 and response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    # No script-src: default-src 'none' forbids every script; "sandbox" forbids them even if a policy
    # were lost; remote images (trackers) do not load, only inline ones and ours.
    assert "sandbox" in csp.split("; ") and "default-src 'none'" in csp and "img-src data: 'self';" in csp
    assert "'unsafe-eval'" not in csp and "script-src" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in csp
    assert login_as(staff).get(f"/admin/mail/{row.id}/html").status_code == 403
    assert client.get("/admin/mail/999999/html").status_code == 404


def test_reminder_says_1_day_and_30_days():
    kind = email_texts.KINDS["certificate_reminder"]
    context = {"name": "Lena", "certification": "First Aid", "serial": "LAU-1", "courses": ["A", "B"],
               "expires_at": at(2026, 3, 3), "verify_url": "https://x.example/v", "org_name": "Academy",
               "certificates_url": "https://x.example/me", "preferences_url": "https://x.example/profile",
               "base_url": "https://x.example"}

    def render(days: int) -> email_texts.Rendered:
        return email_texts.render_text("certificate_reminder", kind.subject, kind.body,
                                       context | {"days_left": days})

    one, many = render(1), render(30)
    assert one.subject == "Your First Aid certificate expires in 1 day"
    assert many.subject == "Your First Aid certificate expires in 30 days"
    assert "expires on 3 March 2026, in 30 days." in many.text and "again: A, B" in many.text
    assert "Turn reminder emails off in your profile: https://x.example/profile" in many.text  # opt-out kept
    assert 'href="https://x.example/profile"' in many.html
