"""Certificates in the API carry their PDF state, and GET .../pdf serves the PDF by the same access rules."""

from pypdf import PdfReader

from app.extensions import db


def test_pdf_state_and_download(world, as_learner, as_staff, api_as, jobs, make_user):
    cert = world.lena_cert
    pending = as_learner.get(f"/api/v1/certificates/{cert.id}").json
    assert pending["pdf_status"] == "pending" and pending["pdf_url"] is None and pending["public"] is False
    assert as_learner.get(f"/api/v1/certificates/{cert.id}/pdf").status_code == 404  # not ready yet

    jobs()  # a real RQ worker renders it
    db.session.expire_all()
    ready = as_learner.get(f"/api/v1/certificates/{cert.id}").json
    assert ready["pdf_status"] == "ready"
    assert ready["pdf_url"].endswith(f"/api/v1/certificates/{cert.id}/pdf")

    response = as_learner.get(f"/api/v1/certificates/{cert.id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    import io

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert cert.serial in text
    assert as_staff.get(f"/api/v1/certificates/{cert.id}/pdf").status_code == 200
    stranger = api_as(make_user("learner", email="stranger@example.com"))
    assert stranger.get(f"/api/v1/certificates/{cert.id}/pdf").status_code == 404
    assert api_as(None).get(f"/api/v1/certificates/{cert.id}/pdf").status_code == 401
