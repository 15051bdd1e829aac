"""Issue 12, "forms that cannot trap" and "consistency": cross-field checks of a certification (422 with
the field to fix, nothing changed), the status explanation and the prefilled issuer/signatory, the
below-minimum text in an enrollment row that stays on reload, and the one date/time/score format."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Certification
from app.rules import display
from app.services.errors import ValidationError
from app.services.lifecycle import catalog, enrollment
from tests.support.lifecycle_views import post


def _cert_fields(**overrides) -> dict:
    return {"name": "Fire Warden", "status": "draft", "validity_months": 12, "renewal_window_days": 60,
            "reminder_days": "60, 14", **overrides}


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"reminder_days": "400, 30"}, "reminder_days", "outside the validity"),
    ({"renewal_window_days": 365}, "renewal_window_days", "shorter than the validity"),
    ({"renewal_window_days": 400, "reminder_days": "30"}, "renewal_window_days", "shorter than the validity"),
    ({"reminder_days": "90, 30"}, "reminder_days", "before renewal opens (60 days"),
    ({"validity_months": 1, "renewal_window_days": 7, "reminder_days": "30"}, "reminder_days",
     "1 month (at least 28 days)"),
])
def test_timing_checks_name_the_field_and_change_nothing(overrides, field, words):
    with pytest.raises(ValidationError) as caught:
        catalog.create_certification(_cert_fields(**overrides), actor="test")
    assert set(caught.value.errors) == {field} and words in caught.value.errors[field]
    db.session.rollback()
    assert db.session.scalar(select(func.count(Certification.id))) == 0


def test_timing_checks_pass_when_consistent_or_never_expiring():
    assert catalog.create_certification(_cert_fields(), actor="test").reminder_days == [60, 14]
    never = catalog.create_certification(
        {"name": "Induction", "renewal_window_days": 3650, "reminder_days": "900"}, actor="test")
    assert never.validity_months is None  # nothing expires, so nothing to place: accepted
    # Created without reminder days: the defaults (90, 30, 7) keep to the renewal window.
    short = catalog.create_certification(
        {"name": "Ladders", "validity_months": 12, "renewal_window_days": 30}, actor="test")
    assert short.reminder_days == [30, 7]


def test_partial_update_is_checked_against_the_stored_values(first_aid):
    cert, _, _ = first_aid  # 24 months, window 90, reminders 90, 30, 7
    with pytest.raises(ValidationError) as caught:
        catalog.update_certification(cert, {"renewal_window_days": 14}, actor="test")
    assert "Use at most 14 days" in caught.value.errors["reminder_days"]
    db.session.rollback()
    assert db.session.get(Certification, cert.id).renewal_window_days == 90
    catalog.update_certification(cert, {"name": "First Aid L2"}, actor="test")  # untouched timing: fine


def test_form_shows_timing_errors_next_to_the_fields(login_as, admin, first_aid):
    cert, fa101, fa102 = first_aid
    client = login_as(admin)
    answer = post(client, f"/certifications/{cert.id}", {
        "name": cert.name, "status": "active", "course_ids": [str(fa101.id), str(fa102.id)],
        "validity_months": "12", "renewal_window_days": "400", "reminder_days": "500"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert f'id="renewal_window_days-{cert.id}-error"' in html and "shorter than the validity" in html
    db.session.expire_all()
    assert db.session.get(Certification, cert.id).validity_months == 24  # nothing changed


def test_api_answers_422_with_the_field_names(app, admin):
    from app.services.accounts import tokens

    _, token = tokens.create_token(admin, "t", actor=admin)
    db.session.commit()
    client = app.test_client()
    answer = client.post("/api/v1/certifications", headers={"Authorization": f"Bearer {token}"},
                         json={"name": "X", "validity_months": 6, "renewal_window_days": 200})
    assert answer.status_code == 422 and "renewal_window_days" in answer.get_json()["errors"]


def test_new_certification_form_explains_status_and_prefills_issuer(app, login_as, admin):
    html = login_as(admin).get("/certifications").get_data(as_text=True)
    assert "<strong>Draft</strong> never issues a certificate" in html
    assert 'aria-describedby="status-new-help"' in html
    assert "<strong>Active</strong> issues one automatically to every learner who qualifies" in html
    assert '<option selected value="draft">' in html  # a new one stays a draft until the admin says so
    issuer = f'name="issuer_name" type="text" value="{app.config["ORG_NAME"]}"'
    assert f'id="issuer_name-new" maxlength="200" {issuer}' in html
    assert 'id="signatory_name-new" maxlength="200" name="signatory_name" type="text" value="Ada Admin"' \
        in html
    assert "Ctrl" not in html  # no Ctrl-click instructions: chips.js makes the selects searchable


def test_below_minimum_score_says_so_in_the_row_and_stays(login_as, admin, learner, first_aid):
    _, fa101, fa102 = first_aid  # min score 70
    client = login_as(admin)
    row = enrollment.enroll(learner, fa101, actor="test")
    db.session.commit()
    answer = post(client, f"/enrollments/{row.id}", {"status": "completed", "progress": "100", "score": "64"})
    expected = "Score 64 is below the minimum 70 for First Aid Level 2: no certificate yet."
    assert answer.status_code == 200 and expected in answer.get_data(as_text=True)
    assert expected in client.get("/enrollments").get_data(as_text=True)  # on reload too
    assert expected in client.get(f"/enrollments/{row.id}/row").get_data(as_text=True)
    assert expected in client.get(f"/learners/{learner.id}").get_data(as_text=True)  # the learner page
    assert expected in login_as(learner).get("/").get_data(as_text=True)  # and the learner's own dashboard

    enrollment.record_completion(learner, fa101, score=88.0, actor="test")
    issued = enrollment.record_completion(learner, fa102, score=91.5, actor="test")
    db.session.commit()
    html = client.get("/enrollments").get_data(as_text=True)
    assert "below the minimum" not in html
    assert f"Certificate: <a href=\"/certificates/{issued[0].id}\">{issued[0].serial}</a>" in html
    assert ">88<" in html and ">91.5<" in html and "88.0" not in html


def test_display_formats():
    moment = datetime(2026, 12, 2, 14, 5, 59, tzinfo=UTC)
    assert display.day(date(2026, 12, 2)) == "2 Dec 2026" and display.day(moment) == "2 Dec 2026"
    assert display.moment(moment) == "2 Dec 2026, 14:05 UTC" and display.clock(moment) == "14:05 UTC"
    assert display.moment("2026-12-02T14:05:00+00:00") == "2 Dec 2026, 14:05 UTC"
    assert display.day(None, "never") == "never" and display.moment(None) == ""
    assert [display.score(s) for s in (88.0, 88.5, 72.25, 0, 100)] == ["88", "88.5", "72.25", "0", "100"]


def test_edit_form_shows_a_stored_score_without_dot_zero(login_as, admin, first_aid):
    cert, _, _ = first_aid  # min score 70, stored as 70.0
    html = login_as(admin).get(f"/certifications/{cert.id}/edit").get_data(as_text=True)
    assert re.search(r'name="min_score"[^>]*value="70"', html) and 'value="70.0"' not in html
