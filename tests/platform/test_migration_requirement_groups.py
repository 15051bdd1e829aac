"""Migration 0022: every certification becomes one "all of" group of its courses with its minimum score,
and issuing decides exactly as before. Rows are written in the 0017 schema, then upgraded, on a fresh
database of the same kind as the test run's (SQLite file, or a scratch PostgreSQL database)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, create_engine, insert, text
from sqlalchemy.engine import make_url

from app.extensions import db

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@contextmanager
def _scratch_url(app, tmp_path):
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'm0022.db'}"
        return
    name = f"{url.database}_m0022"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _row(table, **values) -> dict:
    """`values` plus a plain value for every other NOT NULL column without a default (the 0017 schema)."""
    filled = dict(values)
    for column in table.columns:
        if column.name in filled or column.nullable or column.primary_key \
                or column.server_default is not None:
            continue
        name = type(column.type).__name__.lower()
        if "bool" in name:
            filled[column.name] = False
        elif "int" in name:
            filled[column.name] = 0
        elif "json" in name:
            filled[column.name] = []
        elif "date" in name or "utc" in name or "time" in name:
            filled[column.name] = NOW
        else:
            filled[column.name] = ""
    return filled


def test_every_certification_becomes_one_all_of_group(app, tmp_path):
    from flask_migrate import upgrade

    from app import create_app
    from app.models import Certification
    from app.services.lifecycle import enrollment, issuing, rules

    with _scratch_url(app, tmp_path) as url:
        fresh = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                            "REDIS_URL": app.config["REDIS_URL"]})
        with fresh.app_context():
            upgrade(revision="0017_scim")
            meta = MetaData()
            meta.reflect(db.engine, only=["courses", "certifications", "certification_courses"])
            courses, certs, links = (meta.tables[n]
                                     for n in ("courses", "certifications", "certification_courses"))
            with db.engine.begin() as conn:
                for n, code in enumerate(("A-1", "A-2", "B-1"), start=1):
                    conn.execute(insert(courses).values(
                    _row(courses, id=n, code=code, title=code, source="manual", archived=False)))
                for cert_id, name, status, minimum in ((1, "Scored", "active", 70.0),
                                                       (2, "Plain", "active", None),
                                                       (3, "Empty draft", "draft", None)):
                    conn.execute(insert(certs).values(_row(certs, id=cert_id, name=name, status=status,
                                                           min_score=minimum, renewal_window_days=90,
                                                           reminder_days=[])))
                conn.execute(insert(links), [{"certification_id": 1, "course_id": 1},
                                             {"certification_id": 1, "course_id": 2},
                                             {"certification_id": 2, "course_id": 3}])
            upgrade()  # through 0022 to the newest revision: the models read the newest schema

            scored, plain, empty = (db.session.get(Certification, i) for i in (1, 2, 3))
            assert [(g.mode, g.required_count, g.min_score, sorted(i.course.code for i in g.items))
                    for g in scored.requirement_groups] == [("all", None, 70.0, ["A-1", "A-2"])]
            assert [(g.mode, g.min_score, [i.course.code for i in g.items])
                    for g in plain.requirement_groups] == [("all", None, ["B-1"])]
            assert all(i.min_score is None for g in scored.requirement_groups for i in g.items)
            assert empty.requirement_groups == [] and not scored.evidence_required and scored.assessors == []
            assert scored.simple_requirements and plain.simple_requirements

            # Unchanged behaviour: the groups read exactly as the old rule (courses + min_score) ...
            def legacy(cert):
                return [("all", len(cert.courses), [(c.code, cert.min_score) for c in cert.courses])]

            for cert in (scored, plain):
                assert [(g.mode, g.needed, sorted((c.code, m) for c, m in g.courses))
                        for g in rules.requirement_groups(cert)] == legacy(cert)

            # ... and decide the same for a learner.
            from app.models import User

            learner = User(email="m@example.com", name="M", role="learner")
            db.session.add(learner)
            db.session.commit()
            for course_id, score in ((1, 80), (2, 60), (3, None)):
                enrollment.record_completion(learner, db.session.get(type(scored.courses[0]), course_id),
                                             score=score, completed_at=NOW, actor="test")
                db.session.commit()
            assert issuing.assess(learner, scored).reasons == ["score 60 in A-2 is below the minimum 70"]
            assert issuing.assess(learner, plain).reasons[0].startswith("already held")  # issued at once
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("revision", ["0017_scim"])
def test_downgrade_removes_the_groups(app, tmp_path, revision):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    from app import create_app

    with _scratch_url(app, tmp_path) as url:
        fresh = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                            "REDIS_URL": app.config["REDIS_URL"]})
        with fresh.app_context():
            upgrade()  # through 0022 to the newest revision: the models read the newest schema
            downgrade(revision=revision)
            tables = set(inspect(db.engine).get_table_names())
            assert not {"requirement_groups", "requirement_courses", "evidence_submissions"} & tables
            columns = {c["name"] for c in inspect(db.engine).get_columns("certifications")}
            assert "evidence_required" not in columns and "min_score" in columns
            db.session.remove()
            db.engine.dispose()
