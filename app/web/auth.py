"""Who is asking: session login, bearer tokens, CSRF, and the role decorators views use."""

from __future__ import annotations

from functools import wraps

from flask import abort, g, request
from flask_login import current_user

from app.extensions import csrf, db, login_manager
from app.models import User

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def init_app(app) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    login_manager.user_loader(_load_session_user)
    login_manager.unauthorized_handler(_unauthorized)
    app.before_request(_authenticate_request)


def _load_session_user(session_id: str) -> User | None:
    # "id:version": bumping the version (password change, deactivation) ends old sessions.
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def _unauthorized():
    from flask import flash, redirect, url_for

    from app.web.errors import wants_json

    if wants_json() or g.get("bearer_attempted"):
        abort(401)
    flash(login_manager.login_message, "info")
    return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def _authenticate_request() -> None:
    """Bearer tokens act as their user and skip CSRF; everything else unsafe needs the CSRF token."""
    # Each request authenticates afresh, even when it shares an app context (tests, streaming).
    # Flask-WTF caches the CSRF token in g too: a stale one would belong to another session.
    from flask import current_app

    for key in ("_login_user", "via_token", "bearer_attempted", "csrf_valid",
                current_app.config["WTF_CSRF_FIELD_NAME"]):
        g.pop(key, None)
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        from app.services.accounts import tokens

        g.bearer_attempted = True
        user = tokens.user_for_token(header[7:].strip())
        db.session.commit()  # keeps last_used_at; nothing else is pending this early
        if user is None:
            abort(401, description="The API token is missing, unknown, revoked, or its user is deactivated.")
        g._login_user = user  # flask-login's per-request user: no session cookie for API calls
        g.via_token = True
        g.csrf_valid = True  # Flask-WTF's flag: forms then skip their own CSRF check (no cookie to forge)
        return
    view = request.endpoint and _view_function(request.endpoint)
    if request.method not in SAFE_METHODS and not getattr(view, "csrf_exempt", False):
        csrf.protect()


def _view_function(endpoint: str):
    from flask import current_app

    return current_app.view_functions.get(endpoint)


def csrf_exempt(view):
    """For endpoints authenticated another way (signed incoming webhooks)."""
    view.csrf_exempt = True
    return view


def roles_required(*roles: str):
    """Logged-in users with one of these roles; others get 403, anonymous users the login page."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def login_required(view):
    return roles_required("admin", "staff", "manager", "learner")(view)


admin_required = roles_required("admin")
# Staff-side pages: admins, staff and managers. Whose rows each one sees: app/services/accounts/scope.py
# (the views filter their lists and answer 404 for a record out of scope, app/web/scoping.py).
staff_required = roles_required("admin", "staff", "manager")
manager_or_staff_required = staff_required
# Changes a manager may make for the people in their departments (enrol, completions, revoke, issue).
manager_required = roles_required("admin", "manager")
