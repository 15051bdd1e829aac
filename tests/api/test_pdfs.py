"""Certificate PDFs through the API (issue 11 item 14, the documents console's actions): find the failed ones,
render one again (staff) or a certification's (admins); audited like the console."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Certificate
from app.queue import QUEUES, get_queue
from app.services.documents import rendering


def _fail(cert: Certificate) -> None:
    cert.pdf_status, cert.pdf_error = "failed", "font missing"
    db.session.commit()


def _render_jobs() -> list:
    return [job for name in QUEUES for job in get_queue(name).jobs
            if job.func_name == rendering.RENDER_JOB]


def _audited(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_failed_pdfs_are_listed_and_rendered_again(as_staff, world):
    _fail(world.lena_cert)
    failed = as_staff.get("/certificates?pdf_status=failed").get_json()
    assert [c["id"] for c in failed["items"]] == [world.lena_cert.id]
    for job in _render_jobs():
        job.delete()
    response = as_staff.post(f"/certificates/{world.lena_cert.id}/regenerate")
    assert response.status_code == 202 and response.get_json()["pdf_status"] == "pending"
    assert [job.args[0] for job in _render_jobs()] == [world.lena_cert.id]
    assert _audited("certificate.pdf_regenerate")[0].actor_label == "staff@example.com"
    assert as_staff.get("/certificates?pdf_status=failed").get_json()["total"] == 0


def test_a_certification_s_pdfs_are_rendered_again(as_admin, world):
    _fail(world.other_cert)
    for job in _render_jobs():
        job.delete()
    response = as_admin.post(f"/certifications/{world.first_aid.id}/regenerate")
    assert response.status_code == 202 and response.get_json() == {"queued": 2}
    assert len(_render_jobs()) == 2
    assert _audited("certification.pdf_regenerate")[0].data["count"] == 2
    assert as_admin.post(f"/certifications/{world.draft.id}/regenerate").get_json() == {"queued": 0}


def test_refusals(as_admin, as_staff, as_learner, world):
    assert as_admin.get("/certificates?pdf_status=broken").status_code == 422
    assert as_admin.post("/certificates/987654/regenerate").status_code == 404
    assert as_admin.post("/certifications/987654/regenerate").status_code == 404
    assert as_admin.post(f"/certificates/{world.lena_cert.id}/regenerate", json={"now": 1}).status_code == 422
    assert as_learner.post(f"/certificates/{world.lena_cert.id}/regenerate").status_code == 403
    assert as_staff.post(f"/certifications/{world.first_aid.id}/regenerate").status_code == 403
    assert _audited("certificate.pdf_regenerate") == [] and _audited("certification.pdf_regenerate") == []
