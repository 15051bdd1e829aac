"""Laurel: a self-hosted certification manager.

`create_app(config=None)` builds the Flask app: configuration from the environment (see
app/config.py and the README table), extensions, blueprints, CLI commands and error pages.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from app import strict_json
from app.config import load_config
from app.web import numbers as web_numbers

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    instance = Path(os.environ.get("LAUREL_INSTANCE_PATH") or PROJECT_ROOT / "instance")
    app = Flask(__name__, instance_path=str(instance), instance_relative_config=False,
                template_folder=str(PROJECT_ROOT / "templates"), static_folder=str(PROJECT_ROOT / "static"))
    app.config.update(load_config(instance))
    if config:
        app.config.update(config)
        _derive_from_base_url(app, config)
    _init_extensions(app)
    strict_json.install(app)  # one JSON parser for every body: bounded depth, no duplicate keys, no NaN
    from app.web import uploads

    uploads.install(app)  # endpoints that promise not to store uploads read them in memory only
    _register_blueprints(app)
    _load_subscribers()

    from app import cli
    from app.web import errors, formatting, i18n, inputs, live, nav, placement, replay, security, transactions

    app.config.setdefault("TRANSLATIONS_DIR", PROJECT_ROOT / "translations")
    i18n.init_app(app)
    errors.init_app(app)
    transactions.init_app(app)
    inputs.init_app(app)
    security.init_app(app)
    live.init_app(app)
    placement.init_app(app)
    nav.init_app(app)
    formatting.init_app(app)
    cli.init_app(app)
    replay.install(app)  # repeated anonymous verify answers before Flask runs (app/web/replay.py)
    return app


def _derive_from_base_url(app: Flask, overrides: dict) -> None:
    """Cookie security follows BASE_URL, also when a test or embedding app overrides only BASE_URL."""
    secure = app.config["BASE_URL"].startswith("https://")
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if key not in overrides:
            app.config[key] = secure
    if "PREFERRED_URL_SCHEME" not in overrides:
        app.config["PREFERRED_URL_SCHEME"] = "https" if secure else "http"


def _init_extensions(app: Flask) -> None:
    from app.extensions import csrf, db, htmx, limiter, login_manager, mail, migrate
    from app.queue import limiter_storage_uri
    from app.web import auth

    db.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        from app.database import configure_sqlite

        with app.app_context():
            configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    mail.init_app(app)
    htmx.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", limiter_storage_uri(app))
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "laurel-rl")
    limiter.init_app(app)
    login_manager.init_app(app)
    auth.init_app(app)


# Each HTML domain: its package holds `bp`, these modules attach the routes to it.
VIEW_MODULES = ("accounts.routes", "dashboard.routes", "admin.routes", "admin.departments", "admin.settings",
                "admin.branding", "admin.pdf_signing", "accounts.mfa", "admin.security",
                "lifecycle.routes", "verify.routes",
                "documents.designer", "documents.pdfs", "sharing.routes", "messaging.inbox",
                "messaging.previews", "messaging.email_texts", "messaging.live", "integrations.console",
                "integrations.hooks", "analytics.routes", "credentials.admin", "credentials.public",
                "sharing.profiles", "sharing.embed", "sharing.wallet", "credentials.status",
                "credentials.badges", "identity.routes", "identity.scim", "identity.directories",
                "training.calendar", "training.attendance",
                "payments.admin", "payments.learner", "payments.hooks",
                "compliance.routes", "privacy.routes")


def _register_blueprints(app: Flask) -> None:
    import importlib

    from app.api.routes import bp as api

    web_numbers.init_app(app)  # the <id:...> converter, before any blueprint adds its routes
    blueprints = []
    for name in VIEW_MODULES:
        module = importlib.import_module(f"app.views.{name}")
        if module.bp not in blueprints:
            blueprints.append(module.bp)
    for blueprint in (*blueprints, api):
        app.register_blueprint(blueprint)


def _load_subscribers() -> None:
    """Import every module that subscribes to lifecycle events or registers sweep/digest steps.

    Explicit here so a worker, the cron process and the web app all react to events the same way,
    whichever blueprints they happen to import.
    """
    import app.models  # noqa: F401  (register every table)
    import app.services.analytics.cache  # noqa: F401  (drop cached figures when their data changes)
    import app.services.credentials.badges  # noqa: F401  (a badge row for every new certification)
    import app.services.credentials.status  # noqa: F401  (a status list entry for every new certificate)
    import app.services.documents.render_recovery  # noqa: F401  (sweep: lost and abandoned renders)
    import app.services.documents.rendering  # noqa: F401  (render the PDF on certificate.issued / renewed)
    import app.services.integrations.pdf_exports  # noqa: F401  (copy each new PDF out; sweep: lost copies)
    import app.services.integrations.syncs  # noqa: F401  (sweep: integration syncs)
    import app.services.integrations.webhook_recovery  # noqa: F401  (sweep: lost and abandoned deliveries)
    import app.services.integrations.webhooks  # noqa: F401  (webhook deliveries for every event)
    import app.services.lifecycle.reminders  # noqa: F401  (digest sections)
    import app.services.lifecycle.stats  # noqa: F401  (drop the cached dashboard tiles when their data changes)
    import app.services.messaging.live_updates  # noqa: F401  (open pages hear about changes: app/live.py)
    import app.services.messaging.notifications  # noqa: F401  (in-app notifications on certificate events)
    import app.services.privacy.exports  # noqa: F401  (sweep: lost and abandoned data exports)
    import app.services.sharing.engagement  # noqa: F401  (sweep: flush verify-page view counts)
