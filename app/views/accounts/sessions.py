"""The Sessions list's actions on the profile page: sign out one device, or every other one."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user

from app.extensions import db
from app.services.accounts import sessions
from app.views.accounts import bp
from app.web.auth import current_session, login_required, sign_out


@bp.post("/profile/sessions/<id:session_id>/end")
@login_required
def end_session(session_id: int):
    row = sessions.live_session_of(current_user, session_id)
    if row is None:  # another user's, already ended, or never existed: all look the same
        abort(404)
    if row is current_session():  # "sign out" on this very device is a logout
        sign_out()
        flash("You are logged out.", "info")
        return redirect(url_for("accounts.login"))
    sessions.end(row, reason="ended_by_user", actor=current_user)
    db.session.commit()
    flash(f"Signed out {row.device}.", "success")
    return redirect(url_for("accounts.profile", _anchor="sessions"))


@bp.post("/profile/sessions/end-others")
@login_required
def end_other_sessions():
    here = current_session()
    if here is None:  # a bearer token has no "this device" to keep: it must not end the browser's
        abort(409, description="Sign out other devices from the browser, not with an API token.")
    count = sessions.end_all(current_user, reason="signed_out_elsewhere", except_current=here,
                             actor=current_user)
    db.session.commit()
    flash(f"Signed out {count} other session{'s' if count != 1 else ''}." if count
          else "No other device was signed in.", "success")
    return redirect(url_for("accounts.profile", _anchor="sessions"))
