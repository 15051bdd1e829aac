"""The admin pages lead everywhere they belong: the certificate page's PDF and email actions, the
certification page's Edit/documents/template/ZIP, People names; holders see valid certificates first."""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.models import OutboxEmail
from app.services.lifecycle import revocation
from app.services.messaging import notifications
from tests.support.lifecycle_views import post


def test_certificate_page_has_download_regenerate_and_resend(login_as, admin, staff, learner, earn, jobs,
                                                             smtp_server):
    cert = earn(learner)
    jobs()  # render the PDF; its "issued" mail goes out with it
    assert len(smtp_server.wait_for(1)) == 1
    client = login_as(admin)
    html = client.get(f"/certificates/{cert.id}").get_data(as_text=True)
    assert f'href="/certificates/{cert.id}/pdf"' in html and ">Download PDF<" in html
    assert f'action="/certificates/{cert.id}/regenerate"' in html
    assert f'action="/certificates/{cert.id}/resend-email"' in html and "Resend email" in html
    assert "View in mail log" in html

    resent = post(client, f"/certificates/{cert.id}/resend-email", htmx=False)
    assert resent.status_code == 302 and resent.headers["Location"].endswith(f"/certificates/{cert.id}")
    row = db.session.scalar(db.select(OutboxEmail).where(OutboxEmail.template == "certificate_issued"))
    db.session.refresh(row)
    assert row.status == "queued"
    jobs()
    messages = smtp_server.wait_for(2)
    assert len(messages) == 2 and messages[1]["To"] == learner.email
    assert any(part.get_content_type() == "application/pdf" for part in messages[1].walk())

    # Staff may see the page but not resend; a revoked certificate is not emailed again.
    assert post(login_as(staff), f"/certificates/{cert.id}/resend-email", htmx=False).status_code == 403
    assert "resend-email" not in login_as(staff).get(f"/certificates/{cert.id}").get_data(as_text=True)
    revocation.revoke(cert, "Issued by mistake", actor="test")
    db.session.commit()
    refused = post(client, f"/certificates/{cert.id}/resend-email", htmx=False, follow_redirects=True)
    assert "A revoked certificate is not emailed again" in refused.get_data(as_text=True)
    db.session.refresh(row)
    assert row.status == "sent"


def test_revoked_certificate_page_says_so(login_as, admin, learner, earn):
    cert = earn(learner)
    revocation.revoke(cert, "Assessment completed by someone else " + "x" * 300, actor="test")
    db.session.commit()
    html = login_as(admin).get(f"/certificates/{cert.id}").get_data(as_text=True)
    assert "Revoked: this certificate is not valid." in html and "x" * 300 in html
    assert "Reinstate" in html and "Revoke…" not in html


def test_certification_page_links_edit_documents_template_and_zip(login_as, admin, staff, first_aid):
    certification = first_aid[0]
    html = login_as(admin).get(f"/certifications/{certification.id}").get_data(as_text=True)
    assert f'href="/certifications?edit={certification.id}#certification-{certification.id}"' in html
    assert f'href="/admin/certifications/{certification.id}/documents"' in html
    assert f'action="/admin/certifications/{certification.id}/exports"' in html
    # Edit lands on the list with that row open in its editor.
    listing = login_as(admin).get(f"/certifications?edit={certification.id}").get_data(as_text=True)
    assert f'hx-post="/certifications/{certification.id}"' in listing
    staff_view = login_as(staff).get(f"/certifications/{certification.id}").get_data(as_text=True)
    assert "/documents" not in staff_view
    assert f'hx-post="/certifications/{certification.id}"' not in login_as(staff).get(
        f"/certifications?edit={certification.id}").get_data(as_text=True)
    docs = login_as(admin).get(f"/admin/certifications/{certification.id}/documents").get_data(as_text=True)
    assert f'href="/certifications/{certification.id}"' in docs


def test_people_names_link_to_their_page(login_as, admin, learner):
    html = login_as(admin).get("/admin/users").get_data(as_text=True)
    assert f'href="/learners/{learner.id}">{learner.name}</a>' in html


def test_holder_sees_valid_first_revoked_last_and_the_whole_reason(login_as, learner, earn,
                                                                   make_certification, make_course):
    old = earn(learner, age=timedelta(days=30))
    reason = "The assessment was completed by someone else; " + "the full reason must stay readable. " * 6
    revocation.revoke(old, reason.strip(), actor="test")
    course = make_course("FS-100", "Fire safety")
    make_certification("Fire Safety", [course])
    from app.services.lifecycle import enrollment

    [newer] = enrollment.record_completion(learner, course, score=None, actor="test")
    db.session.commit()
    client = login_as(learner)
    html = client.get("/").get_data(as_text=True)
    assert html.index(newer.serial) < html.index(old.serial)
    assert "Revoked: not valid." in html
    mine = client.get("/me/certificates").get_data(as_text=True)
    assert mine.index(newer.serial) < mine.index(old.serial)
    bell = client.get("/notifications/bell").get_data(as_text=True)
    assert reason.strip() in bell and "text-truncate" not in bell
    assert notifications.unread_count(learner.id) >= 1
