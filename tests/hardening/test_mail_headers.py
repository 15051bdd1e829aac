"""Issue #11 item 2 (mail half): every mail header is built through the email package's header API, so
even a name stored with CR/LF before the input rule (legacy data) can never add a header. A real SMTP
server receives the message: no Bcc, one recipient, and the send succeeds."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

from sqlalchemy import select, update

from app.extensions import db
from app.models import Certification, OutboxEmail, User
from app.services.messaging import mail_headers, outbox
from app.services.sharing import shares
from tests.support.catalog_fixtures import first_aid, make_certification, make_course  # noqa: F401

INJECTED = "Lena\r\nBcc: spy@example.com"


def _assert_clean(message) -> None:
    assert message["Bcc"] is None and message.get_all("Bcc") is None
    assert "spy@example.com" not in message["To"]
    for name, value in message.items():
        assert "\n" not in str(value) and "\r" not in str(value), (name, value)


def test_a_subject_with_crlf_is_sent_as_one_line_without_a_bcc(smtp_server, jobs):
    row = outbox.queue_email("learner@example.com", "password_reset", subject=f"Hello {INJECTED}",
                           context={"name": INJECTED, "link": "http://localhost/x"})
    db.session.commit()
    jobs()
    [message] = smtp_server.wait_for(1)
    _assert_clean(message)
    assert message["Subject"] == "Hello Lena  Bcc: spy@example.com"
    assert message["To"] == "learner@example.com"
    db.session.expire_all()
    assert db.session.get(OutboxEmail, row.id).status == "sent"


def test_legacy_names_in_a_share_mail_cannot_inject(smtp_server, jobs, learner, first_aid):  # noqa: F811
    """A learner and a certification named with CR/LF before the rule existed: the share mail's subject
    holds both names, and still goes out clean."""
    from datetime import UTC, datetime

    from app.services.lifecycle import enrollment

    cert_row, fa101, fa102 = first_aid
    enrollment.record_completion(learner, fa101, score=80, completed_at=datetime(2026, 1, 1, tzinfo=UTC),
                                 actor="test")
    [cert] = enrollment.record_completion(learner, fa102, score=90,
                                          completed_at=datetime(2026, 1, 2, tzinfo=UTC), actor="test")
    db.session.commit()
    # What the old code let in (written around the services, as legacy rows were):
    db.session.execute(update(User).where(User.id == learner.id).values(name=INJECTED))
    db.session.execute(update(Certification).where(Certification.id == cert_row.id)
                       .values(name="First Aid\r\nBcc: spy2@example.com"))
    db.session.commit()
    db.session.expire_all()
    cert.snapshot = {**(cert.snapshot or {}), "certification_name": "First Aid\r\nBcc: spy2@example.com"}
    shares.share_by_email(cert, "friend@example.com", "Have a look", actor=db.session.get(User, learner.id))
    db.session.commit()
    jobs()
    messages = [m for m in smtp_server.wait_for(1) if m["To"] == "friend@example.com"]
    assert len(messages) == 1
    _assert_clean(messages[0])
    assert "Bcc" in messages[0]["Subject"]  # kept as harmless text on the one subject line
    status = db.session.scalar(select(OutboxEmail.status).where(OutboxEmail.to == "friend@example.com"))
    assert status == "sent"


def test_the_file_backend_writes_the_same_clean_message(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "file")
    row = outbox.queue_email("learner@example.com", "password_reset", subject=INJECTED,
                           context={"name": "Lena", "link": "http://localhost/x"})
    db.session.commit()
    outbox.send(row)
    raw = (Path(app.instance_path) / "mail" / f"{row.id:06d}.eml").read_bytes()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    _assert_clean(message)
    head = raw.split(b"\r\n\r\n", 1)[0]  # the header block (the body may quote the subject as text)
    assert b"\nBcc:" not in head and head.count(b"Subject:") == 1


def test_sender_and_extra_headers_are_flattened_too():
    message = mail_headers.compose(
        sender="Laurel\r\nBcc: spy@example.com <no-reply@laurel.local>", to="a@example.com",
        subject="Hi", text="Body", html=None, message_id="<1@laurel.local>",
        headers={"X-Note": "one\r\nBcc: spy@example.com"},
        attachments=[("re\r\nport.csv", "text/csv", b"a,b")])
    raw = message.as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    _assert_clean(parsed)
    assert parsed["From"].addresses[0].addr_spec == "no-reply@laurel.local"
    assert [part.get_filename() for part in parsed.iter_attachments()] == ["re  port.csv"]
