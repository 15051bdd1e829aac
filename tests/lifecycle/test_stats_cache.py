"""The dashboard tiles cache: served without counting again, stale at once after a commit that changes
what they count (also from a bulk statement), untouched by unrelated commits, off with
DASHBOARD_CACHE_SECONDS=0."""

from __future__ import annotations

from sqlalchemy import update

from app.extensions import db
from app.models import Certificate, User
from app.services.lifecycle import generations, revocation, stats


def test_tiles_come_from_the_cache_until_their_data_changes(app, learner, earn, statements):
    cert = earn(learner)
    assert stats.cached_tiles()["certificates_valid"] == 1
    statements.clear()
    assert stats.cached_tiles()["certificates_valid"] == 1
    assert statements == []  # no count ran

    revocation.revoke(cert, "Exam fraud", actor="test")
    db.session.commit()
    assert stats.cached_tiles()["certificates_valid"] == 0  # stale at once, not after the TTL


def test_bulk_statements_and_unrelated_commits(app, learner, earn):
    earn(learner)
    assert stats.cached_tiles()["learners"] == 1
    db.session.execute(update(User).where(User.id == learner.id).values(name="Renamed"))
    db.session.commit()
    generation = generations.current("dashboard")
    db.session.execute(update(User).where(User.id == learner.id).values(active=False))
    db.session.commit()
    assert generations.current("dashboard") != generation
    assert stats.cached_tiles()["learners"] == 0
    db.session.execute(update(Certificate).values(revoked_at=db.func.now()))
    db.session.rollback()  # rolled back: nothing to drop
    assert stats.cached_tiles()["certificates_valid"] == 1


def test_cache_off(app, learner, earn, statements):
    earn(learner)
    app.config["DASHBOARD_CACHE_SECONDS"] = 0
    try:
        stats.cached_tiles()
        statements.clear()
        stats.cached_tiles()
    finally:
        app.config["DASHBOARD_CACHE_SECONDS"] = 30
    assert len(statements) == 4


def test_list_totals_are_cached_until_their_rows_change(app, login_as, admin, learner, earn, statements):
    from sqlalchemy import select

    earn(learner)
    stmt = select(Certificate)
    assert stats.list_count(stmt) == 1
    statements.clear()
    assert stats.list_count(stmt) == 1 and statements == []
    db.session.execute(update(User).where(User.id == learner.id).values(name="Someone Else"))
    db.session.commit()  # a holder's name is what a search matches: any change counts
    statements.clear()
    assert stats.list_count(stmt) == 1 and len(statements) == 1

    page = login_as(admin).get("/certificates").get_data(as_text=True)
    assert "1 in all" in page  # the pager shows the cached total
