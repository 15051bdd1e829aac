"""Who is asking: session login, bearer tokens, CSRF, and the role decorators views use."""

from __future__ import annotations

from functools import wraps

from flask import abort, g, request, session
from flask_login import current_user, login_user, logout_user

from app.database import utcnow
from app.extensions import csrf, db, login_manager
from app.models import User, UserSession

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def init_app(app) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    login_manager.user_loader(_load_session_user)
    login_manager.unauthorized_handler(_unauthorized)
    app.before_request(_authenticate_request)


def _load_session_user(key: str) -> User | None:
    """flask-login's loader, for the Flask session and the remember cookie alike (both hold the key).

    A session counts only while its user_sessions row is live (app/services/accounts/sessions.py):
    ending the row ends the session and its remember cookie, whatever copies of them exist. This
    replaces the old "<id>:<session_version>" check, which could end only every session at once."""
    from app.services.accounts import sessions

    row = sessions.find_live(key)
    if row is None:
        return None
    g.user_session = row
    if sessions.touch(row):  # at most once a minute; loaded before the view runs, nothing else pending
        db.session.commit()
    return row.user


def current_session() -> UserSession | None:
    """The live server-side session of this request (None for anonymous and bearer-token requests)."""
    if not current_user.is_authenticated:
        return None
    return g.get("user_session")


def sign_in(user: User, *, remember: bool = False, method: str = "password",
            provider: str | None = None) -> None:
    """The one way every login ends (password, OIDC, SAML, passkey, after the MFA step).

    Starts a server-side session (its key goes in the Flask session and the remember cookie), sets
    last_login_at, audits "user.logged_in" with the method, and commits: the row must exist before the
    browser uses its cookie. `provider` (e.g. "oidc:3") stays with the session for SSO logout.
    A deactivated user raises NotAllowed (409) and nothing is started."""
    from app.services import audit
    from app.services.accounts import sessions
    from app.services.errors import NotAllowed

    if not user.active:  # callers check first; this is the last line of defence, before any row exists
        raise NotAllowed("This account is deactivated.")
    row, key = sessions.start(user, ip=request.remote_addr, user_agent=request.headers.get("User-Agent"),
                              method=method, provider=provider, remember=remember)
    login_user(user, remember=remember)
    # flask-login stored user.get_id(); the session key replaces it, and the remember cookie written
    # after this request copies it from here.
    session["_user_id"] = key
    g.user_session = row
    user.last_login_at = utcnow()
    audit.record(user, "user.logged_in", "user", user.id, "Logged in", ip=request.remote_addr,
                 method=method, provider=provider, session=row.id)
    db.session.commit()


def signed_in_with() -> tuple[str | None, str | None]:
    """(method, provider) of the current session; SSO logout reads it before calling sign_out()."""
    row = current_session()
    return (row.method, row.provider) if row is not None else (None, None)


def sign_out() -> None:
    """End the current session server-side, then forget it in the browser (session and remember cookie).

    Other sessions of the same user stay (the Sessions list ends them). A bearer-token request has no
    session: it ends nothing (a script must not log the browser out)."""
    from app.services.accounts import sessions

    row = current_session()
    if row is not None and not g.get("via_token"):
        sessions.end(row, reason="logout", actor=row.user)
        db.session.commit()
    logout_user()
    g.pop("user_session", None)


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

    for key in ("_login_user", "user_session", "via_token", "bearer_attempted", "csrf_valid",
                current_app.config["WTF_CSRF_FIELD_NAME"]):
        g.pop(key, None)
    view = request.endpoint and _view_function(request.endpoint)
    if getattr(view, "own_bearer_tokens", False):
        return  # SCIM: the view checks its directory's token itself; no session, no CSRF
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
    if _has_session_cookie(current_app):
        # Check the session now, before the view: the loader may record activity and commit, which must
        # not happen halfway through a view's changes.
        current_user._get_current_object()
    if request.method not in SAFE_METHODS and not getattr(view, "csrf_exempt", False):
        csrf.protect()


def _has_session_cookie(app) -> bool:
    # Anonymous visitors without cookies are not looked up at all (public pages start no session).
    names = (app.config.get("SESSION_COOKIE_NAME", "session"), app.config.get("REMEMBER_COOKIE_NAME",
                                                                               "remember_token"))
    return request.endpoint != "static" and any(name in request.cookies for name in names)


def _view_function(endpoint: str):
    from flask import current_app

    return current_app.view_functions.get(endpoint)


def csrf_exempt(view):
    """For endpoints authenticated another way (signed incoming webhooks)."""
    view.csrf_exempt = True
    return view


def own_bearer_tokens(view):
    """For endpoints whose bearer tokens are not API tokens (SCIM directories): they authenticate every
    request themselves, carry no session and so need no CSRF token."""
    view.own_bearer_tokens = True
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
