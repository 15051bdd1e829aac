"""Auto-enrolment on the Moodle side: a requirement with auto-enrolment enrols the person in the Moodle
course the required course was synced from (core_user_get_users_by_field, then enrol_manual_enrol_users),
against the web-service simulator on loopback, through real RQ jobs."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Course
from app.services.compliance import requirements
from app.services.integrations import moodle, registry
from app.services.lifecycle import catalog
from tests.support.moodle_simulator import MoodleSimulator, small_site
from tests.support.syncs import run_sync


@pytest.fixture
def site():
    with MoodleSimulator(small_site()) as sim:
        yield sim


@pytest.fixture
def synced(site, allow_private, jobs):
    integration, _ = registry.create("moodle", {"name": "Campus Moodle", "site_url": site.url,
                                                "moodle_token": "full"}, actor="test")
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    assert run_sync(integration, jobs).status == "succeeded"
    return integration


def _moodle_enrolled(site, course: Course, moodle_user) -> bool:
    return (int(course.external_id), moodle_user.id) in site.site.enrolments


def test_a_required_course_from_moodle_enrols_the_person_there(site, synced, make_user, admin, jobs):
    fire = db.session.scalar(select(Course).where(Course.code == "FIRE101"))
    nina_in_moodle = site.site.add_user("Nina", "Newcomer", email="nina.newcomer@example.org")
    nina = make_user("learner", email="nina.newcomer@example.org", name="Nina Newcomer")
    warden = catalog.create_certification({"name": "Fire Warden", "status": "active",
                                           "course_ids": [fire.id]}, actor="test")
    db.session.commit()
    assert not _moodle_enrolled(site, fire, nina_in_moodle)

    requirements.create({"certification_id": warden.id, "scope": "people", "user_ids": [nina.id],
                         "due_days": 30, "auto_enrol": True}, actor=admin)
    db.session.commit()
    jobs()
    assert _moodle_enrolled(site, fire, nina_in_moodle)
    assert site.site.enrolments[(int(fire.external_id), nina_in_moodle.id)].role == "student"
    assert site.site.calls["enrol_manual_enrol_users"] == 1


def test_without_the_functions_or_the_account_nothing_is_enrolled(site, synced, make_user):
    fire = db.session.scalar(select(Course).where(Course.code == "FIRE101"))
    stranger = make_user("learner", email="no.moodle.account@example.org")
    assert moodle.enrol_learner(fire, stranger) == "skipped: no Moodle account"
    site.site.add_token("read-only", functions=["core_webservice_get_site_info"])
    registry.update(synced, {"moodle_token": "read-only"}, actor="test")
    db.session.commit()
    outcome = moodle.enrol_learner(fire, stranger)
    assert outcome.startswith("skipped: the token lacks") and "enrol_manual_enrol_users" in outcome
    assert site.site.calls["enrol_manual_enrol_users"] == 0
