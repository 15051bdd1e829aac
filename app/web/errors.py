"""Error pages in HTML, and RFC 9457 problem+json for the API and JSON clients."""

from __future__ import annotations

from flask import jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, TooManyRequests

TITLES = {
    400: "Bad request", 401: "Authentication required", 403: "Not allowed", 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 413: "Too large", 422: "Invalid input",
    429: "Too many requests", 500: "Something went wrong", 503: "Busy",
}


def wants_json() -> bool:
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", "application/problem+json"])
    return best in ("application/json", "application/problem+json")


def problem(status: int, detail: str | None = None, **extra):
    """A problem+json response (also used by the API for 422 with `errors`)."""
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _render(status: int, detail: str | None):
    if wants_json():
        return problem(status, detail)
    return render_template("errors/error.html", status=status, title=TITLES.get(status, "Error"),
                           detail=detail), status


def _http_error(exc: HTTPException):
    detail = exc.description if exc.description and exc.description != type(exc).description else None
    response = _render(exc.code or 500, detail)
    if isinstance(exc, TooManyRequests):  # Flask-Limiter's RateLimitExceeded, or our own 429s
        response = _with_retry_after(response, exc)
    return response


def _with_retry_after(response, exc: TooManyRequests):
    from flask import make_response

    response = make_response(response)
    response.headers["Retry-After"] = "60"
    return response


def _csrf_error(exc: CSRFError):
    return _render(400, "The form expired or came from another site. Reload the page and try again.")


def _rate_limited(exc: RateLimitExceeded):
    response = _render(429, "Too many attempts. Wait a minute and try again.")
    return _with_retry_after(response, exc)


def _server_error(exc: Exception):
    from flask import current_app

    from app.extensions import db

    db.session.rollback()
    original = getattr(exc, "original_exception", exc)
    current_app.logger.exception("unhandled error", exc_info=original)
    return _render(500, "The error was logged. Try again, and tell an administrator if it persists.")


def _database_error(exc: OperationalError):
    """SQLite still busy after SQLITE_BUSY_TIMEOUT_MS (another process wrote for that long): 503 with
    Retry-After, not 500. Nothing was written (the transaction is rolled back), so retrying is safe."""
    from app.extensions import db

    if not _sqlite_busy(exc):
        return _server_error(exc)
    from flask import make_response

    db.session.rollback()
    response = make_response(_render(503, "The database is busy. Try again in a few seconds."))
    response.headers["Retry-After"] = "5"
    return response


def _sqlite_busy(exc: OperationalError) -> bool:
    message = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in message or "database is busy" in message


def init_app(app) -> None:
    app.register_error_handler(OperationalError, _database_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(HTTPException, _http_error)
