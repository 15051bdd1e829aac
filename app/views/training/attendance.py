"""Attendance: bulk marking, the rotating QR check-in code, the learner's check-in, the CSV export."""

from __future__ import annotations

import segno
from flask import abort, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from app.database import utcnow
from app.extensions import limiter
from app.models import TrainingSession
from app.models.training import ATTENDANCE
from app.services.numbers import MAX_ID, whole_number
from app.services.training import attendance, registrations, sessions
from app.views.training import bp
from app.views.training.calendar import session_or_404
from app.views.training.forms import MarkForm
from app.web.auth import login_required, staff_required
from app.web.forms import attempt
from app.web.scoping import viewer
from app.web.streaming import csv_response


def _runner_session(session_id: int) -> TrainingSession:
    session = session_or_404(session_id)
    if not sessions.may_run(viewer(), session):
        abort(403, description="Only the session's trainer or an admin can do this.")
    return session


@bp.post("/sessions/<id:session_id>/attendance")
@staff_required
def mark_attendance(session_id: int):
    session = _runner_session(session_id)
    form = MarkForm()
    if not form.validate_on_submit() or form.attendance.data not in ATTENDANCE:
        abort(400, description="Choose present, absent or excused.")
    ids = [n for v in request.form.getlist("registration_ids")[:2000]
           if (n := whole_number(v, minimum=1, maximum=MAX_ID))]
    if not ids:
        flash("Select the people to mark first.", "warning")
        return redirect(url_for("training.session_detail", session_id=session.id) + "#attendance")
    outcome = attempt(lambda: attendance.mark(session, dict.fromkeys(ids, form.attendance.data),
                                              actor=viewer()))
    if not outcome:
        abort(409, description=outcome.refusal)
    flash(f"Attendance saved ({outcome.value} changed).", "success")
    return redirect(url_for("training.session_detail", session_id=session.id) + "#attendance")


def _checkin_url(session: TrainingSession) -> str:
    return url_for("training.check_in", session_id=session.id, t=attendance.checkin_token(session),
                   _external=True)


def _code_context(session: TrainingSession) -> dict:
    now = utcnow()
    context = {"session": session, "open": attendance.in_window(session, now), "now": now,
               "present": sum(1 for r in registrations.registered(session) if r.attendance == "present"),
               "taken": registrations.registered_count(session)}
    if context["open"]:
        url = _checkin_url(session)
        # Inline SVG (no style attributes, no script): CSP-clean, and the link stays readable in the page.
        svg = segno.make_qr(url, error="m", boost_error=False).svg_inline(scale=8, border=4, omitsize=True)
        # segno's own markup (paths and numbers; the URL is not in it), safe to place as is.
        context |= {"checkin_url": url, "qr_svg": Markup(svg),  # noqa: S704
                    "seconds_left": attendance.seconds_left(now)}
    return context


@bp.get("/sessions/<id:session_id>/check-in-code")
@staff_required
def checkin_code(session_id: int):
    session = _runner_session(session_id)
    return render_template("training/checkin_code.html", **_code_context(session))


@bp.get("/sessions/<id:session_id>/check-in-code/live")
@staff_required
def checkin_code_live(session_id: int):
    """The code alone, fetched by htmx every 30 seconds (a new token each minute)."""
    session = _runner_session(session_id)
    response = render_template("training/_checkin_code.html", **_code_context(session))
    return response, 200, {"Cache-Control": "no-store"}


@bp.route("/sessions/<id:session_id>/check-in", methods=["GET", "POST"])
@login_required
@limiter.limit("20 per minute", methods=["POST"])
def check_in(session_id: int):
    session = session_or_404(session_id)
    token = (request.form.get("t") if request.method == "POST" else request.args.get("t")) or ""
    token = token[:200]
    if request.method == "GET":  # scanning opens the page; the button (POST, CSRF) checks in
        return render_template("training/check_in.html", session=session, token=token,
                               mine=registrations.find(session, viewer()), done=False)
    outcome = attempt(lambda: attendance.check_in(session, viewer(), token))
    if not outcome:
        return render_template("training/check_in.html", session=session, token="", error=outcome.refusal,
                               mine=registrations.find(session, viewer()), done=False), 409
    return render_template("training/check_in.html", session=session, token="", mine=outcome.value, done=True)


@bp.get("/sessions/<id:session_id>/attendance.csv")
@staff_required
def attendance_csv(session_id: int):
    session = session_or_404(session_id)
    viewer_id = viewer().id
    return csv_response(f"attendance-session-{session.id}.csv", attendance.CSV_HEADER,
                        lambda: attendance.csv_rows(session.id, viewer_id))
