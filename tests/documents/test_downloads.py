"""PDF download access rules, the status fragment, and bulk ZIP exports with progress."""

from __future__ import annotations

import io
import zipfile

from app.database import utcnow
from app.extensions import db
from app.models import Certificate
from app.models.template import PdfExport
from app.services.documents import downloads
from app.services.sharing import engagement


def ready_certificate(user, issue, jobs) -> Certificate:
    cert = issue(user)
    jobs()
    db.session.expire_all()
    cert = db.session.get(Certificate, cert.id)
    assert cert.pdf_status == "ready"
    return cert


def test_access_rules(app, admin, staff, learner, make_user, issue, jobs, login_as):
    cert = ready_certificate(learner, issue, jobs)
    other = make_user("learner")
    url = f"/certificates/{cert.id}/pdf"
    own = login_as(learner).get(url)
    assert own.status_code == 200 and own.mimetype == "application/pdf" and own.data.startswith(b"%PDF")
    assert f'filename="{cert.serial}.pdf"' in own.headers["Content-Disposition"]
    assert login_as(other).get(url).status_code == 404
    assert login_as(staff).get(url).status_code == 200
    assert login_as(admin).get(url).status_code == 200
    assert app.test_client().get(url).status_code == 302  # to the login page
    assert login_as(learner).get("/certificates/999999/pdf").status_code == 404
    assert engagement.totals(cert.id)["download"] == 3
    # the public link works only while the holder keeps it public and it is not revoked
    public_url = f"/certificates/shared/{cert.code}.pdf"
    anonymous = app.test_client()
    assert anonymous.get(public_url).status_code == 404
    cert.public = True
    db.session.commit()
    assert anonymous.get(public_url).status_code == 200
    assert login_as(other).get(url).status_code == 200  # public means anyone
    cert.revoked_at, cert.revoke_reason = utcnow(), "test"
    db.session.commit()
    assert anonymous.get(public_url).status_code == 404
    assert login_as(learner).get(url).status_code == 200
    assert anonymous.get("/certificates/shared/not-a-code.pdf").status_code == 404


def test_pending_pdf_is_not_found_and_status_polls(learner, issue, login_as):
    cert = issue(learner)
    client = login_as(learner)
    assert client.get(f"/certificates/{cert.id}/pdf").status_code == 404
    status = client.get(f"/certificates/{cert.id}/pdf/status").get_data(as_text=True)
    assert "being generated" in status and 'hx-trigger="every 2s"' in status
    assert "Regenerate" not in status  # learners cannot regenerate
    assert client.post(f"/certificates/{cert.id}/regenerate",
                       headers={"X-CSRFToken": client.csrf_token}).status_code == 403


def test_can_download_service_rules(admin, staff, learner, make_user, issue):
    cert = issue(learner)
    assert downloads.can_download(learner, cert)
    assert downloads.can_download(staff, cert) and downloads.can_download(admin, cert)
    assert not downloads.can_download(make_user("learner"), cert)
    assert not downloads.can_download(None, cert)
    cert.public = True
    assert downloads.can_download(None, cert)


def test_bulk_zip_export_with_progress(admin, learner, make_user, certification, issue, jobs, login_as):
    certs = [ready_certificate(u, issue, jobs) for u in (learner, make_user("learner"), make_user("learner"))]
    pending = issue(make_user("learner"))  # no PDF yet: left out and counted
    client = login_as(admin)
    response = client.post(f"/admin/certifications/{certification.id}/exports",
                           data={"csrf_token": client.csrf_token})
    assert response.status_code == 302
    export_url = response.headers["Location"]
    page = client.get(export_url).get_data(as_text=True)
    assert "Waiting for a worker" in page and 'hx-trigger="every 1s"' in page
    # a second click while it runs reuses the same export
    again = client.post(f"/admin/certifications/{certification.id}/exports",
                        data={"csrf_token": client.csrf_token})
    assert again.headers["Location"] == export_url
    from app.queue import get_queue

    get_queue("render").empty()  # leave the pending certificate's render out of this test
    jobs()
    fragment = client.get(export_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Download ZIP" in fragment and "every 1s" not in fragment
    assert "1 certificate(s) without a PDF" in fragment
    export = db.session.scalar(db.select(PdfExport))
    assert (export.status, export.total, export.done, export.skipped) == ("ready", 4, 4, 1)
    response = client.get(f"/admin/exports/{export.id}/download")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert sorted(names) == sorted(f"{c.serial}.pdf" for c in certs)
    assert pending.serial + ".pdf" not in names
    assert login_as(learner).get(f"/admin/exports/{export.id}/download").status_code == 403


def test_documents_page_counts_and_regenerate_all(admin, learner, certification, issue, jobs, login_as):
    ready_certificate(learner, issue, jobs)
    client = login_as(admin)
    page = client.get(f"/admin/certifications/{certification.id}/documents").get_data(as_text=True)
    assert "1 ready" in page and "Default template" in page
    response = client.post(f"/admin/certifications/{certification.id}/regenerate",
                           data={"csrf_token": client.csrf_token}, follow_redirects=True)
    assert "1 PDF(s) queued" in response.get_data(as_text=True)
    jobs()
    page = client.get(f"/admin/certifications/{certification.id}/documents").get_data(as_text=True)
    assert "1 ready" in page and "0 pending" in page
