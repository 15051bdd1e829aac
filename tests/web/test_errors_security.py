"""Error pages (HTML and problem+json), security headers, and configuration errors."""

from __future__ import annotations

import re

import pytest

from app.config import ConfigError, load_config
from tests.conftest import login

JSON = {"Accept": "application/json"}


def _is_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"]
    return body


def _is_html(response, status: int, text: bytes) -> None:
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert text in response.data and b"<html" in response.data


def test_404(client):
    _is_html(client.get("/no/such/page"), 404, b"Not found")
    _is_problem(client.get("/no/such/page", headers=JSON), 404)
    _is_problem(client.get("/api/v0/nothing-here"), 404)


def test_403(login_as, learner):
    client = login_as(learner)
    _is_html(client.get("/admin/users"), 403, b"Not allowed")
    _is_problem(client.get("/admin/users", headers=JSON), 403)


def test_405(client):
    _is_html(client.get("/logout"), 405, b"Method not allowed")
    _is_problem(client.get("/logout", headers=JSON), 405)


def test_429(app, learner):
    client = app.test_client()
    for i in range(5):
        login(client, learner.email, f"wrong-{i}")
    _is_html(login(client, learner.email, "again"), 429, b"Too many")
    page = client.get("/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/login", headers=JSON, data={"email": learner.email, "password": "x",
                                                           "csrf_token": token})
    _is_problem(response, 429)
    assert response.headers["Retry-After"]


def test_500(app, client, monkeypatch):
    def boom():
        raise RuntimeError("kaboom")

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setitem(app.view_functions, "dashboard.healthz", boom)
    response = client.get("/healthz")
    _is_html(response, 500, b"Something went wrong")
    assert b"kaboom" not in response.data  # no internals leak
    body = _is_problem(client.get("/healthz", headers=JSON), 500)
    assert "kaboom" not in str(body)


def test_security_headers(client):
    response = client.get("/login")
    csp = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert "'unsafe-inline'" not in csp.get("style-src", "")
    assert csp["frame-ancestors"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # only with an https BASE_URL
    for error in (client.get("/nope"), client.get("/nope", headers=JSON)):
        assert error.headers["X-Content-Type-Options"] == "nosniff"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"\sstyle=|<style", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+=", re.I)


def test_pages_have_no_inline_script_or_style(app, login_as, admin, learner):
    """The CSP would block them: every page must work with script-src/style-src 'self'."""
    client = login_as(admin)
    pages = ["/", "/profile", "/admin/users", "/admin/users/invite", "/admin/mail", "/admin/audit",
             f"/admin/users/{learner.id}/edit", "/nope"]
    anonymous = app.test_client()
    for url in pages:
        html = client.get(url).get_data(as_text=True)
        for pattern in (INLINE_SCRIPT, INLINE_STYLE, INLINE_HANDLER):
            found = pattern.search(html)
            assert not found, f"{url}: {pattern.pattern} matches {found.group(0)!r}"
    for url in ("/login", "/forgot-password", "/reset-password/x"):
        html = anonymous.get(url).get_data(as_text=True)
        assert not INLINE_SCRIPT.search(html) and not INLINE_STYLE.search(html), url


@pytest.mark.parametrize(("env", "message"), [
    ({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL must be SQLite or PostgreSQL"),
    ({"DATABASE_URL": "::not a url::"}, "DATABASE_URL is not a valid database URL"),
    ({"REDIS_URL": "http://127.0.0.1:6379/0"}, "REDIS_URL must start with redis://"),
    ({"BASE_URL": "laurel.example.org"}, "BASE_URL must be an absolute http(s) URL"),
    ({"BASE_URL": "ftp://laurel.example.org"}, "BASE_URL must be an absolute http(s) URL"),
    ({"MAIL_PORT": "smtp"}, "MAIL_PORT must be a whole number"),
    ({"MAIL_PORT": "70000"}, "MAIL_PORT must be between 1 and 65535"),
    ({"PORT": "0"}, "PORT must be between 1 and 65535"),
    ({"MAIL_USE_TLS": "maybe"}, "MAIL_USE_TLS must be true or false"),
    ({"MAIL_BACKEND": "pigeon"}, "MAIL_BACKEND must be smtp or file"),
    ({"MAIL_BACKEND": "smtp"}, "MAIL_BACKEND=smtp needs MAIL_SERVER"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY must be at least 16 characters"),
])
def test_config_errors_are_clear(tmp_path, env, message):
    with pytest.raises(ConfigError) as excinfo:
        load_config(tmp_path, env)
    assert message in str(excinfo.value)


def test_config_defaults_and_normalisation(tmp_path):
    config = load_config(tmp_path, {})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'laurel.db'}"
    assert config["REDIS_URL"] is None and config["BASE_URL"] == "http://127.0.0.1:5000"
    assert config["MAIL_BACKEND"] == "file" and not config["SESSION_COOKIE_SECURE"]
    key = config["SECRET_KEY"]
    assert len(key) >= 32 and load_config(tmp_path, {})["SECRET_KEY"] == key  # generated once, kept

    prod = load_config(tmp_path, {"DATABASE_URL": "postgres://u:p@db/laurel", "BASE_URL": "https://x.org/",
                                  "MAIL_SERVER": "smtp.x.org", "MAIL_PORT": "587", "REDIS_URL": "redis://r:6379/1"})
    assert prod["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db/laurel"
    assert prod["BASE_URL"] == "https://x.org" and prod["MAIL_BACKEND"] == "smtp" and prod["MAIL_PORT"] == 587
    assert prod["SESSION_COOKIE_SECURE"] and prod["REMEMBER_COOKIE_SECURE"]
    assert prod["REMEMBER_COOKIE_HTTPONLY"] and prod["REMEMBER_COOKIE_SAMESITE"] == "Lax"


def test_create_app_fails_fast_on_bad_config(monkeypatch):
    from app import create_app

    monkeypatch.setenv("REDIS_URL", "memcached://nope")
    with pytest.raises(ConfigError, match="REDIS_URL"):
        create_app()
