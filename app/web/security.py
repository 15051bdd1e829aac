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


#: An email's HTML part shown as its own document (mail log, email previews): emails need inline styles;
#: nothing may run, submit, or load but images; only our own pages may frame it.
EMAIL_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src {images}; sandbox; "
             "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")


def sandboxed_html(html: str, status: int = 200, *, images: str = "data: 'self'"):
    """A response for an `<iframe sandbox>`: the HTML of an email, with EMAIL_CSP (images from `images`)."""
    from flask import Response

    response = Response(html, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = EMAIL_CSP.format(images=images)
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


#: A page other sites may frame (the embeddable badge card): the strict policy, any ancestor. Only for
#: responses passed through `frameable()`; every other page keeps `frame-ancestors 'none'` and DENY.
FRAMEABLE_CSP = CSP.replace("frame-ancestors 'none'", "frame-ancestors *").replace(
    "form-action 'self'", "form-action 'none'")


def frameable(response):
    """Let any site frame `response` (CSP frame-ancestors *, no X-Frame-Options)."""
    response.headers["Content-Security-Policy"] = FRAMEABLE_CSP
    response.headers.pop("X-Frame-Options", None)
    response.frameable = True
    return response


def _headers(response):
    from flask import current_app

    headers = response.headers
    headers.setdefault("Content-Security-Policy", _policy())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if not getattr(response, "frameable", False):
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
