"""Running a sync the way the console's "Sync now" does, for tests: enqueue, run the queues with a real
worker (the `jobs` fixture), and read back the newest run."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models.integration import Integration, SyncRun
from app.services.integrations import registry, syncs


def run_sync(integration: Integration, jobs) -> SyncRun:
    syncs.enqueue(integration, "manual")
    db.session.commit()
    jobs()
    db.session.commit()
    db.session.expire_all()
    return db.session.scalars(select(SyncRun).order_by(SyncRun.id.desc())).first()


def active_sql_source(url: str, query: str) -> Integration:
    """An active SQL-source integration reading `query` from the database at `url` (committed)."""
    fields = {"name": "HR DB", "database_url": url, "query": query}
    integration, _ = registry.create("sql", fields, actor="test")
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    return integration
