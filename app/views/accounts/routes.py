"""Login, logout, password reset, invitations and the profile page (with API tokens)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from limits import parse_many

from app.extensions import db, limiter
from app.models import ApiToken
from app.services import audit
from app.services.accounts import tokens, users
from app.services.identity import saml
from app.views.accounts import bp
from app.views.accounts.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    SetPasswordForm,
    TokenForm,
)
from app.web.auth import login_required, signed_in_with
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
    if form.validate_on_submit():
        user = users.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            audit.record(user, "user.logged_in", "user", user.id, "Logged in", ip=request.remote_addr)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        flash("Those details did not match an active account.", "danger")
    return render_template("accounts/login.html", form=form, saml_providers=saml.enabled_providers(),
                           next_url=request.args.get("next")), 200 if not form.errors else 422


@bp.post("/logout")
@login_required
def logout():
    # Single logout: what the session says about an SSO sign-in, read before the session ends.
    idp_logout = None if g.get("via_token") else saml.logout_url_for_session(*signed_in_with(),
                                                                              session.get(saml.SESSION_LOGIN_KEY))
    if not g.get("via_token"):  # a bearer token has no session to end: it must not end the browser's
        users.log_out(current_user)
        db.session.commit()
    logout_user()
    if idp_logout:
        # A page that moves on by itself, not a redirect: after a form POST, CSP form-action 'self' would
        # block a redirect to the identity provider's origin.
        return render_template("accounts/sso_logout.html", idp_logout=idp_logout)
    flash("You are logged out.", "info")
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
    return render_template(
        "accounts/profile.html", profile_form=profile_form,
        password_form=forms.get("password_form") or ChangePasswordForm(),
        token_form=forms.get("token_form") or TokenForm(), tokens=live_tokens, new_token=new_token,
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
                                                  form.password.data)):
        login_user(current_user)  # this session stays; the others are ended by the new version
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
