"""Two-factor sign-in pages: the second step after the password (/login/verify), passwordless passkey
sign-in, the "Two-factor sign-in" section of the profile, and the gate that keeps an admin who must
enrol (org setting) on the enrolment page. Rules in app/services/accounts/mfa.py and passkeys.py.

Half-logged-in state: after a right password for a user with a second factor, the session holds
`mfa_pending` (user id, session version, expiry, remember-me choice); nothing else is signed in until
`sign_in` runs after the second factor.
"""

from __future__ import annotations

import time

from flask import (
    abort,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from itsdangerous import BadSignature, Signer

from app.extensions import db, limiter
from app.models import User
from app.services import audit
from app.services.accounts import mfa, passkeys
from app.services.errors import NotAllowed, ValidationError
from app.services.identity import policy as sign_in_policy
from app.views.accounts import bp
from app.views.accounts.forms import SecondFactorForm, TotpConfirmForm, TotpDisableForm
from app.web.auth import login_required, sign_in, signed_in_with
from app.web.forms import submit

PENDING_SECONDS = 300  # how long the second step waits after the password
DEVICE_COOKIE = "laurel_mfa_device"
_PENDING = "mfa_pending"
_CEREMONY = "webauthn_ceremony"

# Endpoints an admin who must enrol may still reach (everything else sends them to enrolment).
ENROLMENT_ENDPOINTS = frozenset({
    "static", "accounts.logout", "accounts.login", "accounts.two_factor", "accounts.start_totp",
    "accounts.confirm_totp", "accounts.passkey_options", "accounts.add_passkey",
    "accounts.regenerate_recovery_codes", "dashboard.healthz", "admin.branding_css", "admin.branding_logo",
})


def _step_rate_key() -> str:
    pending = session.get(_PENDING) or {}
    return f"mfa:{request.remote_addr}:{pending.get('u')}"


def _step_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_rate_key() -> str:
    pending = session.get(_PENDING) or {}
    return f"mfa-account:{pending.get('u')}"


# Per account, from any number of addresses: guessing 6 digits from a botnet stays hopeless.
ACCOUNT_STEP_LIMIT = "20 per 10 minutes"  # tests/accounts/test_mfa_totp.py counts on 20


# --------------------------------------------------------------------------------------------
# After the password
# --------------------------------------------------------------------------------------------


def after_password(user: User, *, remember: bool, next_url: str):
    """The login view's answer once the password was right: sign in, or ask for the second factor."""
    if mfa.has_mfa(user) and not mfa.device_is_remembered(user, _device_token()):
        db.session.rollback()  # not logged in yet: the login time waits for the second factor
        if len(next_url) > 500:  # the session is a cookie: a huge ?next= must not overflow it
            next_url = url_for("dashboard.index")
        session[_PENDING] = {"u": user.id, "v": user.session_version, "r": bool(remember), "m": "password",
                             "exp": int(time.time()) + PENDING_SECONDS, "n": next_url}
        return redirect(url_for("accounts.login_verify"))
    sign_in(user, remember=remember, method="password")
    db.session.commit()
    return redirect(_after_sign_in(user, next_url))


def _after_sign_in(user: User, next_url: str) -> str:
    if mfa.needs_enrolment(user):
        flash("Your organisation requires two-factor sign-in for admins. Set it up to continue.", "warning")
        return url_for("accounts.two_factor")
    return next_url


def _pending_user() -> User | None:
    pending = session.get(_PENDING)
    if not isinstance(pending, dict) or pending.get("exp", 0) < time.time():
        session.pop(_PENDING, None)
        return None
    user = db.session.get(User, pending.get("u"))
    if user is None or not user.active or user.session_version != pending.get("v"):
        session.pop(_PENDING, None)
        return None
    return user


def _device_token() -> str | None:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or len(raw) > 300:
        return None
    try:
        return _signer().unsign(raw).decode()
    except BadSignature:
        return None


def _signer() -> Signer:
    return Signer(current_app.config["SECRET_KEY"], salt="laurel-mfa-device")


def _finish(user: User, response, *, remember_device: bool):
    """Sign in the pending user (the second factor passed) and maybe remember this device."""
    pending = session.pop(_PENDING, None) or {}  # a finished login leaves no half-logged-in state
    sign_in(user, remember=bool(pending.get("r")), method=pending.get("m", "password"))
    if remember_device and mfa.policy().remember_days > 0:
        token, days = mfa.remember_device(user)
        response.set_cookie(DEVICE_COOKIE, _signer().sign(token).decode(), max_age=days * 86400,
                            path="/login", httponly=True, samesite="Lax",
                            secure=current_app.config["BASE_URL"].startswith("https://"))
    db.session.commit()
    return response


# --------------------------------------------------------------------------------------------
# The second step
# --------------------------------------------------------------------------------------------


@bp.route("/login/verify", methods=["GET", "POST"])
@limiter.limit(_step_limit, key_func=_step_rate_key, methods=["POST"])
@limiter.limit(ACCOUNT_STEP_LIMIT, key_func=_account_rate_key, methods=["POST"])
def login_verify():
    user = _pending_user()
    if user is None:
        flash("Log in again: the second step waits five minutes at most.", "info")
        return redirect(url_for("accounts.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        try:
            mfa.verify_second_factor(user, form.code.data)
        except ValidationError as exc:
            db.session.rollback()
            mfa.record_failure(user, "code", request.remote_addr)
            db.session.commit()
            form.code.errors = [*form.code.errors, *exc.errors.values()]
        else:
            next_url = (session.get(_PENDING) or {}).get("n") or url_for("dashboard.index")
            return _finish(user, redirect(_after_sign_in(user, next_url)),
                           remember_device=bool(form.remember_device.data))
    return render_template("accounts/login_verify.html", form=form, user=user,
                           has_totp=mfa.has_totp(user), has_passkeys=mfa.has_passkeys(user),
                           has_codes=mfa.recovery_codes_left(user) > 0,
                           remember_days=mfa.policy().remember_days), 422 if form.errors else 200


@bp.post("/login/verify/passkey/options")
@limiter.limit(_step_limit, key_func=_step_rate_key)
def verify_passkey_options():
    user = _pending_user()
    if user is None:
        return _json_refusal("Log in again: the second step waits five minutes at most.", 409)
    try:
        ceremony = passkeys.begin_authentication(user)
    except NotAllowed as exc:
        return _json_refusal(str(exc), 409)
    session[_CEREMONY] = ceremony.handle
    return current_app.response_class(ceremony.options_json, mimetype="application/json")


@bp.post("/login/verify/passkey")
@limiter.limit(_step_limit, key_func=_step_rate_key)
@limiter.limit(ACCOUNT_STEP_LIMIT, key_func=_account_rate_key)
def verify_passkey():
    user = _pending_user()
    if user is None:
        return _json_refusal("Log in again: the second step waits five minutes at most.", 409)
    body = _json_body()
    try:
        passkeys.finish_authentication(session.pop(_CEREMONY, None), body.get("credential"), user=user,
                                       origin=request.headers.get("Origin"))
    except (ValidationError, NotAllowed) as exc:
        db.session.rollback()
        mfa.record_failure(user, "passkey", request.remote_addr)
        db.session.commit()
        return _json_refusal(_message(exc), 400)
    next_url = (session.get(_PENDING) or {}).get("n") or url_for("dashboard.index")
    response = jsonify({"redirect": _after_sign_in(user, next_url)})
    return _finish(user, response, remember_device=body.get("remember_device") is True)


# --------------------------------------------------------------------------------------------
# Passwordless: "Sign in with a passkey" on the login page
# --------------------------------------------------------------------------------------------


@bp.post("/login/passkey/options")
@limiter.limit(_step_limit)
def passkey_login_options():
    ceremony = passkeys.begin_authentication(None)
    session[_CEREMONY] = ceremony.handle
    return current_app.response_class(ceremony.options_json, mimetype="application/json")


@bp.post("/login/passkey")
@limiter.limit(_step_limit)
def passkey_login():
    body = _json_body()
    try:
        user = passkeys.finish_authentication(session.pop(_CEREMONY, None), body.get("credential"), user=None,
                                              origin=request.headers.get("Origin"))
    except (ValidationError, NotAllowed) as exc:
        db.session.rollback()
        audit.record("anonymous", "user.passkey_refused", "user", None, "Passkey sign-in refused",
                     ip=request.remote_addr)
        db.session.commit()
        return _json_refusal(_message(exc), 400)
    if not sign_in_policy.password_allowed(user):
        # SSO only: a passkey is Laurel's own sign-in, like a password; non-admins go through their IdP.
        db.session.rollback()
        audit.record(user, "user.passkey_refused", "user", user.id,
                     "Passkey sign-in refused: single sign-on only", ip=request.remote_addr)
        db.session.commit()
        return _json_refusal(sign_in_policy.PASSWORD_REFUSED, 403)
    # The passkey verified its user (PIN or biometrics): that is both factors, no second step.
    session.pop(_PENDING, None)
    sign_in(user, remember=False, method="passkey")
    db.session.commit()
    return jsonify({"redirect": _after_sign_in(user, _safe_next(body.get("next")))})


# --------------------------------------------------------------------------------------------
# Profile: the "Two-factor sign-in" section
# --------------------------------------------------------------------------------------------


def panel(user: User, **extra) -> dict:
    """What templates/accounts/_mfa.html shows."""
    return {"has_totp": mfa.has_totp(user), "setup": mfa.pending_setup(user),
            "passkeys": passkeys.user_passkeys(user), "codes_left": mfa.recovery_codes_left(user),
            "required": mfa.needs_enrolment(user), "confirm_form": extra.pop("confirm_form", None)
            or TotpConfirmForm(), "disable_form": extra.pop("disable_form", None) or TotpDisableForm(),
            "new_codes": None, **extra}


@bp.app_context_processor
def _mfa_panel():
    # The profile page (routes.py) includes _mfa.html without passing anything: it asks for the panel.
    return {"mfa_panel": lambda: panel(current_user)}


def _two_factor_page(status: int = 200, **extra):
    return render_template("accounts/two_factor.html", mfa=panel(current_user, **extra)), status


@bp.get("/profile/two-factor")
@login_required
def two_factor():
    return _two_factor_page()


@bp.post("/profile/two-factor/app")
@login_required
def start_totp():
    try:
        mfa.begin_totp(current_user)
    except NotAllowed as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return redirect(url_for("accounts.two_factor"))
    db.session.commit()
    return redirect(url_for("accounts.two_factor", _anchor="totp-setup"))


@bp.post("/profile/two-factor/app/confirm")
@login_required
def confirm_totp():
    form = TotpConfirmForm()
    done = submit(form, lambda: mfa.confirm_totp(current_user, form.code.data))
    if not done:
        return _two_factor_page(422, confirm_form=form)
    flash("Authenticator app turned on. Keep your recovery codes somewhere safe.", "success")
    return _two_factor_page(new_codes=done.value)


@bp.post("/profile/two-factor/app/disable")
@login_required
def disable_totp():
    form = TotpDisableForm()
    if not submit(form, lambda: mfa.disable_totp(current_user, form.proof.data)):
        return _two_factor_page(422, disable_form=form)
    flash("Authenticator app turned off.", "success")
    return redirect(url_for("accounts.two_factor"))


@bp.post("/profile/two-factor/recovery-codes")
@login_required
def regenerate_recovery_codes():
    try:
        codes = mfa.regenerate_recovery_codes(current_user)
    except NotAllowed as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return redirect(url_for("accounts.two_factor"))
    db.session.commit()
    flash("New recovery codes made: the old ones no longer work.", "success")
    return _two_factor_page(new_codes=codes)


@bp.post("/profile/passkeys/options")
@login_required
def passkey_options():
    ceremony = passkeys.begin_registration(current_user)
    session[_CEREMONY] = ceremony.handle
    return current_app.response_class(ceremony.options_json, mimetype="application/json")


@bp.post("/profile/passkeys")
@login_required
def add_passkey():
    body = _json_body()
    try:
        passkeys.finish_registration(current_user, session.pop(_CEREMONY, None), body.get("credential"),
                                     body.get("name"), origin=request.headers.get("Origin"))
    except (ValidationError, NotAllowed) as exc:
        db.session.rollback()
        return _json_refusal(_message(exc), 400)
    db.session.commit()
    flash("Passkey added.", "success")
    return jsonify({"redirect": url_for("accounts.two_factor")})


@bp.post("/profile/passkeys/<id:passkey_id>/remove")
@login_required
def remove_passkey(passkey_id: int):
    try:
        removed = passkeys.remove(current_user, passkey_id)
    except LookupError:
        abort(404)
    db.session.commit()
    flash(f"Passkey '{removed.name}' removed.", "success")
    return redirect(url_for("accounts.two_factor"))


# --------------------------------------------------------------------------------------------
# The enrolment gate (org setting "two-factor sign-in required for admins")
# --------------------------------------------------------------------------------------------


@bp.before_app_request
def _require_enrolment():
    if g.get("via_token") or request.endpoint in ENROLMENT_ENDPOINTS or not current_user.is_authenticated:
        return None
    if signed_in_with()[0] not in (None, "password", "passkey"):
        return None  # single sign-on: the identity provider asks for its own second factor
    if not mfa.needs_enrolment(current_user):
        return None
    if request.method == "GET" and not request.headers.get("HX-Request"):
        return redirect(url_for("accounts.two_factor"))
    abort(403, description="Set up two-factor sign-in first (Profile › Two-factor sign-in).")


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(make_response(jsonify({"error": "Send a JSON object."}), 400))
    return body


def _json_refusal(message: str, status: int):
    return make_response(jsonify({"error": message}), status)


def _message(exc: Exception) -> str:
    return "; ".join(exc.errors.values()) if isinstance(exc, ValidationError) else str(exc)


def _safe_next(target: object) -> str:
    from urllib.parse import urlsplit

    if isinstance(target, str) and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target and not urlsplit(target).netloc:
        return target
    return url_for("dashboard.index")
