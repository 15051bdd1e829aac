"""Erasure: no personal data left in any table, certificates verifiable (or revoked) with the erased
wording, exactly once, audited without personal data, refused to anyone but admins."""

from __future__ import annotations

import io
import json

import pypdf
import pytest
from sqlalchemy import JSON, MetaData, String, Text, cast, func, select

from app.documents.storage import get_storage
from app.extensions import db
from app.models import AuditEvent, Certificate, Erasure, User
from app.services.lifecycle.certificates import verify_url
from app.services.privacy import erasure, policy
from tests.privacy.conftest import EMAIL, NAME, SSO_EMAIL, person_cert

NEEDLES = (NAME, EMAIL, SSO_EMAIL, "Quistgaard")


def personal_data_left(needles=NEEDLES) -> list[str]:
    """Every (table.column: needle) where a needle occurs, in every text and JSON column of every table
    of the live schema (reflected, so tables added later are searched too)."""
    meta = MetaData()
    meta.reflect(bind=db.engine)
    found = []
    with db.engine.connect() as conn:
        for table in meta.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, String | JSON):
                    continue
                for needle in needles:
                    for form in {needle, json.dumps(needle)[1:-1]}:
                        hits = conn.execute(select(func.count()).select_from(table).where(
                            cast(column, Text).contains(form, autoescape=True))).scalar()
                        if hits:
                            found.append(f"{table.name}.{column.name}: {needle}")
    return sorted(set(found))


def _erase(client, person_id: int, confirm: str):
    return client.post(f"/admin/privacy/people/{person_id}/erase",
                       data={"csrf_token": client.csrf_token, "confirm": confirm})


def _pdf_text(cert) -> str:
    data = get_storage().read(cert.pdf_key)
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_erasure_leaves_no_personal_data_in_any_table(webhook, receiver, busy_person, admin, login_as, jobs,
                                                      anon_client):
    before = personal_data_left()
    assert len(before) > 10, before  # the scan does find the person's data where it was seeded
    cert = person_cert(busy_person)
    old_pdf = cert.pdf_key
    assert NAME in _pdf_text(cert)
    receiver.reset()
    client = login_as(admin)
    response = _erase(client, busy_person.id, EMAIL.upper())  # any case confirms
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    jobs()  # the new PDF, the webhook deliveries
    assert personal_data_left() == []
    # the certificate: verifiable, issued to "a person whose data was erased", PDF rendered again
    cert = db.session.get(Certificate, cert.id, populate_existing=True)
    assert not get_storage().exists(old_pdf)
    assert cert.pdf_key and cert.pdf_key != old_pdf
    assert erasure.ERASED_HOLDER in _pdf_text(cert)
    page = anon_client.get(verify_url(cert).replace("http://localhost", ""))
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and erasure.ERASED_HOLDER in text and "Valid" in text
    assert cert.public is False
    # the person: signed out, cannot sign in, pseudonymous
    person = db.session.get(User, busy_person.id, populate_existing=True)
    row = db.session.scalar(select(Erasure))
    assert person.email == f"{row.pseudonym}@erased.invalid" and person.name == erasure.ERASED_NAME
    assert not person.active and person.password_hash is None and person.department_id is None
    assert busy_person.client.get("/profile").status_code == 302
    # the erasure's own audit row and webhook name nobody
    audit_row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.erased"))
    assert audit_row.subject_id == str(busy_person.id) and row.pseudonym in audit_row.summary
    erased_hooks = [r for r in receiver.wait_for(1) if r.json()["type"] == "user.erased"]
    assert len(erased_hooks) == 1
    assert erased_hooks[0].json()["data"] == {"id": busy_person.id, "pseudonym": row.pseudonym,
                                              "certificates": "keep",
                                              "erased_at": erased_hooks[0].json()["data"]["erased_at"]}


def test_erasure_happens_once(busy_person, admin, login_as, jobs):
    client = login_as(admin)
    assert _erase(client, busy_person.id, EMAIL).status_code == 302
    person = db.session.get(User, busy_person.id, populate_existing=True)
    again = _erase(client, busy_person.id, person.email)
    assert again.status_code == 422
    assert "already been erased" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Erasure)) == 1
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "user.erased")) == 1
    with pytest.raises(Exception, match="already"):
        erasure.erase(person, person.email, actor=admin)
    db.session.rollback()


def test_revoke_policy_revokes_their_certificates(busy_person, admin, login_as, jobs, anon_client):
    policy.update({**policy.current_values(), "erased_certificates": "revoke"}, actor=admin)
    db.session.commit()
    client = login_as(admin)
    assert _erase(client, busy_person.id, EMAIL).status_code == 302
    jobs()
    cert = db.session.get(Certificate, person_cert(busy_person).id, populate_existing=True)
    assert cert.revoked_at is not None and cert.revoke_reason == erasure.REVOKE_REASON
    text = anon_client.get(verify_url(cert).replace("http://localhost", "")).get_data(as_text=True)
    assert "Revoked" in text and erasure.ERASED_HOLDER in text
    assert personal_data_left() == []


@pytest.mark.parametrize("confirm", ["", "someone@example.com", EMAIL + "\x00", EMAIL + "\n", "x" * 100_000,
                                     f" {EMAIL[:-1]}"])
def test_a_wrong_confirmation_changes_nothing(busy_person, admin, login_as, confirm):
    client = login_as(admin)
    response = _erase(client, busy_person.id, confirm)
    assert response.status_code in (400, 422)  # NUL is refused for every request (400)
    person = db.session.get(User, busy_person.id, populate_existing=True)
    assert person.email == EMAIL and person.name == NAME
    assert db.session.scalar(select(func.count()).select_from(Erasure)) == 0


def test_unknown_ids_are_404_and_admins_cannot_erase_themselves(busy_person, admin, login_as):
    client = login_as(admin)
    assert _erase(client, 987654, "x@example.com").status_code == 404
    assert client.post("/admin/privacy/people/99999999999999999999999/erase",
                       data={"csrf_token": client.csrf_token}).status_code == 404
    assert client.post("/admin/privacy/people/987654/export",
                       data={"csrf_token": client.csrf_token}).status_code == 404
    assert client.get("/admin/privacy/people/-1").status_code == 404
    response = _erase(client, admin.id, admin.email)
    assert response.status_code == 422 and "cannot erase yourself" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["learner", "staff", "manager"])
def test_only_admins_erase(busy_person, make_user, login_as, role):
    client = login_as(make_user(role, department="Nursing"))
    assert _erase(client, busy_person.id, EMAIL).status_code == 403
    assert client.get(f"/admin/privacy/people/{busy_person.id}").status_code == 403
    assert db.session.get(User, busy_person.id, populate_existing=True).email == EMAIL


def test_exports_are_refused_after_erasure(busy_person, admin, login_as):
    client = login_as(admin)
    _erase(client, busy_person.id, EMAIL)
    response = client.post(f"/admin/privacy/people/{busy_person.id}/export",
                           data={"csrf_token": client.csrf_token})
    assert response.status_code == 302
    assert "was erased" in client.get(f"/admin/privacy/people/{busy_person.id}").get_data(as_text=True)
