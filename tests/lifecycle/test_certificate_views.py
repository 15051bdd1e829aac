"""Certificates list (filters, pages, CSV export), detail (chain, snapshot, audit), revoke and reinstate."""

from __future__ import annotations

import csv
import io

from app.extensions import db
from app.services.lifecycle import revocation
from tests.support.lifecycle_views import HX, post


def test_list_filters_and_roles(login_as, admin, staff, learner, make_user, earn):
    mine = earn(learner)
    other = make_user("learner", name="Omar Other", department="Engineering")
    theirs = earn(other)
    revocation.revoke(theirs, "Exam fraud", actor="test")
    db.session.commit()
    client = login_as(staff)
    html = client.get("/certificates").get_data(as_text=True)
    assert mine.serial in html and theirs.serial in html
    assert login_as(learner).get("/certificates").status_code == 403

    def serials(query: str) -> str:
        return client.get(f"/certificates?{query}", headers=HX).get_data(as_text=True)

    assert theirs.serial in serials("status=revoked") and mine.serial not in serials("status=revoked")
    assert mine.serial in serials("status=valid") and theirs.serial not in serials("status=valid")
    assert mine.serial in serials("department=Nursing") and theirs.serial not in serials("department=Nursing")
    assert theirs.serial in serials("q=omar") and mine.serial not in serials("q=omar")
    assert mine.serial in serials(f"q={mine.serial.lower()}")
    assert mine.serial not in serials("issued_from=2999-01-01")
    assert mine.serial in serials("issued_to=2999-01-01&issued_from=not-a-date")
    assert mine.serial in serials(f"certification_id={mine.certification_id}")


def test_csv_export_of_the_filtered_list(login_as, staff, learner, make_user, earn):
    mine = earn(learner)
    other = earn(make_user("learner", name="Omar Other"))
    response = login_as(staff).get("/certificates/export.csv?q=lena")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["serial"] for r in rows] == [mine.serial]
    assert other.serial not in response.get_data(as_text=True)
    assert rows[0]["status"] == "valid" and rows[0]["verify_url"].endswith(f"/verify/{mine.code}")
    assert rows[0]["certification"] == "First Aid Level 2" and rows[0]["email"] == learner.email


def test_detail_shows_snapshot_chain_and_audit(login_as, staff, learner, earn):
    cert = earn(learner)
    page = login_as(staff).get(f"/certificates/{cert.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert cert.serial in html and "Renewal chain" in html and "certificate.issued" in html
    assert "Dr. Jane Roe" in html and "FA-102" in html and f"/verify/{cert.code}" in html
    assert "Revoke…" not in html and f"Revoke {cert.serial}" not in html  # staff read only
    assert login_as(staff).get("/certificates/987654").status_code == 404


def test_revoke_requires_reason_then_reinstate(login_as, admin, staff, learner, earn):
    cert = earn(learner)
    assert post(login_as(staff), f"/certificates/{cert.id}/revoke", {"reason": "x"}).status_code == 403
    client = login_as(admin)
    page = client.get(f"/certificates/{cert.id}").get_data(as_text=True)
    # Behind a "Revoke…" disclosure (closed), whose final button names the certificate.
    assert '<details class="revoke-step">' in page and f"Revoke {cert.serial}</button>" in page
    empty = post(client, f"/certificates/{cert.id}/revoke", {"reason": "  "})
    assert empty.status_code == 422 and "Give the reason for revoking" in empty.get_data(as_text=True)
    assert '<details class="revoke-step" open>' in empty.get_data(as_text=True)  # the error stays in view
    db.session.refresh(cert)
    assert cert.revoked_at is None

    revoked = post(client, f"/certificates/{cert.id}/revoke", {"reason": "Issued by mistake"})
    html = revoked.get_data(as_text=True)
    assert revoked.status_code == 200 and "Certificate revoked." in html and "Issued by mistake" in html
    assert "Reinstate" in html
    assert 'id="certificate-history" hx-swap-oob="true"' in html and "certificate.revoked" in html
    db.session.refresh(cert)
    assert cert.status == "revoked"
    again = post(client, f"/certificates/{cert.id}/revoke", {"reason": "twice"})
    assert again.status_code == 422 and "already revoked" in again.get_data(as_text=True)

    assert post(login_as(staff), f"/certificates/{cert.id}/reinstate").status_code == 403
    back = post(client, f"/certificates/{cert.id}/reinstate")
    assert back.status_code == 200 and "Certificate reinstated." in back.get_data(as_text=True)
    db.session.refresh(cert)
    assert cert.status == "valid"
    history = client.get(f"/certificates/{cert.id}").get_data(as_text=True)
    assert "certificate.revoked" in history and "certificate.reinstated" in history
