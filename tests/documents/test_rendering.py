"""The render pipeline through a real RQ worker: issue -> job -> PDF stored -> mail with the PDF."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.database import utcnow
from app.documents.storage import get_storage
from app.extensions import db
from app.models import AuditEvent, Certificate, OutboxEmail
from app.models.template import CertificateTemplate
from app.queue import get_redis
from app.services.documents import render_recovery, rendering
from app.services.lifecycle import certificates
from app.tasks import render as render_tasks
from app.tasks.sweep import recover_stuck_work
from tests.documents.conftest import pdf_text, stored_files


def _reload(cert: Certificate) -> Certificate:
    db.session.expire_all()
    return db.session.get(Certificate, cert.id)


def test_issue_renders_pdf_through_worker(learner, issue, jobs, fresh_storage):
    cert = issue(learner)
    assert cert.pdf_status == "pending"
    jobs()
    cert = _reload(cert)
    assert cert.pdf_status == "ready", cert.pdf_error
    assert cert.pdf_attempts == 1 and cert.pdf_error is None
    assert cert.pdf_key == f"certificates/{cert.id}/{cert.serial}-v1.pdf"
    data = get_storage().read(cert.pdf_key)
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "Lena Learner" in text
    assert cert.serial in text
    assert f"http://localhost/verify/{cert.code}" in text.replace("\n", "")
    assert "Workplace First Aider" in text
    assert certificates.pdf_state(cert) == "ready"


def test_issued_mail_has_pdf_attached_once(learner, issue, jobs, smtp_server):
    cert = issue(learner)
    jobs()
    messages = smtp_server.wait_for(1)
    assert len(messages) == 1
    message = messages[0]
    assert message["To"] == "learner@example.com"
    assert "Workplace First Aider" in message["Subject"]
    cert = _reload(cert)
    attachments = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(attachments) == 1
    assert attachments[0].get_filename() == f"{cert.serial}.pdf"
    assert attachments[0].get_content() == get_storage().read(cert.pdf_key)
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert f"http://localhost/verify/{cert.code}" in body
    # A regenerate renders again but never mails again.
    rendering.regenerate(cert, actor="test")
    db.session.commit()
    jobs()
    assert _reload(cert).pdf_attempts == 2
    assert len(smtp_server.messages) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 1


def test_double_enqueue_renders_once(learner, issue, jobs, fresh_storage, monkeypatch):
    renders = []
    real = rendering.render
    monkeypatch.setattr(rendering, "render", lambda *a, **kw: renders.append(1) or real(*a, **kw))
    cert = issue(learner)
    for _ in range(3):  # the subscriber already enqueued it once
        rendering.request_render(_reload(cert))
        db.session.commit()
    jobs()
    cert = _reload(cert)
    assert cert.pdf_status == "ready"
    assert len(renders) == 1 and cert.pdf_attempts == 1
    assert len(stored_files(fresh_storage)) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 1
    assert render_tasks.render_certificate(cert.id) == "skipped"


def _broken_template(certification) -> CertificateTemplate:
    # Saved directly: the admin service would refuse it (that is tested separately).
    html = "<html><body>\n<p>{{ holder_name.nickname }}</p>\n</body></html>"
    template = CertificateTemplate(name="Broken", html=html)
    db.session.add(template)
    db.session.flush()
    certification.template_id = template.id
    db.session.commit()
    return template


def test_template_failure_is_shown_and_retry_works(admin, learner, certification, issue, jobs, login_as):
    template = _broken_template(certification)
    cert = issue(learner)
    jobs()
    cert = _reload(cert)
    assert cert.pdf_status == "failed"
    assert "line 2" in cert.pdf_error and "nickname" in cert.pdf_error
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.pdf_failed"))
    client = login_as(admin)
    page = client.get(f"/certificates/{cert.id}/pdf/status").get_data(as_text=True)
    assert "PDF failed" in page and "nickname" in page and "Retry" in page
    documents = client.get(f"/admin/certifications/{certification.id}/documents").get_data(as_text=True)
    assert cert.serial in documents and "1 failed" in documents
    template.html = "<html><body><p>{{ holder_name }}</p></body></html>"
    db.session.commit()
    response = client.post(f"/certificates/{cert.id}/regenerate", headers={"X-CSRFToken": client.csrf_token,
                                                                            "HX-Request": "true"})
    assert response.status_code == 200 and "being generated" in response.get_data(as_text=True)
    jobs()
    cert = _reload(cert)
    assert cert.pdf_status == "ready" and cert.pdf_error is None
    assert "Lena Learner" in pdf_text(get_storage().read(cert.pdf_key))


def test_transient_failure_retries_with_backoff(learner, issue, jobs, monkeypatch):
    storage = get_storage()
    real_put = storage.put
    calls = {"n": 0}

    def flaky_put(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk full")
        return real_put(*args, **kwargs)

    monkeypatch.setattr(storage, "put", flaky_put)
    cert = issue(learner)
    jobs()
    cert = _reload(cert)
    assert cert.pdf_status == "pending" and "disk full" in cert.pdf_error
    scheduled = get_redis().zrange("rq:scheduled:render", 0, -1)  # renders have their own queue
    assert scheduled == [f"pdf-{cert.id}-1-2".encode()]
    assert render_tasks.render_certificate(cert.id, 2) == "ready"
    assert _reload(cert).pdf_status == "ready"


def test_redis_flushed_sweep_recovers_pending_pdfs_and_mail(app, learner, make_user, issue, jobs, smtp_server,
                                                            monkeypatch):
    first = issue(learner)
    second = issue(make_user("learner", name="Ølaf Öberg"))
    get_redis().flushdb()  # the render jobs are gone
    jobs()
    assert _reload(first).pdf_status == "pending"
    assert recover_stuck_work()["pdf"] == 0  # inside the grace period: a job may still be on its way
    monkeypatch.setitem(app.config, "PDF_PENDING_GRACE_SECONDS", 0)
    assert recover_stuck_work()["pdf"] == 2
    jobs(max_jobs=1)  # one render; it queues its mail job
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 1
    get_redis().flushdb()  # lose the mail job and the other render
    assert smtp_server.messages == []
    counts = recover_stuck_work()
    assert (counts["pdf"], counts["mail"]) == (1, 1)
    jobs()
    assert {_reload(first).pdf_status, _reload(second).pdf_status} == {"ready"}
    assert sorted(m["To"] for m in smtp_server.wait_for(2)) == ["learner2@example.com", "learner@example.com"]
    counts = recover_stuck_work()
    assert (counts["pdf"], counts["mail"]) == (0, 0)
    jobs()
    assert len(smtp_server.messages) == 2


def test_interrupted_render_recovered_then_failed_if_it_keeps_dying(app, learner, issue, monkeypatch):
    cert = issue(learner)
    assert rendering.claim(cert.id) == 1  # a worker claimed it and died
    db.session.commit()
    later = utcnow() + timedelta(hours=1)
    assert render_recovery.recover(now=later) == {"pdf": 1}
    db.session.commit()
    cert = _reload(cert)
    assert cert.pdf_status == "pending" and cert.pdf_error == rendering.INTERRUPTED
    assert rendering.claim(cert.id) == 2  # and died again
    db.session.commit()
    assert render_recovery.recover(now=later + timedelta(hours=1)) == {"pdf": 0}
    db.session.commit()
    cert = _reload(cert)
    assert cert.pdf_status == "failed" and "interrupted twice" in cert.pdf_error


def test_bulk_regenerate_for_certification(learner, make_user, certification, issue, jobs, fresh_storage):
    certs = [issue(learner), issue(make_user("learner"))]
    jobs()
    assert rendering.regenerate_certification(certification, actor="test") == 2
    db.session.commit()
    assert rendering.state_counts(certification.id) == {"pending": 2, "ready": 0, "failed": 0}
    jobs()
    assert rendering.state_counts(certification.id) == {"pending": 0, "ready": 2, "failed": 0}
    for cert in certs:
        assert _reload(cert).pdf_key.endswith("-v2.pdf")
    # the first versions are gone once their mail went out
    assert [p.name.endswith("-v2.pdf") for p in stored_files(fresh_storage)] == [True, True]


@pytest.mark.parametrize("name", ["Ελένη Παπαδοπούλου", "Анна Иванова", "山田 さくら"])
def test_names_in_other_scripts(make_user, issue, jobs, name):
    cert = issue(make_user("learner", name=name))
    jobs()
    cert = _reload(cert)
    assert cert.pdf_status == "ready"
    assert name in pdf_text(get_storage().read(cert.pdf_key))


def test_database_error_before_the_claim_is_retried_by_rq(learner, issue, jobs, monkeypatch):
    from sqlalchemy.exc import OperationalError

    real_claim = rendering.claim
    calls = {"n": 0}

    def locked_once(cert_id, now=None):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("UPDATE certificates", {}, Exception("database is locked"))
        return real_claim(cert_id, now)

    monkeypatch.setattr(rendering, "claim", locked_once)
    cert = issue(learner)
    jobs()
    assert calls["n"] == 2
    assert _reload(cert).pdf_status == "ready"


def test_jobs_wait_for_the_real_commit_not_a_savepoint(learner, certification):
    """issuing uses a SAVEPOINT per certificate; SQLAlchemy 2.1 fires after_commit on its release."""
    from app.queue import get_queue
    from app.services.lifecycle import issuing

    issuing.issue(learner, certification, actor="test", note="savepoint")  # released SAVEPOINT inside
    assert get_queue("render").count == 0  # a worker must not see the job before the row
    db.session.commit()
    assert get_queue("render").count == 1
