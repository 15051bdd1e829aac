"""/api/v1/certificates: reading, learner scoping, revoke and reinstate."""

from __future__ import annotations

from app.extensions import db
from app.models import AuditEvent, OutboxEmail

CONTRACT = {"id", "serial", "code", "user_id", "certification_id", "status", "issued_at", "expires_at",
            "revoked_at", "revoke_reason", "renewed_from_id", "verify_url",
            "public", "pdf_status", "pdf_url"}  # issue 3's contract + issue 4's document fields


def test_fields_exactly(as_staff, world):
    cert = as_staff.get(f"/certificates/{world.lena_cert.id}").get_json()
    assert set(cert) == CONTRACT
    assert cert["serial"].startswith("LAU-") and cert["status"] == "valid"
    assert cert["certification_id"] == world.first_aid.id and cert["revoked_at"] is None
    assert cert["verify_url"].endswith(f"/verify/{cert['code']}")


def test_learner_scoping(as_learner, learner, world):
    items = as_learner.get("/certificates").get_json()["items"]
    assert [c["id"] for c in items] == [world.lena_cert.id]
    assert as_learner.get(f"/certificates?user_id={world.other.id}").get_json()["items"] == []
    assert as_learner.get(f"/certificates/{world.other_cert.id}").status_code == 404
    assert as_learner.get(f"/certificates/{world.lena_cert.id}").get_json()["user_id"] == learner.id


def test_filters(as_staff, world):
    assert as_staff.get("/certificates").get_json()["total"] == 2
    assert as_staff.get(f"/certificates?user_id={world.other.id}").get_json()["total"] == 1
    assert as_staff.get(f"/certificates?certification_id={world.first_aid.id}&status=valid"
                        ).get_json()["total"] == 2
    assert as_staff.get(f"/certificates?certification_id={world.draft.id}").get_json()["total"] == 0
    assert as_staff.get("/certificates?status=revoked").get_json()["total"] == 0
    bad = as_staff.get("/certificates?status=nonsense&certification_id=1.5")
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"status", "certification_id"}


def test_revoke_and_reinstate(as_admin, as_staff, world):
    url = f"/certificates/{world.other_cert.id}"
    revoked = as_admin.post(f"{url}/revoke", json={"reason": "Exam irregularity"})
    assert revoked.status_code == 200
    body = revoked.get_json()
    assert body["status"] == "revoked" and body["revoke_reason"] == "Exam irregularity" and body["revoked_at"]
    assert as_staff.get("/certificates?status=revoked").get_json()["total"] == 1
    again = as_admin.post(f"{url}/revoke", json={"reason": "Twice"})
    assert again.status_code == 409 and "already revoked" in again.get_json()["detail"]

    reinstated = as_admin.post(f"{url}/reinstate")
    assert reinstated.status_code == 200
    assert reinstated.get_json()["status"] == "valid" and reinstated.get_json()["revoke_reason"] is None
    assert as_admin.post(f"{url}/reinstate", json={}).status_code == 409
    actions = [e.action for e in db.session.query(AuditEvent).filter(AuditEvent.action.like("certificate.%"))]
    assert "certificate.revoked" in actions and "certificate.reinstated" in actions
    mails = db.session.query(OutboxEmail).filter_by(to="olga@example.com").count()
    assert mails >= 2


def test_revoke_needs_a_reason(as_admin, world):
    url = f"/certificates/{world.lena_cert.id}/revoke"
    assert set(as_admin.post(url, json={}).get_json()["errors"]) == {"reason"}
    blank = as_admin.post(url, json={"reason": "   "})
    assert blank.status_code == 422 and "reason" in blank.get_json()["errors"]
    assert as_admin.post(url, json={"reason": "x" * 1001}).status_code == 422
    assert as_admin.post(f"/certificates/{world.lena_cert.id}/reinstate",
                         json={"reason": "no"}).status_code == 422  # no body fields expected
    assert as_admin.post("/certificates/987654/revoke", json={"reason": "x"}).status_code == 404
    assert as_admin.get(f"/certificates/{world.lena_cert.id}").get_json()["status"] == "valid"


def test_no_writes_but_revoke(as_admin, world):
    assert as_admin.post("/certificates", json={}).status_code == 405
    assert as_admin.delete(f"/certificates/{world.lena_cert.id}").status_code == 405
