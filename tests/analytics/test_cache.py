"""The analytics cache (app/services/analytics/cache.py) and the page's lazy figures.

A figure is served from Redis until a commit changes a row it reads; changes the figures don't read,
and rolled-back changes, keep it. Past its time budget the page leaves figures to htmx placeholders.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import event, update

from app.extensions import db
from app.models import Certificate, EngagementCounter
from app.queue import get_redis
from app.services.accounts import departments
from app.services.analytics import cache, figures
from app.services.sharing import engagement
from app.tasks import reports
from tests.analytics.conftest import NOW, at

ALL = figures.Filters()


@contextmanager
def statements():
    seen: list[str] = []

    def listener(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def status_counts() -> list[int]:
    return cache.figure("status", ALL)["datasets"][0]["data"]


def generation() -> int:
    return int(get_redis().get(cache.GENERATION_KEY) or 0)


@pytest.fixture
def admin_client(world, login_as, frozen):
    return login_as(world.users["admin"])


def test_a_cached_figure_costs_no_sql_until_a_relevant_commit(world, frozen):
    before = status_counts()
    with statements() as seen:
        assert status_counts() == before
    assert seen == []
    world.certificates[1].revoked_at = at(2026, 6, 14)
    db.session.commit()
    after = status_counts()
    assert sum(after) == sum(before) and after[3] == before[3] + 1  # one more revoked
    assert cache.figure("status", ALL)["as_of"].startswith(NOW.date().isoformat())


def test_changes_the_figures_do_not_read_keep_the_cache(world, frozen):
    status_counts()
    start = generation()
    world.users["ann"].last_login_at = NOW  # a login stamp
    db.session.commit()
    db.session.execute(update(Certificate).values(pdf_status="failed", pdf_error="x"))  # PDF bookkeeping
    db.session.commit()
    assert generation() == start
    departments.assign(world.users["ann"], departments.find_or_create("Finance", actor="test"),
                       actor="test")  # the figures group by department
    db.session.commit()
    assert generation() == start + 1


def test_statement_level_writes_and_engagement_counts_invalidate(world, frozen):
    start = generation()
    engagement.record(world.certificates[1].id, "view")
    db.session.commit()
    assert generation() == start + 1
    db.session.execute(update(Certificate).where(Certificate.id == world.certificates[2].id)
                       .values(revoked_at=at(2026, 6, 1)))
    db.session.commit()
    assert generation() == start + 2


def test_a_rolled_back_change_keeps_the_cache(world, frozen):
    start = generation()
    db.session.add(EngagementCounter(certificate_id=world.certificates[1].id, kind="share", day=NOW.date(),
                                     count=1))
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert generation() == start


def test_with_the_cache_off_every_read_computes(world, frozen, app, monkeypatch):
    monkeypatch.setitem(app.config, "ANALYTICS_CACHE_SECONDS", 0)
    status_counts()
    with statements() as seen:
        status_counts()
    assert seen
    assert cache.cached("status", ALL) is None


def test_without_redis_figures_are_still_computed(world, frozen, app):
    working = app.extensions["laurel_redis"]
    app.extensions["laurel_redis"] = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2,
                                                 retry=Retry(NoBackoff(), 0))
    try:
        assert sum(status_counts()) == len(world.certificates)
        world.certificates[1].revoked_at = at(2026, 6, 14)
        db.session.commit()  # the bump fails quietly (logged): the commit stands
    finally:
        app.extensions["laurel_redis"] = working
    assert db.session.get(Certificate, world.certificates[1].id).revoked_at is not None


def test_past_its_budget_the_page_leaves_figures_to_htmx(admin_client, app, monkeypatch):
    monkeypatch.setitem(app.config, "ANALYTICS_INLINE_BUDGET_MS", 0)
    html = admin_client.get("/analytics/?department=Engineering").get_data(as_text=True)
    urls = re.findall(r'hx-get="(/analytics/figure/[^"]+)"', html)
    assert len(urls) == len(figures.FIGURES)  # a budget of 0: every figure loads on its own
    assert "/analytics/figure/status?department=Engineering" in urls
    assert html.count("data-figure-placeholder") == len(urls) and 'aria-busy="true"' in html
    card = admin_client.get("/analytics/figure/status?department=Engineering", headers={"HX-Request": "true"})
    body = card.get_data(as_text=True)
    assert card.status_code == 200 and "<html" not in body
    assert 'data-chart="chart-data-status"' in body
    assert "/analytics/export/status.csv?department=Engineering" in body
    assert "As of 12:00 UTC." in body
    table = admin_client.get("/analytics/figure/recent-completions?department=Engineering").get_data(
        as_text=True)
    assert "Cat Chen" in table and "Ann Archer" not in table
    html = admin_client.get("/analytics/?department=Engineering").get_data(as_text=True)
    assert "/analytics/figure/status?" not in html and "/analytics/figure/recent-completions?" not in html
    assert "/analytics/figure/by-department?" in html  # not loaded yet: still a placeholder


def test_figure_fragment_refuses_unknown_names_and_bad_filters(admin_client):
    assert admin_client.get("/analytics/figure/nope").status_code == 404
    assert admin_client.get("/analytics/figure/status?from=soon").status_code == 422


def test_warm_up_caches_the_unfiltered_page(world, frozen):
    assert reports.warm_analytics() == {"computed": list(figures.FIGURES)}
    assert all(cache.cached(name, ALL) for name in figures.FIGURES)
    assert reports.warm_analytics() == {"computed": []}


def test_the_api_answers_from_the_cache_with_its_time(admin_client):
    first = admin_client.get("/api/v1/analytics/status").get_json()
    with statements() as seen:
        again = admin_client.get("/api/v1/analytics/status").get_json()
    assert again == first and first["as_of"] == "2026-06-15T12:00:00+00:00"
    assert not [s for s in seen if "certificates" in s]
