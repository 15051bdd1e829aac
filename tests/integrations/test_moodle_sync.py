"""Moodle/IOMAD sync against the web-service simulator on loopback, through real RQ jobs."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Certificate, Completion, Course, User
from app.models.integration import Integration, SyncRun
from app.services.integrations import moodle, registry, syncs
from app.services.lifecycle import catalog
from app.tasks.integrations import run_due_syncs
from tests.support.moodle_simulator import MoodleSimulator, small_site
from tests.support.syncs import run_sync


@pytest.fixture
def site():
    with MoodleSimulator(small_site()) as sim:
        yield sim


@pytest.fixture
def make_moodle(allow_private):
    def factory(url: str, token: str = "full", **fields) -> Integration:  # noqa: S107 - a simulator token
        integration, _ = registry.create(
            "moodle",
            {"name": "Campus Moodle", "site_url": url, "moodle_token": token, **fields},
            actor="test",
        )
        registry.set_active(integration, True, actor="test")
        db.session.commit()
        return integration

    return factory




def total(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_sync_maps_courses_users_and_completions_and_rerun_is_a_noop(site, make_moodle, jobs):
    integration = make_moodle(site.url)
    run = run_sync(integration, jobs)
    assert run.status == "succeeded", run.message
    assert run.details["courses"] == {"created": 3}
    assert run.details["completions"] == {"created": 2}
    assert (run.failed, run.updated) == (0, 0)
    fire = db.session.scalar(
        select(Course).where(Course.source == f"moodle:{integration.id}", Course.code == "FIRE101")
    )
    assert (fire.title, fire.category, fire.description) == ("Fire safety", "Safety", "Evacuation drills")
    ada = db.session.scalar(select(User).where(User.email.like("ada.lovelace%")))
    assert ada is not None and ada.role == "learner"
    assert total(Completion) == 2
    before = (total(Course), total(User), total(Completion))
    again = run_sync(integration, jobs)
    assert again.status == "succeeded"
    assert (again.created, again.updated, again.failed) == (0, 0, 0)
    assert again.unchanged == 3  # the courses, seen again; no learner changed since the cursor
    assert (total(Course), total(User), total(Completion)) == before
    assert again.details["api_calls"] < run.details["api_calls"]


def test_new_completion_is_picked_up_incrementally_and_issues_a_certificate(site, make_moodle, jobs):
    integration = make_moodle(site.url)
    run_sync(integration, jobs)
    fire = db.session.scalar(select(Course).where(Course.code == "FIRE101"))
    catalog.create_certification(
        {"name": "Fire Warden", "status": "active", "course_ids": [fire.id]}, actor="test"
    )
    db.session.commit()
    grace = next(u for u in site.site.users.values() if u.firstname == "Grace")
    site.site.complete(int(fire.external_id), grace.id)
    run = run_sync(integration, jobs)
    assert run.details["completions"] == {"created": 1}
    assert (
        db.session.scalar(
            select(Certificate).join(User, Certificate.user_id == User.id).where(User.email == grace.email)
        )
        is not None
    )


def test_invalid_token_fails_the_run_in_plain_words_and_changes_nothing(site, make_moodle, jobs):
    integration = make_moodle(site.url, token="not-a-token")
    run = run_sync(integration, jobs)
    assert run.status == "failed"
    assert run.message == "The token is invalid or was deleted."
    assert total(Course) == 0 and total(User) == 0
    db.session.refresh(integration)
    assert integration.status == "failing" and integration.last_error == run.message


def test_enrolled_users_are_paged(allow_private, make_moodle, jobs):
    site = small_site()
    big = site.add_course("BIG", "Big course", criteria=["Done"])
    for n in range(150):
        learner = site.add_user(f"P{n}", "Pager")
        site.enrol(big, learner, lastcourseaccess=int(site.clock()) - 86400 * 10)
        if n % 50 == 0:
            site.complete(big, learner, int(site.clock()) - 86400 * 11, touch=False)
    with MoodleSimulator(site) as sim:
        run = run_sync(make_moodle(sim.url), jobs)
        pages = [
            r
            for r in sim.site.requests
            if r.function == "core_enrol_get_enrolled_users" and dict(r.fields).get("courseid") == str(big.id)
        ]
    assert len(pages) == 2  # 100 + 50
    assert run.status == "succeeded"
    assert (
        db.session.scalar(select(func.count()).select_from(User).where(User.email.like("p%.pager.%"))) == 150
    )
    assert run.details["completions"]["created"] == 2 + 3


def test_a_failing_item_changes_nothing_half_way(allow_private, make_moodle, jobs):
    site = small_site()
    fire = next(c for c in site.courses.values() if c.shortname == "FIRE101")
    odd = site.add_user("Odd", "Address", email="not an email")
    site.enrol(fire, odd, lastcourseaccess=int(site.clock()) - 86400 * 10)
    site.complete(fire, odd, int(site.clock()) - 86400 * 10, touch=False)
    with MoodleSimulator(site) as sim:
        integration = make_moodle(sim.url)
        run = run_sync(integration, jobs)
    assert run.status == "partial"
    assert run.details["users"]["failed"] == 1 and run.details["completions"]["failed"] == 1
    assert run.details["completions"]["created"] == 2
    assert db.session.scalar(select(User).where(User.name == "Odd Address")) is None
    cursor = integration.cursor["courses"]
    assert str(fire.id) not in cursor  # retried in full next time


def test_test_button_shows_site_and_missing_functions(site, make_moodle):
    ok = moodle.test(make_moodle(site.url))
    assert ok["ok"] and "Simulated Moodle" in ok["message"]
    lacking = moodle.test(make_moodle(site.url, token="nocompletion"))
    assert not lacking["ok"]
    assert lacking["missing_functions"] == ["core_completion_get_course_completion_status"]
    bad = moodle.test(make_moodle(site.url, token="nope"))
    assert bad == {"ok": False, "error": "The token is invalid or was deleted.", "errorcode": "invalidtoken"}


def test_runs_never_overlap(site, make_moodle, jobs):
    integration = make_moodle(site.url)
    held = syncs.lock(integration.id)
    assert held.acquire()
    try:
        run = run_sync(integration, jobs)
    finally:
        held.release()
    assert run is None or run.status == "skipped"
    assert total(Course) == 0


def test_cron_queues_due_syncs_once(site, make_moodle, jobs):
    integration = make_moodle(site.url, sync_every_minutes="60")
    assert run_due_syncs() == {"queued": 1}
    assert run_due_syncs() == {"queued": 0}
    jobs()
    db.session.commit()
    assert total(Course) == 3
    assert (
        db.session.scalar(select(SyncRun.trigger).where(SyncRun.integration_id == integration.id))
        == "schedule"
    )
