"""Login, logout, password reset, invitations and the profile page (with API tokens)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from limits import parse_many

from app.extensions import db, limiter
from app.models import ApiToken
from app.services.accounts import sessions, tokens, users
from app.services.identity import oidc as sso
from app.services.identity import policy as sign_in_policy
from app.services.identity import saml
from app.views.accounts import bp
from app.views.accounts import mfa as mfa_step
from app.views.accounts import sessions as session_routes  # noqa: F401  (its routes join bp)
from app.views.accounts.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    SetPasswordForm,
    TokenForm,
)
from app.web.auth import current_session, login_required, sign_out, signed_in_with
from app.web.forms import submit


def _login_rate_key() -> str:
    # Per address and IP: one attacker cannot lock a victim out from elsewhere.
    email = (request.form.get("email") or "").strip().lower()
    return f"login:{request.remote_addr}:{email}"


# One IP may try this many addresses' worth of logins (an office behind one NAT signs in together).
LOGIN_IP_FACTOR = 6


def per_ip_login_limit(per_address: str) -> str:
    """The per-IP limit, derived from LOGIN_RATE_LIMIT (so one setting raises both): 5/min -> 30/min."""
    return "; ".join(f"{item.amount * LOGIN_IP_FACTOR} per {item.multiples} {item.GRANULARITY.name}"
                     for item in parse_many(per_address))


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_login_rate_key, methods=["POST"])
@limiter.limit(lambda: per_ip_login_limit(current_app.config["LOGIN_RATE_LIMIT"]), methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = users.authenticate(form.email.data, form.password.data)
        if user is not None and not sign_in_policy.password_allowed(user):
            db.session.rollback()  # SSO only: a right password of a non-admin still signs nobody in
            flash(sign_in_policy.PASSWORD_REFUSED, "danger")
            status = 403
        elif user is not None:
            if sign_in_policy.sso_only():
                sign_in_policy.record_break_glass(user, request.remote_addr)
            # the second factor, when the user has one, comes next (mfa.py)
            return mfa_step.after_password(user, remember=form.remember.data,
                                           next_url=_safe_next(request.args.get("next")))
        else:
            flash("Those details did not match an active account.", "danger")
    return _login_page(form, 422 if form.errors else status)


def _login_page(form: LoginForm, status: int):
    sso.ensure_environment_provider()
    # SSO only: the password form is hidden (admins' break-glass: /login?local=1); refused server-side.
    show_password = not sign_in_policy.sso_only() or request.args.get("local") == "1"
    return render_template("accounts/login.html", form=form, providers=sso.enabled_providers(),
                           saml_providers=saml.enabled_providers(), show_password=show_password,
                           next_url=request.args.get("next") or ""), status


@bp.post("/logout")
@login_required
def logout():
    method, provider_key = signed_in_with()  # read before sign_out() forgets them
    id_token = session.pop("oidc_id_token", None)
    saml_login = session.get(saml.SESSION_LOGIN_KEY)  # the NameID and SessionIndex SAML logout names
    sign_out()
    flash("You are logged out.", "info")
    login_url = current_app.config["BASE_URL"].rstrip("/") + url_for("accounts.login")
    # RP-initiated logout: a session that came from an OpenID provider ends there too, when it can.
    provider_logout = sso.logout_url(provider_key, id_token=id_token, post_logout_redirect_uri=login_url) \
        if method == "oidc" and not g.get("via_token") else None
    if method == "saml" and not g.get("via_token"):  # SAML single logout, when the IdP has an endpoint
        provider_logout = saml.logout_url_for_session(method, provider_key, saml_login)
    if provider_logout:
        # A page, not a redirect: CSP form-action 'self' stops a form's redirect to another site. The
        # page moves on by itself (meta refresh) and has a button for browsers that do not.
        return render_template("accounts/sso_logout.html", url=provider_logout)
    return redirect(url_for("accounts.login"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        users.request_password_reset(form.email.data)
        db.session.commit()
        # Same answer and same work (one job, no query) whether or not the address exists.
        flash("If that address belongs to an account, a reset link is on its way.", "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    return _choose_password(token, "reset")


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str):
    return _choose_password(token, "invite")


def _choose_password(token: str, purpose: str):
    user = users.user_from_token(token, purpose)
    if user is None:
        return render_template("accounts/link_invalid.html", purpose=purpose), 400
    if purpose == "reset" and not sign_in_policy.password_allowed(user):
        return render_template("identity/sso_failed.html", message=sign_in_policy.PASSWORD_REFUSED), 403
    form = SetPasswordForm()
    done = submit(form, lambda: users.set_password(user, form.password.data, actor=user,
                                                   link=users.link_fingerprint(user)))
    if done:
        flash("Your password is set. Log in with it now.", "success")
        return redirect(url_for("accounts.login"))
    if form.form_errors:  # refused as a whole: the link was used meanwhile (two submissions at once)
        return render_template("accounts/link_invalid.html", purpose=purpose), 400
    return render_template("accounts/set_password.html", form=form, purpose=purpose, user=user)


@bp.get("/profile")
@login_required
def profile():
    return _render_profile()


def _render_profile(new_token: str | None = None, status: int = 200, **forms):
    profile_form = forms.get("profile_form") or ProfileForm(obj=current_user)
    live_tokens = [t for t in current_user.tokens if not t.is_revoked]
    here = current_session()
    # This device first, then the others by when they were last used.
    devices = sorted(sessions.live_sessions(current_user), key=lambda row: here is None or row.id != here.id)
    return render_template(
        "accounts/profile.html", profile_form=profile_form,
        password_form=forms.get("password_form") or ChangePasswordForm(),
        token_form=forms.get("token_form") or TokenForm(), tokens=live_tokens, new_token=new_token,
        sessions=devices, this_session=here,
    ), status


@bp.post("/profile")
@login_required
def update_profile():
    form = ProfileForm()
    if not submit(form, lambda: users.update_profile(current_user, form.name.data,
                                                     form.reminder_emails.data)):
        return _render_profile(profile_form=form, status=422)
    flash("Profile saved.", "success")
    return redirect(url_for("accounts.profile"))


@bp.post("/profile/password")
@login_required
def change_password():
    form = ChangePasswordForm()
    if submit(form, lambda: users.change_password(current_user, form.current_password.data,
                                                  form.password.data, keep=current_session())):
        flash("Password changed. Other devices have been logged out.", "success")
        return redirect(url_for("accounts.profile"))
    return _render_profile(password_form=form, status=422)


@bp.post("/profile/tokens")
@login_required
def create_token():
    form = TokenForm()
    done = submit(form, lambda: tokens.create_token(current_user, form.name.data),
                  answer=lambda created: _render_profile(new_token=created[1]))
    if not done:
        return _render_profile(token_form=form, status=422)
    return done.value


@bp.post("/profile/tokens/<id:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    tokens.revoke_token(token, actor=current_user)
    db.session.commit()
    flash(f"Token '{token.name}' revoked.", "success")
    return redirect(url_for("accounts.profile"))
