"""Migrations give the models' schema (like `flask db check`), and the CLI commands work."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiToken, User


def _differences(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        return compare_metadata(context, db.metadata)


def test_migrated_schema_matches_the_models(app):
    """The session database was built by `flask db upgrade` from empty (tests/conftest.py)."""
    diff = _differences(db.engine)
    assert diff == [], (f"{db.engine.dialect.name}: the migrations and the models differ; run "
                        f"`flask --app wsgi db migrate -m ...` and review the new revision:\n{diff}")


def test_flask_db_check_passes(app, capsys):
    result = app.test_cli_runner().invoke(args=["db", "check"])
    output = result.output + capsys.readouterr().out  # alembic prints to the real stdout
    assert result.exit_code == 0, output
    assert "No new upgrade operations detected" in output


def test_upgrade_from_empty_and_downgrade_on_a_fresh_sqlite(app, tmp_path):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import create_engine, inspect

    from app import create_app

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    fresh = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                        "REDIS_URL": app.config["REDIS_URL"]})
    with fresh.app_context():
        upgrade()
        engine = db.engine
        assert _differences(engine) == []
        downgrade(revision="base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert _differences(engine) == []
        db.session.remove()
        engine.dispose()
    create_engine(url).dispose()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_create_admin(app, make_user):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "Root@Example.com", "--password", "long-enough-1"])
    assert result.exit_code == 0, result.output
    assert "Admin root@example.com is ready." in result.output
    user = db.session.scalar(select(User).filter_by(email="root@example.com"))
    assert user.role == "admin" and user.name == "Root"
    assert user.password_hash.startswith(("scrypt", "pbkdf2"))

    short = runner.invoke(args=["create-admin", "other@example.com", "--password", "short"])
    assert short.exit_code != 0 and "at least 8" in short.output
    assert db.session.scalar(select(User).filter_by(email="other@example.com")) is None

    existing = make_user("learner", email="promote@example.com", active=False)
    result = runner.invoke(args=["create-admin", "promote@example.com", "--password", "another-long-1"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    promoted = db.session.get(User, existing.id)
    assert promoted.role == "admin" and promoted.active


def test_create_admin_prompts_for_the_password(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "asked@example.com"],
                                          input="typed-password-1\ntyped-password-1\n")
    assert result.exit_code == 0, result.output
    from tests.conftest import login

    assert login(app.test_client(), "asked@example.com", "typed-password-1").status_code == 302


def test_create_token(app, learner):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-token", learner.email, "--name", "Moodle sync"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert secret.startswith("lau_")
    token = db.session.scalar(select(ApiToken))
    assert token.name == "Moodle sync" and token.token_hash != secret
    response = app.test_client().get("/profile", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200 and b"Lena Learner" in response.data

    missing = runner.invoke(args=["create-token", "nobody@example.com", "--name", "x"])
    assert missing.exit_code != 0 and "No active user" in missing.output
    assert runner.invoke(args=["create-token", learner.email]).exit_code != 0  # --name is required


def test_seed_demo_is_idempotent(app):
    from app import demo

    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and "Demo data created." in first.output, first.output
    users = _count(User)
    assert users >= len(demo.PEOPLE)
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and "already present" in second.output
    assert _count(User) == users
    from tests.conftest import login

    for _, email, password in demo.LOGINS:
        assert login(app.test_client(), email, password).status_code == 302, email
