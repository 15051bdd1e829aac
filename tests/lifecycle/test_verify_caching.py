"""The verify page's mechanism: no session for anonymous visitors, public cache headers with a versioned
ETag (changes on revoke/reinstate), 304 on a match, one SQL statement for a hit and for a miss."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.services.lifecycle import revocation

JSON = {"Accept": "application/json"}


@pytest.fixture
def cert(learner, earn):
    return earn(learner)


@pytest.mark.parametrize("path, headers", [("/verify/{code}", {}), ("/verify/{code}", JSON),
                                           ("/verify/{code}.json", {}), ("/verify/no-such-code", {}),
                                           ("/verify/no-such-code.json", {})])
def test_anonymous_answers_start_no_session_and_are_publicly_cacheable(client, cert, path, headers):
    response = client.get(path.format(code=cert.code), headers=headers)
    assert response.status_code in (200, 404)
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert response.headers["ETag"]
    assert "X-CSRFToken" not in response.get_data(as_text=True)


def test_etag_answers_304_and_changes_on_revoke_and_reinstate(client, cert):
    first = client.get(f"/verify/{cert.code}")
    etag = first.headers["ETag"]
    again = client.get(f"/verify/{cert.code}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    as_json = client.get(f"/verify/{cert.code}", headers=JSON).headers["ETag"]
    assert as_json != etag  # one URL, two representations (Vary: Accept)

    revocation.revoke(cert, "Exam fraud", actor="test")
    db.session.commit()
    revoked = client.get(f"/verify/{cert.code}", headers={"If-None-Match": etag})
    assert revoked.status_code == 200 and "Revoked" in revoked.get_data(as_text=True)
    assert revoked.headers["ETag"] != etag

    revocation.reinstate(cert, actor="test")
    db.session.commit()
    back = client.get(f"/verify/{cert.code}")
    assert back.headers["ETag"] == etag


def test_signed_in_visitors_get_a_private_page(login_as, learner, cert):
    response = login_as(learner).get(f"/verify/{cert.code}")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-cache"
    assert "X-CSRFToken" in response.get_data(as_text=True)  # their htmx writes still carry the token


@pytest.mark.parametrize("suffix, headers", [("", {}), ("", JSON), (".json", {})])
def test_hit_and_miss_run_the_same_single_statement(client, cert, statements, suffix, headers):
    code = cert.code
    statements.clear()
    client.get(f"/verify/{code}{suffix}", headers=headers)
    hit = list(statements)
    statements.clear()
    client.get(f"/verify/{'x' * len(code)}{suffix}", headers=headers)
    # The school's branding (one primary-key row, rendered into the page and cached with it) may be read
    # too; the answer itself is one statement, the same for a hit and a miss.
    def answer(seen: list[str]) -> list[str]:
        return [s for s in seen if "organisation_settings" not in s]

    assert len(answer(hit)) == 1 and answer(statements) == answer(hit), hit


def test_repeated_answers_come_rendered_from_the_process_for_hits_and_misses_alike(client, cert, statements):
    code = cert.code
    for path in (f"/verify/{code}", f"/verify/{'y' * len(code)}"):
        first = client.get(path)
        statements.clear()
        second = client.get(path)
        assert statements == [] and second.data == first.data and second.status_code == first.status_code


def test_a_visitor_with_a_session_gets_a_fresh_private_answer(client, cert, statements):
    code = cert.code
    client.get(f"/verify/{code}")
    client.set_cookie("session", "anything")
    statements.clear()
    response = client.get(f"/verify/{code}")
    assert response.headers["Cache-Control"] == "private, no-cache" and len(statements) == 1
