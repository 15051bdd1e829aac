"""Where a page finds its live stream, and who may read it from another port (app/live.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request, url_for


def stream_origin() -> str | None:
    """The stream's origin when it is served on its own port (LIVE_PORT), else None (same origin).

    Built from the host the browser used, so the session cookie (host-only) goes with it."""
    port = current_app.config.get("LIVE_PORT")
    if not port:
        return None
    hostname = urlsplit(f"{request.scheme}://{request.host}").hostname or "localhost"
    host = f"[{hostname}]" if ":" in hostname else hostname
    return f"{request.scheme}://{host}:{port}"


def stream_url() -> str:
    origin = stream_origin()
    path = url_for("messaging.live_stream")
    return f"{origin}{path}" if origin else path


def allowed_origins(hostname: str) -> set[str]:
    """Page origins that may read the stream with their cookies: the configured BASE_URL, and the web
    port on the host the stream was asked on (make run serves pages and stream on neighbouring ports)."""
    base = urlsplit(current_app.config["BASE_URL"])
    origins = {f"{base.scheme}://{base.netloc}"}
    if current_app.config.get("LIVE_PORT") and hostname:
        host = f"[{hostname}]" if ":" in hostname else hostname
        origins |= {f"{scheme}://{host}:{current_app.config['PORT']}" for scheme in ("http", "https")}
    return origins


def init_app(app) -> None:
    app.jinja_env.globals["live_stream_url"] = stream_url
