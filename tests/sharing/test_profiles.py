"""Public learner profiles: the handle rules, what /p/<handle> lists, caching and the settings page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, PublicProfile
from app.services.errors import ValidationError
from app.services.lifecycle import revocation
from app.services.sharing import profiles, shares
from tests.support.certificates import at

HTMX = {"HX-Request": "true"}


def _save(client, htmx: bool = True, **fields):
    data = {"handle": "", "headline": "", "enabled": "y", **fields}
    if not data["enabled"]:
        data.pop("enabled")
    headers = {"X-CSRFToken": client.csrf_token, **(HTMX if htmx else {})}
    return client.post("/me/public-profile", data=data, headers=headers)


@pytest.mark.parametrize("handle, message", [
    ("ab", "Between 3 and 30"),
    ("a" * 31, "Between 3 and 30"),
    ("x" * 5000, "200 characters"),
    ("lena learner", "only letters"),
    ("léna", "only letters"),
    ("lena_l", "only letters"),
    ("-lena", "hyphen"),
    ("lena--l", "hyphen"),
    ("admin", "reserved"),
    ("Verify", "reserved"),
    ("lena\x07x", "control"),
    ("lena\u2028x", "control"),
    ("", "Choose a handle"),
])
def test_bad_handles_are_refused_next_to_the_field(login_as, learner, handle, message):
    client = login_as(learner)
    response = _save(client, handle=handle)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message.lower() in html.lower() and 'id="handle-error"' in html
    assert db.session.scalar(select(PublicProfile)) is None


def test_handle_is_unique_whatever_the_case(login_as, learner, make_user):
    profiles.save_profile(learner, "lena-l")
    db.session.commit()
    other = make_user("learner", email="other@example.com")
    with pytest.raises(ValidationError) as refused:
        profiles.save_profile(other, "LENA-L")
    assert "Someone else" in refused.value.errors["handle"]
    db.session.rollback()
    response = _save(login_as(other), handle="Lena-L")
    assert response.status_code == 422 and "Someone else has this handle" in response.get_data(as_text=True)
    # The owner may save their own handle again, in another case; it is stored lower-cased.
    assert profiles.save_profile(learner, "Lena-L", "Nurse").handle == "lena-l"


def test_headline_is_one_short_line(learner):
    with pytest.raises(ValidationError) as refused:
        profiles.save_profile(learner, "lena", "x" * 121)
    assert "headline" in refused.value.errors
    with pytest.raises(ValidationError):
        profiles.save_profile(learner, "lena", "line\nbreak")


def test_profile_lists_only_public_unrevoked_certificates_newest_first(client, learner, make_user, issue,
                                                                       certification):
    from app.services.lifecycle import catalog

    def another(name: str):
        return catalog.create_certification({"name": name, "status": "active", "validity_months": 24,
                                             "course_ids": [certification.courses[0].id]}, actor="test")

    older = issue(learner, when=at(2020, 1, 10, 9))  # expired in 2022: listed, marked expired
    newer = issue(learner, when=at(2026, 1, 12, 9), certification_=another("Fire Safety"))
    hidden = issue(make_user("learner", email="x@example.com"), when=at(2026, 1, 1))  # someone else's
    revoked = issue(learner, when=at(2025, 6, 1), certification_=another("Revoked Skill"))
    for cert in (older, newer, revoked, hidden):
        shares.set_public(cert, True, actor=cert.user)
    private = issue(learner, when=at(2026, 1, 13), certification_=another("Private Skill"))
    revocation.revoke(revoked, "mistake", actor="test")
    profiles.save_profile(learner, "lena", "Nurse in training")
    db.session.commit()

    response = client.get("/p/LENA")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:300]
    assert html.count('data-testid="profile-cert"') == 2
    assert html.count('data-testid="profile-badge"') == 2  # each with its certification's badge
    assert html.index("Fire Safety") < html.index("First Aid Level 2")  # newest first
    assert "Expired" in html and "Private Skill" not in html and "Revoked Skill" not in html
    assert f"/verify/{newer.code}" in html and f"/verify/{older.code}" in html
    assert hidden.code not in html and private.code not in html
    assert 'property="og:title" content="Lena Learner — certificates"' in html
    assert 'property="og:url" content="http://localhost/p/lena"' in html
    assert "Nurse in training" in html
    # Anonymous and cacheable: no session cookie, public cache headers, a conditional GET.
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"].startswith("public")
    again = client.get("/p/lena", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    learner.email  # noqa: B018  (loaded: the email is never on the page)
    assert learner.email not in html


def test_disabled_and_unknown_handles_answer_the_same_404(client, learner, issue):
    shares.set_public(issue(learner), True, actor=learner)
    profiles.save_profile(learner, "lena", enabled=False)
    db.session.commit()
    off, unknown = client.get("/p/lena"), client.get("/p/nobody-here")
    assert off.status_code == unknown.status_code == 404
    assert off.get_data() == unknown.get_data()
    for path in ("/p/" + "x" * 5000, "/p/%00", "/p/%E2%80%A8", "/p/lena%0a"):
        assert client.get(path).status_code in (400, 404)


def test_learner_enables_profile_from_the_profile_page(login_as, learner, client):
    holder = login_as(learner)
    page = holder.get("/profile").get_data(as_text=True)
    assert 'hx-get="/me/public-profile"' in page
    fragment = holder.get("/me/public-profile", headers=HTMX).get_data(as_text=True)
    assert 'id="public-profile"' in fragment and "<nav" not in fragment
    response = _save(holder, handle="Lena-L", headline="Nurse")
    assert response.status_code == 200 and "/p/lena-l" in response.get_data(as_text=True)
    assert client.get("/p/lena-l").status_code == 200
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("profile.%"))).all()
    assert actions == ["profile.enabled"]
    # Without JavaScript: the plain form posts and comes back to the settings page.
    response = _save(holder, htmx=False, handle="lena-l", enabled="")
    assert response.status_code == 302 and response.location.endswith("/me/public-profile")
    assert client.get("/p/lena-l").status_code == 404
    assert _save(holder, htmx=False, handle="a").status_code == 422


def test_settings_need_a_session_and_csrf(client, login_as, learner):
    assert client.get("/me/public-profile").status_code == 302
    holder = login_as(learner)
    response = holder.post("/me/public-profile", data={"handle": "lena", "enabled": "y"})
    assert response.status_code in (400, 403)
    assert db.session.scalar(select(PublicProfile)) is None
