"""Certificate PDF export: each newly rendered PDF copied to a real folder or a bucket on a real
S3-compatible server (moto on loopback), by real RQ jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.database import utcnow
from app.documents.storage import get_storage
from app.extensions import db
from app.models import Certificate
from app.models.integration import ExportedPdf, IntegrationLog
from app.queue import get_queue
from app.services.documents import rendering
from app.services.integrations import pdf_exports, registry, syncs
from app.services.lifecycle import issuing, revocation
from app.tasks.integrations import export_pdf
from app.tasks.render import render_certificate
from tests.integrations.conftest import run_scheduled
from tests.support import s3


@pytest.fixture(autouse=True)
def fresh_storage(app, tmp_path):
    """Rendered PDFs go to this test's own folder (local storage backend)."""
    saved = {k: app.config.get(k) for k in ("STORAGE_BACKEND", "STORAGE_ROOT")}
    app.config.update(STORAGE_BACKEND="local", STORAGE_ROOT=str(tmp_path / "files"))
    app.extensions.pop("laurel_storage", None)
    yield
    app.config.update(saved)
    app.extensions.pop("laurel_storage", None)


@pytest.fixture
def issue(catalog_one):
    certification, _ = catalog_one

    def do_issue(user):
        cert = issuing.issue(user, certification, actor="test", note="test issue")
        db.session.commit()
        return cert

    return do_issue


def make_export(fields: dict, active: bool = True):
    integration, _ = registry.create("pdf_export", {"name": "PDF archive", **fields}, actor="test")
    if active:
        registry.set_active(integration, True, actor="test")
    db.session.commit()
    return integration


def current(cert: Certificate) -> Certificate:
    db.session.expire_all()
    return db.session.get(Certificate, cert.id)


def export_row(integration, cert) -> ExportedPdf:
    db.session.expire_all()
    return db.session.scalar(select(ExportedPdf).where(
        ExportedPdf.integration_id == integration.id, ExportedPdf.certificate_id == cert.id))


def log_lines(integration) -> list[tuple[str, str]]:
    rows = db.session.scalars(select(IntegrationLog).where(IntegrationLog.integration_id == integration.id)
                              .order_by(IntegrationLog.id)).all()
    return [(r.level, r.message) for r in rows]


def test_export_to_folder_and_idempotent_rerun(tmp_path, learner, issue, jobs):
    out = tmp_path / "archive"
    out.mkdir()
    integration = make_export({"location": "folder", "folder": str(out)})
    assert syncs.test(integration) == {"ok": True, "message": f"Laurel can write to {out}."}
    assert list(out.iterdir()) == []  # the probe file is gone

    cert = issue(learner)
    jobs()
    cert = current(cert)
    assert cert.pdf_status == "ready"
    copy = out / f"{cert.serial}.pdf"
    assert copy.read_bytes() == get_storage().read(cert.pdf_key)
    row = export_row(integration, cert)
    assert (row.status, row.attempts, row.location) == ("exported", 1, str(copy))
    assert ("info", f"{cert.serial}: PDF copied to {copy}") in log_lines(integration)
    assert registry.counts(integration) == {"exported": 1}

    # The same job again (a duplicate, or the sweep) changes nothing.
    before = copy.stat().st_mtime_ns
    assert export_pdf(row.id, row.pdf_key) == "skipped"
    assert copy.stat().st_mtime_ns == before and export_row(integration, cert).attempts == 1

    # A regenerated PDF replaces the copy under the same name; the old version's job is superseded.
    old_key = row.pdf_key
    rendering.regenerate(cert, actor="test")
    db.session.commit()
    jobs()
    cert = current(cert)
    assert cert.pdf_key != old_key
    assert export_row(integration, cert).pdf_key == cert.pdf_key
    assert [p.name for p in out.iterdir()] == [f"{cert.serial}.pdf"]
    assert copy.read_bytes() == get_storage().read(cert.pdf_key)
    assert export_pdf(row.id, old_key) == "superseded"


def test_export_to_s3(s3_endpoint, bucket, learner, issue, jobs):
    integration = make_export({
        "location": "s3", "bucket": bucket, "prefix": "/certificates/2026", "endpoint_url": s3_endpoint,
        "region": s3.REGION, "access_key_id": s3.KEY_ID, "secret_access_key": s3.SECRET})
    assert integration.config["prefix"] == "certificates/2026"
    assert syncs.test(integration)["message"] == f"Laurel can write to s3://{bucket}/certificates/2026/."
    cert = issue(learner)
    jobs()
    cert = current(cert)
    key = f"certificates/2026/{cert.serial}.pdf"
    obj = s3.client(s3_endpoint).get_object(Bucket=bucket, Key=key)
    assert obj["ContentType"] == "application/pdf"
    assert obj["Body"].read() == get_storage().read(cert.pdf_key)
    listed = s3.client(s3_endpoint).list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in listed] == [key]  # the Test probe was removed
    assert export_row(integration, cert).location == f"s3://{bucket}/{key}"


def test_failed_copies_are_logged_retried_and_can_be_retried_by_hand(
    app, tmp_path, learner, issue, jobs, admin, login_as, monkeypatch
):
    monkeypatch.setattr(pdf_exports, "MAX_TRIES", 2)
    out = tmp_path / "not-yet"
    integration = make_export({"location": "folder", "folder": str(out)})
    assert "does not exist" in syncs.test(integration)["error"]
    cert = issue(learner)
    jobs()
    cert = current(cert)
    row = export_row(integration, cert)
    assert (row.status, row.attempts) == ("pending", 1) and "does not exist" in row.last_error
    level, message = log_lines(integration)[-1]
    assert level == "warning" and f"{cert.serial}: copy failed (attempt 1 of 2; next in 30 s)" in message
    assert registry.get(integration.id).status == "failing"

    assert run_scheduled(app) == 1  # the delayed retry comes due
    jobs()
    row = export_row(integration, cert)
    assert (row.status, row.attempts) == ("failed", 2)
    assert log_lines(integration)[-1][0] == "error" and "after 2 attempts" in log_lines(integration)[-1][1]
    client = login_as(admin)
    page = client.get(f"/integrations/{integration.id}").get_data(as_text=True)
    assert cert.serial in page and "Retry all failed" in page

    out.mkdir()
    response = client.post(f"/integrations/{integration.id}/retry-exports",
                           data={"csrf_token": client.csrf_token, "export_id": str(row.id)})
    assert response.status_code == 302
    jobs()
    assert export_row(integration, cert).status == "exported"
    assert (out / f"{cert.serial}.pdf").is_file()
    assert registry.get(integration.id).status == "active"


def test_sweep_requeues_lost_jobs_and_catches_up_while_inactive(tmp_path, learner, make_user, issue, jobs):
    out = tmp_path / "archive"
    out.mkdir()
    before_activation = issue(make_user("learner", email="early@example.com"))
    jobs()
    integration = make_export({"location": "folder", "folder": str(out)})

    # Redis lost the copy job: the row stays pending and the sweep queues it again.
    cert = issue(learner)
    assert render_certificate(cert.id) == "ready"  # commits; the copy job is now queued on "low"
    assert export_row(integration, cert).status == "pending"
    get_queue("low").empty()
    later = utcnow() + pdf_exports.OVERDUE + timedelta(minutes=1)
    assert pdf_exports.recover(now=later) == {"pdf_exports": 1, "pdf_exports_caught_up": 0}
    db.session.commit()
    jobs()
    assert export_row(integration, cert).status == "exported"

    # Rendered while the export was off: caught up once it is on again (not what came before it).
    registry.set_active(integration, False, actor="test")
    db.session.commit()
    while_off = issue(make_user("learner", email="off@example.com"))
    jobs()
    assert export_row(integration, while_off) is None
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    assert pdf_exports.recover(now=later) == {"pdf_exports": 0, "pdf_exports_caught_up": 1}
    db.session.commit()
    jobs()
    assert export_row(integration, while_off).status == "exported"
    assert export_row(integration, before_activation) is None
    assert pdf_exports.recover(now=later) == {"pdf_exports": 0, "pdf_exports_caught_up": 0}


def test_revoked_certificates_are_not_exported(tmp_path, learner, issue, jobs):
    out = tmp_path / "archive"
    out.mkdir()
    integration = make_export({"location": "folder", "folder": str(out)})
    cert = issue(learner)
    revocation.revoke(cert, "Issued in error", actor="test")
    db.session.commit()
    jobs()
    assert current(cert).pdf_status == "ready"
    assert export_row(integration, cert) is None and list(out.iterdir()) == []


def test_console_offers_the_pdf_export_template(tmp_path, admin, login_as):
    client = login_as(admin)
    assert "Certificate PDF export" in client.get("/integrations/new").get_data(as_text=True)
    response = client.post("/integrations/new/pdf_export", data={
        "csrf_token": client.csrf_token, "name": "Archive", "location": "folder", "folder": ""})
    assert response.status_code == 422 and "Enter the folder." in response.get_data(as_text=True)
    response = client.post("/integrations/new/pdf_export", data={
        "csrf_token": client.csrf_token, "name": "Archive", "location": "folder", "folder": str(tmp_path)})
    assert response.status_code == 200
    integration = db.session.scalars(registry.integration_query("pdf_export")).one()
    page = client.get(f"/integrations/{integration.id}").get_data(as_text=True)
    assert "Exported 0" in page and "Sync now" not in page
