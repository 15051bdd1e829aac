"""OpenID Connect sign-in: leave for the provider, come back to the callback, get signed in.

The provider's random public id is the only id in these URLs. What the browser must bring back (state,
nonce, PKCE verifier) waits in its signed session, one entry per login started, and is used once.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from app.extensions import db, limiter
from app.services.errors import NotAllowed, ValidationError
from app.services.identity import oidc
from app.views.identity import bp
from app.web.auth import sign_in

PENDING_KEY = "oidc_pending"
ID_TOKEN_KEY = "oidc_id_token"  # noqa: S105  (a session key: the logout hint for RP-initiated logout)
MAX_PENDING = 5  # logins started in other tabs and never finished


def callback_url(public_id: str) -> str:
    """The redirect URI registered at the provider: BASE_URL, not the Host header a request claims."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for("identity.oidc_callback", public_id=public_id)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc \
            and "\\" not in target and len(target) <= 2000:
        return target
    return url_for("dashboard.index")


@bp.get("/sso/oidc/<public_id>/start")
@limiter.limit("30 per minute")
def oidc_start(public_id: str):
    provider = oidc.by_public_id(public_id)
    if provider is None or not provider.enabled:
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    try:
        url, pending = oidc.begin(provider, redirect_uri=callback_url(public_id),
                                  next_url=_safe_next(request.args.get("next")))
    except oidc.ProviderError as exc:
        oidc.audit_failure(provider, str(exc))
        db.session.commit()
        return _failed(f"{provider.label} cannot be reached right now. Try again later.", 502)
    waiting = [p for p in session.get(PENDING_KEY, []) if isinstance(p, dict)][-(MAX_PENDING - 1):]
    session[PENDING_KEY] = [*waiting, pending.as_dict()]
    return redirect(url)


def _take_pending(state: str) -> oidc.PendingLogin | None:
    """The login this state belongs to, removed so the same callback cannot be used twice."""
    kept, found = [], None
    for item in session.get(PENDING_KEY, []):
        pending = oidc.PendingLogin.from_dict(item)
        if pending is not None and found is None and state and pending.state == state:
            found = pending
        elif pending is not None:
            kept.append(item)
    session[PENDING_KEY] = kept
    return found


@bp.get("/sso/oidc/<public_id>/callback")
@limiter.limit("30 per minute")
def oidc_callback(public_id: str):
    provider = oidc.by_public_id(public_id)
    if provider is None:
        abort(404)
    pending = _take_pending(request.args.get("state", ""))
    if pending is None or pending.provider != public_id:
        # No login of this browser waits for this answer: a forged or replayed callback (login CSRF).
        oidc.audit_failure(provider, "unknown or reused state")
        db.session.commit()
        return _failed("This sign-in link is not valid any more. Start again from the login page.", 400)
    code = request.args.get("code", "")
    if request.args.get("error") or not code or len(code) > 2000:
        oidc.audit_failure(provider, f"provider error {request.args.get('error', 'no code')[:100]!r}")
        db.session.commit()
        return _failed(f"{provider.label} did not sign you in.", 400)
    try:
        user, id_token = oidc.finish(provider, pending, code=code, redirect_uri=callback_url(public_id))
    except oidc.ProviderError as exc:
        db.session.rollback()
        oidc.audit_failure(provider, str(exc))
        db.session.commit()
        return _failed(f"Sign-in with {provider.label} failed: the provider's answer did not pass "
                       "Laurel's checks.", 400)
    except NotAllowed as exc:
        db.session.commit()  # keeps the audited refusal
        return _failed(str(exc), 403)
    except (ValidationError, IntegrityError):
        # Two first sign-ins of one person at the same moment: the other one created the account.
        db.session.rollback()
        return _failed("Your sign-in crossed another one. Start again from the login page.", 409)
    sign_in(user, method="oidc", provider=provider.key)
    session[ID_TOKEN_KEY] = id_token
    db.session.commit()
    return redirect(pending.next)


def _failed(message: str, status: int):
    return render_template("identity/sso_failed.html", message=message), status
