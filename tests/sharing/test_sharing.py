"""Sharing: public/private and the share page's access rules, email sharing, LinkedIn."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Certificate
from app.services.errors import NotAllowed, ValidationError
from app.services.lifecycle import revocation
from app.services.sharing import engagement, shares
from tests.support.certificates import at, of_type
from tests.support.smtp import body_text

HTMX = {"HX-Request": "true"}
TOKEN_RE = re.compile(r'(name="csrf_token" value=|"X-CSRFToken": )"[^"]+"')


def _post(client, url: str, data: dict | None = None, htmx: bool = True):
    headers = {"X-CSRFToken": client.csrf_token, **(HTMX if htmx else {})}
    match = re.fullmatch(r"/me/certificates/(\d+)/share", url)
    if match and data:  # the share form's fields are prefixed per certificate card
        data = {f"share{match.group(1)}-{k}": v for k, v in data.items()}
    return client.post(url, data=data or {}, headers=headers)


def _reload(cert) -> Certificate:
    return db.session.get(Certificate, cert.id, populate_existing=True)


def _without_tokens(html: str) -> str:
    return TOKEN_RE.sub("TOKEN", html)


def test_old_share_links_redirect_to_the_one_public_page(client, learner, issue):
    cert = issue(learner)
    assert cert.public is False
    for code in (cert.code, "NoSuchCodeAtAll0000000"):
        response = client.get(f"/s/{code}")
        assert response.status_code == 301 and response.location.endswith(f"/verify/{code}")
    # Not public: the validity check is there, the picture and the PDF are not.
    page = client.get(f"/s/{cert.code}", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Valid" in text and cert.serial in text
    assert 'data-testid="public-pdf"' not in text and 'data-testid="cert-picture"' not in text
    assert shares.PRIVACY_MODEL in text
    assert client.get("/s/NoSuchCodeAtAll0000000", follow_redirects=True).status_code == 404


def test_holder_makes_it_public_and_anyone_can_see_it(app, client, login_as, learner, issue):
    from app.tasks.sweep import recover_stuck_work

    cert = issue(learner)
    holder = login_as(learner)
    response = _post(holder, f"/me/certificates/{cert.id}/public", {"public": "1"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="cert-{cert.id}"' in html and "Hide picture and PDF" in html
    assert f"/verify/{cert.code}" in html
    assert shares.PRIVACY_MODEL in html
    assert _reload(cert).public is True
    page = client.get(f"/s/{cert.code}", follow_redirects=True)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Lena Learner" in text and "First Aid Level 2" in text and cert.serial in text and "Valid" in text
    recover_stuck_work()  # verify-page views are counted through Redis
    db.session.expire_all()
    assert engagement.totals(cert.id)["view"] == 1
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == str(cert.id))).all()
    assert "certificate.made_public" in actions
    # and private again: the page only checks validity
    assert _post(holder, f"/me/certificates/{cert.id}/public", {"public": "0"}).status_code == 200
    assert 'data-testid="not-public"' in client.get(f"/verify/{cert.code}").get_data(as_text=True)
    assert "certificate.made_private" in db.session.scalars(select(AuditEvent.action)).all()


def test_plain_form_toggle_redirects_back(login_as, learner, issue):
    cert = issue(learner)
    holder = login_as(learner)
    response = _post(holder, f"/me/certificates/{cert.id}/public", {"public": "1"}, htmx=False)
    assert response.status_code == 302 and response.location.endswith(f"/me/certificates#cert-{cert.id}")
    assert _reload(cert).public


def test_only_the_holder_or_an_admin_toggles(login_as, make_user, learner, staff, admin, issue):
    cert = issue(learner)
    other = make_user("learner")
    for user in (other, staff):
        response = _post(login_as(user), f"/me/certificates/{cert.id}/public", {"public": "1"})
        assert response.status_code == 404  # someone else's certificate looks like no certificate
    assert _reload(cert).public is False
    with_admin = login_as(admin)
    assert _post(with_admin, f"/me/certificates/{cert.id}/public", {"public": "1"}).status_code == 200
    assert _reload(cert).public is True
    row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.made_public"))
    assert row.actor_id == admin.id
    # the admin's own list shows only their own certificates
    assert cert.serial not in with_admin.get("/me/certificates").get_data(as_text=True)


def test_revoked_certificates_cannot_be_made_public(login_as, learner, issue):
    cert = issue(learner)
    revocation.revoke(cert, "Mistake", actor="test")
    db.session.commit()
    response = _post(login_as(learner), f"/me/certificates/{cert.id}/public", {"public": "1"})
    assert response.status_code == 403
    assert _reload(cert).public is False


def test_public_page_shows_revoked_status_honestly(client, learner, issue):
    cert = issue(learner)
    shares.set_public(cert, True, actor=learner)
    revocation.revoke(cert, "Fraud detected", actor="test")
    db.session.commit()
    text = client.get(f"/s/{cert.code}", follow_redirects=True).get_data(as_text=True)
    assert "Revoked" in text and "Fraud detected" in text


def test_my_certificates_page(login_as, learner, make_user, issue):
    mine = issue(learner)
    theirs = issue(make_user("learner"))
    html = login_as(learner).get("/me/certificates").get_data(as_text=True)
    assert mine.serial in html and theirs.serial not in html
    assert "Make public" in html and "Share by email" in html and "Add to LinkedIn profile" in html
    assert f"/c/{mine.code}/linkedin" in html
    assert 'style="' not in html  # CSP: no inline styles on our pages


def test_share_by_email_through_the_worker(login_as, learner, issue, jobs, smtp_server, captured_events):
    cert = issue(learner)
    jobs()  # the certificate-issued mail (when the PDF pipeline is installed) goes first
    smtp_server.clear()
    holder = login_as(learner)
    response = _post(holder, f"/me/certificates/{cert.id}/share",
                     {"recipients": "Boss@Example.com, hr@example.com\nboss@example.com",
                      "message": "For the placement file."})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Sent to boss@example.com, hr@example.com" in response.get_data(as_text=True)
    jobs()
    messages = smtp_server.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["boss@example.com", "hr@example.com"]
    message = messages[0]
    assert message["Subject"] == "Lena Learner shared a certificate: First Aid Level 2"
    assert {p.get_content_type() for p in message.walk()} >= {"text/plain", "text/html"}
    text = body_text(message)
    assert "For the placement file." in text and f"http://localhost/verify/{cert.code}" in text
    shared = of_type(captured_events, "certificate.shared")
    assert len(shared) == 1 and shared[0].data["recipients"] == 2
    assert "boss@example.com" not in str(shared[0].data)  # how many, never who
    assert engagement.totals(cert.id)["share"] == 1


def test_share_by_email_validation(login_as, learner, issue):
    cert = issue(learner)
    holder = login_as(learner)
    six = ", ".join(f"p{n}@example.com" for n in range(6))
    for recipients, error in [(six, "At most 5 addresses"), ("not-an-address", "not a valid email address"),
                              ("", "Enter at least one email address")]:
        response = _post(holder, f"/me/certificates/{cert.id}/share", {"recipients": recipients})
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert error in html and 'aria-invalid="true"' in html
    response = _post(holder, f"/me/certificates/{cert.id}/share", {"recipients": "a@example.com",
                                                                  "message": "x" * 1001})
    assert response.status_code == 422
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.shared")) is None


def test_share_by_email_is_rate_limited(app, login_as, learner, issue, monkeypatch):
    monkeypatch.setitem(app.config, "SHARE_EMAIL_RATE_LIMIT", 6)
    cert = issue(learner)
    holder = login_as(learner)
    url = f"/me/certificates/{cert.id}/share"
    five = ", ".join(f"p{n}@example.com" for n in range(5))
    assert _post(holder, url, {"recipients": five}).status_code == 200
    response = _post(holder, url, {"recipients": "a@example.com, b@example.com"})
    assert response.status_code == 422 and "at most 6 addresses an hour" in response.get_data(as_text=True)
    assert _post(holder, url, {"recipients": "a@example.com"}).status_code == 200
    # an hour later the budget is back
    assert shares.recipients_last_hour(learner, at(2099, 1, 1)) == 0


def test_only_the_holder_shares(learner, make_user, admin, issue):
    cert = issue(learner)
    for user in (make_user("learner"), admin):
        try:
            shares.share_by_email(cert, "x@example.com", actor=user)
        except NotAllowed:
            continue
        raise AssertionError("someone else shared the certificate")
    try:
        shares.parse_recipients(["a@example.com"] * 2 + [f"{n}@example.com" for n in range(5)])
    except ValidationError as exc:
        assert "At most 5" in exc.errors["recipients"]


def test_linkedin_url_has_exactly_the_documented_parameters(app, learner, issue, monkeypatch):
    cert = issue(learner, at(2026, 3, 5, 12))
    url = shares.linkedin_url(cert)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://www.linkedin.com/profile/add"
    assert parse_qsl(parts.query) == [
        ("startTask", "CERTIFICATION_NAME"), ("name", "First Aid Level 2"),
        ("organizationName", "Laurel Academy"),
        ("issueYear", "2026"), ("issueMonth", "3"), ("expirationYear", "2028"), ("expirationMonth", "3"),
        ("certUrl", f"http://localhost/verify/{cert.code}"), ("certId", cert.serial)]
    assert "name=First%20Aid%20Level%202" in url
    assert f"certUrl=http%3A%2F%2Flocalhost%2Fverify%2F{cert.code}" in url
    monkeypatch.setitem(app.config, "LINKEDIN_ORGANIZATION_ID", "1337")
    query = dict(parse_qsl(urlsplit(shares.linkedin_url(cert)).query))
    assert query["organizationId"] == "1337" and "organizationName" not in query


def test_linkedin_without_expiry(learner, certification, issue):
    certification.validity_months = None
    db.session.commit()
    query = dict(parse_qsl(urlsplit(shares.linkedin_url(issue(learner))).query))
    assert "expirationYear" not in query and "expirationMonth" not in query


def test_linkedin_redirect_counts_the_click(login_as, make_user, learner, issue):
    cert = issue(learner)
    response = login_as(learner).get(f"/c/{cert.code}/linkedin")
    assert response.status_code == 302 and response.location == shares.linkedin_url(cert)
    assert engagement.totals(cert.id)["linkedin"] == 1
    assert login_as(make_user("learner")).get(f"/c/{cert.code}/linkedin").status_code == 404
    assert engagement.totals(cert.id)["linkedin"] == 1


def test_public_page_offers_the_pdf_when_ready(client, learner, issue):
    from app.documents.storage import get_storage

    cert = issue(learner)
    get_storage().put(f"test/{cert.id}.pdf", b"%PDF-1.4 test", "application/pdf")
    cert.pdf_key, cert.pdf_status = f"test/{cert.id}.pdf", "ready"
    shares.set_public(cert, True, actor=learner)
    db.session.commit()
    html = client.get(f"/verify/{cert.code}").get_data(as_text=True)
    link = re.search(r'href="([^"]+)"[^>]*data-testid="public-pdf"', html).group(1)
    pdf = client.get(link)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    shares.set_public(cert, False, actor=learner)
    db.session.commit()
    assert client.get(link).status_code == 404
