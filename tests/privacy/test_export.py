"""Download my data: the ZIP holds what docs/privacy.md promises, only its owner gets it, it expires."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import DataExport
from app.services.privacy import contents, exports, retention
from tests.privacy.conftest import EMAIL, NAME, SSO_EMAIL, person_cert


def _request(client):
    return client.post("/profile/data/export", data={"csrf_token": client.csrf_token})


def _link_from_mail(smtp_server) -> str:
    mails = [m for m in smtp_server.messages if m["Subject"] == "Your data export is ready"]
    assert len(mails) == 1
    body = mails[0].get_body(("plain",)).get_content()
    line = next(word for word in body.split() if "/profile/data/exports/" in word)
    return line.replace("http://localhost", "")


def test_export_zip_holds_what_the_docs_promise(busy_person, jobs, smtp_server):
    client = busy_person.client
    page = client.get("/profile/data")
    assert page.status_code == 200 and "Download my data" in page.get_data(as_text=True)
    assert _request(client).status_code == 302
    jobs()
    link = _link_from_mail(smtp_server)
    response = client.get(link)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "no-store" in response.headers["Cache-Control"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    cert = person_cert(busy_person)
    assert sorted(archive.namelist()) == sorted(["data.json", "README.txt", f"certificates/{cert.serial}.pdf",
                                                 f"credentials/{cert.serial}.json"])
    data = json.loads(archive.read("data.json"))
    assert tuple(data) == contents.SECTIONS
    assert data["profile"]["email"] == EMAIL and data["profile"]["name"] == NAME
    assert data["profile"]["public_profile"]["handle"] == "zoeq"
    assert [e["course_code"] for e in data["enrollments"]] == ["FA-201"]
    assert data["completions"][0]["score"] == 91
    assert data["certificates"][0]["serial"] == cert.serial
    assert data["certificates"][0]["snapshot"]["holder_name"] == NAME
    assert data["shares"] == [{"serial": cert.serial, "public": True}]
    assert {e["kind"] for e in data["engagement"]} >= {"view", "share"}
    assert data["notifications"], "the bell's messages"
    assert any(m["template"] == "certificate_issued" for m in data["mail"])
    assert data["sessions"] and data["sessions"][0]["ip"] == "127.0.0.1"
    assert data["sign_in"]["single_sign_on"][0]["email"] == SSO_EMAIL
    assert [p["name"] for p in data["sign_in"]["passkeys"]] == ["Phone"]
    assert [t["name"] for t in data["api_tokens"]] == ["My laptop"]
    actions = {row["action"] for row in data["audit"]}
    assert {"user.updated", "certificate.shared", "privacy.export_requested"} <= actions
    assert "T" in data["profile"]["created_at"]  # ISO 8601
    pdf = archive.read(f"certificates/{cert.serial}.pdf")
    assert pdf.startswith(b"%PDF")
    credential = json.loads(archive.read(f"credentials/{cert.serial}.json"))
    assert "OpenBadgeCredential" in credential["type"]
    assert credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    from app.services.credentials import verifying
    verdict = verifying.verify_upload(archive.read(f"credentials/{cert.serial}.json"), "c.json")
    assert verdict.outcome == "valid", verdict.summary


def test_another_learner_and_anonymous_get_404_or_login(busy_person, jobs, make_user, login_as, anon_client):
    exports.request_export(busy_person, actor=busy_person)
    db.session.commit()
    jobs()
    export = db.session.scalar(select(DataExport))
    assert export.status == "ready", (export.status, export.error)
    url = f"/profile/data/exports/{export.token}"
    other = login_as(make_user("learner"))
    assert other.get(url).status_code == 404
    staff = login_as(make_user("staff"))
    assert staff.get(url).status_code == 404
    assert anon_client.get(url).status_code == 302  # to the login page
    assert busy_person.client.get(url).status_code == 200
    assert busy_person.client.get(url[:-1] + ("A" if url[-1] != "A" else "B")).status_code == 404
    assert busy_person.client.get("/profile/data/exports/" + "x" * 5000).status_code == 404


def test_one_pending_export_at_a_time(busy_person, jobs):
    client = busy_person.client
    _request(client)
    again = _request(client)
    assert again.status_code == 302
    assert "already being prepared" in client.get("/profile/data").get_data(as_text=True)
    assert db.session.scalar(select(db.func.count()).select_from(DataExport)) == 1
    jobs()
    _request(client)  # finished: a new one may be asked for
    assert db.session.scalar(select(db.func.count()).select_from(DataExport)) == 2


def test_link_expires_and_the_sweep_deletes_the_file(busy_person, jobs):
    from app.documents.storage import get_storage

    exports.request_export(busy_person, actor=busy_person)
    db.session.commit()
    jobs()
    export = db.session.scalar(select(DataExport))
    assert export.expires_at - export.ready_at == timedelta(days=7)
    url = f"/profile/data/exports/{export.token}"
    assert busy_person.client.get(url).status_code == 200
    later = export.expires_at + timedelta(seconds=1)
    assert exports.downloadable(export.token, busy_person, now=later) is None
    key = export.storage_key
    assert retention.report(later)["data_exports"] == 1
    assert retention.enforce(later)["data_exports"] == 1  # even with retention off
    db.session.commit()
    assert not get_storage().exists(key)
    assert busy_person.client.get(url).status_code == 404
    assert retention.enforce(later)["data_exports"] == 0


def test_admin_exports_for_a_person_and_may_download_it(busy_person, admin, login_as, jobs, smtp_server):
    client = login_as(admin)
    page = client.get(f"/admin/privacy/people/{busy_person.id}")
    assert page.status_code == 200
    response = client.post(f"/admin/privacy/people/{busy_person.id}/export",
                           data={"csrf_token": client.csrf_token})
    assert response.status_code == 302
    jobs()
    link = _link_from_mail(smtp_server)  # mailed to the person
    assert client.get(link).status_code == 200  # the admin who asked
    assert busy_person.client.get(link).status_code == 200  # and the person


def test_a_worker_dying_mid_build_is_recovered(busy_person, jobs):
    from app.services import recovery

    export = exports.request_export(busy_person, actor=busy_person)
    db.session.commit()
    an_hour_ago = utcnow() - timedelta(hours=1)
    db.session.execute(db.update(DataExport).values(status="building", started_at=an_hour_ago))
    db.session.commit()
    claims = recovery.Claims(held=frozenset(), claimed_before=utcnow(), now=utcnow())
    assert exports.free_abandoned_exports(claims) == {"data_exports_abandoned": 1}
    db.session.commit()
    jobs()
    row = db.session.get(DataExport, export.id, populate_existing=True)
    assert row.status == "ready", row.error


def test_an_export_redis_lost_is_enqueued_again_by_the_sweep(busy_person, jobs):
    from app.queue import get_redis

    export = exports.request_export(busy_person, actor=busy_person)
    db.session.commit()
    assert exports.requeue_lost_exports() == {"data_exports_requeued": 0}  # just asked: its job waits
    get_redis().flushdb()
    db.session.execute(db.update(DataExport).values(created_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    assert exports.requeue_lost_exports() == {"data_exports_requeued": 1}
    db.session.commit()
    assert exports.requeue_lost_exports() == {"data_exports_requeued": 0}  # now waiting in the queue
    jobs()
    row = db.session.get(DataExport, export.id, populate_existing=True)
    assert row.status == "ready", row.error
