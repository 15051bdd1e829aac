"""Security headers on every response."""

from __future__ import annotations

from flask import has_request_context

from app.web.live import stream_origin

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "frame-src 'self'",
    "object-src 'self'",
    "form-action 'self'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
])


def _headers(response):
    from flask import current_app

    headers = response.headers
    headers.setdefault("Content-Security-Policy", _policy())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config["BASE_URL"].startswith("https://"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def _policy() -> str:
    """The CSP; with the live stream on its own port (LIVE_PORT), pages may also connect to it."""
    origin = stream_origin() if has_request_context() else None
    return CSP.replace("connect-src 'self'", f"connect-src 'self' {origin}") if origin else CSP


def init_app(app) -> None:
    app.after_request(_headers)
