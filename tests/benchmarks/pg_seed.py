"""What the PostgreSQL benchmarks share: their own database, built by the migrations and seeded once by
set-based SQL (INSERT ... SELECT FROM generate_series), then VACUUM ANALYZE."""

from __future__ import annotations

import time

from sqlalchemy import create_engine, text


def ensure_database(url) -> None:
    """Create the benchmark's database (an sqlalchemy URL) when it does not exist yet."""
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}):
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def seed(db, statements: list[str], *, done_when: str, enough: int, reseed: bool) -> None:
    """Upgrade to the newest revision, then run `statements` unless `done_when` (a count query) already
    reaches `enough`; `reseed` starts from an empty database."""
    from flask_migrate import upgrade

    if reseed:
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade()
    if db.session.scalar(text(done_when)) >= enough:
        print("data already seeded (use --reseed to start over)")
        return
    started = time.perf_counter()
    for statement in statements:
        t0 = time.perf_counter()
        db.session.execute(text(statement))
        print(f"  {time.perf_counter() - t0:6.1f} s  {statement.split('(')[0].strip()}", flush=True)
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"seeded in {time.perf_counter() - started:.1f} s")
