"""Public verification: HTML and JSON for each status, unknown codes (same template, 404), the serial +
surname lookup, Open Graph tags, no navigation for anonymous visitors, the per-IP rate limit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta

from app.extensions import db
from app.rules import display
from app.services.lifecycle import revocation

JSON = {"Accept": "application/json"}
AGES = {  # how long ago the 24-month First Aid certificate was issued -> its status now
    "valid": timedelta(0),
    "expiring": relativedelta(months=24, days=-30),
    "expired": relativedelta(months=25),
}


@pytest.fixture
def certificate_in(learner, earn):
    def make(status: str):
        cert = earn(learner, AGES.get(status, timedelta(0)))
        if status == "revoked":
            revocation.revoke(cert, "Exam fraud", actor="test")
            db.session.commit()
        assert cert.status == status
        return cert

    return make


@pytest.mark.parametrize("status, banner", [("valid", "Valid"), ("expiring", "Valid, expiring soon"),
                                            ("expired", "Expired"), ("revoked", "Revoked")])
def test_html_for_each_status(client, certificate_in, status, banner):
    cert = certificate_in(status)
    response = client.get(f"/verify/{cert.code}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert f'verify-banner verify-{status}' in html and f'<p class="verify-state mb-0">{banner}</p>' in html
    assert "Lena Learner" in html and "First Aid Level 2" in html and cert.serial in html
    assert "Laurel Academy" in html and display.day(cert.issued_at) in html
    assert display.day(cert.expires_at) in html
    if status == "revoked":
        assert "Reason: Exam fraud" in html and display.day(cert.revoked_at) in html
    assert "Accept" in response.headers["Vary"]
    assert 'property="og:title" content="First Aid Level 2 — Lena Learner"' in html
    assert f'property="og:url" content="http://localhost/verify/{cert.code}"' in html
    assert 'property="og:description"' in html


@pytest.mark.parametrize("status", ["valid", "expiring", "expired", "revoked"])
def test_json_for_each_status(client, certificate_in, status):
    cert = certificate_in(status)
    by_accept = client.get(f"/verify/{cert.code}", headers=JSON)
    for response in (by_accept, client.get(f"/verify/{cert.code}.json")):
        assert response.status_code == 200 and response.mimetype == "application/json"
        data = response.get_json()
        assert data["status"] == status and data["serial"] == cert.serial and data["holder"] == "Lena Learner"
        assert data["certification"] == "First Aid Level 2" and data["issuer"] == "Laurel Academy"
        assert data["chain"] == [{"serial": cert.serial, "issued_at": data["issued_at"], "status": status,
                                  "code": cert.code}]
        assert data["revoke_reason"] == ("Exam fraud" if status == "revoked" else None)


def test_unknown_code_is_a_404_in_the_same_layout(client, certificate_in):
    certificate_in("valid")
    response = client.get("/verify/no-such-code-at-all")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "verify-banner verify-missing" in html and "Not found" in html and 'name="serial"' in html
    assert 'class="verify-page' in html
    long_code = client.get("/verify/" + "x" * 500)
    assert long_code.status_code == 404
    as_json = client.get("/verify/no-such-code-at-all", headers=JSON)
    assert as_json.status_code == 404 and as_json.mimetype == "application/problem+json"
    assert client.get("/verify/no-such-code-at-all.json").status_code == 404


def test_renewal_chain_is_shown(client, learner, earn, first_aid):
    from app.services.lifecycle import enrollment

    old = earn(learner, AGES["expiring"])
    _, fa101, fa102 = first_aid
    enrollment.record_completion(learner, fa101, score=88, actor="test")
    new = enrollment.record_completion(learner, fa102, score=91, actor="test")[0]
    db.session.commit()
    assert new.renewed_from_id == old.id
    html = client.get(f"/verify/{new.code}").get_data(as_text=True)
    assert "Renewal history" in html and old.serial in html and f"/verify/{old.code}" in html
    assert [c["serial"] for c in client.get(f"/verify/{old.code}.json").get_json()["chain"]] == [old.serial,
                                                                                                 new.serial]


def test_lookup_by_serial_and_surname(client, certificate_in):
    cert = certificate_in("valid")
    form = client.get("/verify")
    assert form.status_code == 200 and 'name="surname"' in form.get_data(as_text=True)
    found = client.get(f"/verify?serial={cert.serial.lower()}&surname=LEARNER")
    assert found.status_code == 302 and found.headers["Location"].endswith(f"/verify/{cert.code}")
    wrong = client.get(f"/verify?serial={cert.serial}&surname=Other")
    assert wrong.status_code == 404 and "No certificate matches" in wrong.get_data(as_text=True)


def test_no_navigation_for_anonymous_visitors(client, certificate_in):
    html = client.get(f"/verify/{certificate_in('valid').code}").get_data(as_text=True)
    assert "navbar-nav" not in html and "/certificates" not in html and "/courses" not in html
    assert "Log out" not in html


def test_rate_limited_per_ip(app, client, certificate_in):
    cert = certificate_in("valid")
    app.config["VERIFY_RATE_LIMIT"] = "3 per minute"
    try:
        codes = [client.get(f"/verify/{cert.code}").status_code for _ in range(4)]
    finally:
        app.config.pop("VERIFY_RATE_LIMIT")
    assert codes == [200, 200, 200, 429]
    other_ip = client.get(f"/verify/{cert.code}", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other_ip.status_code == 200
