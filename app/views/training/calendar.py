"""The session calendar (upcoming, month, week), a session's page, scheduling, registering, my sessions."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import Course, SessionRegistration, TrainingSession, User
from app.rules import display
from app.services.accounts import scope, users
from app.services.lifecycle import catalog
from app.services.numbers import MAX_ID, whole_number
from app.services.training import checks, registrations, sessions
from app.views.training import bp
from app.views.training.forms import RULE_LABELS, MarkForm, RuleForm, SessionForm, choices
from app.web import nav
from app.web.auth import admin_required, login_required, manager_required
from app.web.forms import attempt, submit
from app.web.scoping import person_or_404, viewer

VIEWS = ("upcoming", "month", "week")


def session_or_404(session_id: int) -> TrainingSession:
    return db.get_or_404(TrainingSession, session_id)


@bp.get("/sessions")
@login_required
def calendar():
    view = request.args.get("view", "upcoming")
    view = view if view in VIEWS else "upcoming"
    try:
        anchor = date.fromisoformat(request.args.get("on", "")[:10])
    except ValueError:
        anchor = utcnow().date()
    if not date(2000, 1, 1) <= anchor <= date(2099, 12, 1):
        anchor = utcnow().date()
    course_id = whole_number(request.args.get("course_id"), minimum=1, maximum=MAX_ID)
    context: dict = {"view": view, "anchor": anchor, "course_id": course_id}
    if view == "upcoming":
        stmt = sessions.upcoming().where(TrainingSession.course_id == course_id) if course_id \
            else sessions.upcoming()
        rows = db.session.scalars(stmt.limit(100)).unique().all()
    else:
        start, end, previous, following = sessions.calendar_range(view, anchor)
        stmt = sessions.session_query(course_id=course_id, start=start, end=end)
        rows = db.session.scalars(stmt).unique().all()
        period = f"{start:%B %Y}" if view == "month" else f"Week of {display.day(start)}"
        context |= {"period": period, "previous": previous, "following": following}
    context |= {"rows": rows, "taken": sessions.counts([s.id for s in rows]),
                "mine": _my_statuses([s.id for s in rows]), "courses": _courses()}
    return render_template("training/calendar.html", **context)


def _my_statuses(session_ids: list[int]) -> dict[int, str]:
    if not session_ids:
        return {}
    return dict(db.session.execute(select(SessionRegistration.session_id, SessionRegistration.status).where(
        SessionRegistration.user_id == current_user.id,
        SessionRegistration.session_id.in_(session_ids))).all())


def _courses() -> list[Course]:
    return list(db.session.scalars(catalog.course_query(include_archived=False)))


@bp.get("/my-sessions")
@login_required
def my_sessions():
    user = viewer()
    upcoming = db.session.scalars(registrations.my_registrations(user)).unique().all()
    past = db.session.scalars(registrations.my_registrations(user, past=True).limit(50)).unique().all()
    return render_template("training/my_sessions.html", upcoming=upcoming, past=past,
                           positions={r.id: registrations.waitlist_position(r) for r in upcoming})


@bp.get("/sessions/<id:session_id>")
@login_required
def session_detail(session_id: int):
    session = session_or_404(session_id)
    return render_template("training/session.html", **_detail_context(session))


def _detail_context(session: TrainingSession) -> dict:
    me = viewer()
    runs = sessions.may_run(me, session)
    mine = registrations.find(session, me)
    listed = []
    if me.role != "learner":
        listed = db.session.scalars(
            registrations.session_registrations(session, None if runs else me)).unique().all()
    people = []
    if me.manages_people and session.status == "scheduled":
        people = db.session.scalars(users.user_query(viewer=me).where(User.active.is_(True)).limit(500)).all()
    return {"session": session, "mine": mine, "runs": runs, "listed": listed, "people": people,
            "taken": registrations.registered_count(session), "now": utcnow(),
            "position": registrations.waitlist_position(mine) if mine else None,
            "waiting": sum(1 for r in listed if r.status == "waitlisted"), "mark_form": MarkForm(),
            "rule": sessions.attendance_rule(session.course_id), "rule_labels": RULE_LABELS}


# --- scheduling (admins) ---------------------------------------------------------------------------------


def _session_form(form: SessionForm) -> SessionForm:
    form.course_id.choices = choices((c.id, f"{c.code} · {c.title}") for c in _courses())
    trainers = db.session.scalars(select(User)
                                  .where(User.role.in_(checks.TRAINER_ROLES), User.active.is_(True))
                                  .order_by(User.name).limit(500)).all()
    form.trainer_id.choices = choices([(0, "No trainer (admins take attendance)")]
                                      + [(u.id, f"{u.name} ({u.email})") for u in trainers])
    return form


def _form_page(form: SessionForm, session: TrainingSession | None, status: int = 200):
    return render_template("training/session_form.html", form=form, session=session,
                           zones=sorted(checks._zones())), status


@bp.route("/sessions/new", methods=["GET", "POST"])
@admin_required
def new_session():
    form = _session_form(SessionForm())
    if request.method == "GET":
        course_id = whole_number(request.args.get("course_id"), minimum=1, maximum=MAX_ID)
        if course_id:
            form.course_id.data = course_id
        return _form_page(form, None)
    done = submit(form, lambda: sessions.create_session(form.values(), actor=current_user),
                  answer=lambda s: url_for("training.session_detail", session_id=s.id))
    if done:
        flash("Session scheduled.", "success")
        return redirect(done.value)
    return _form_page(form, None, 422)


def _local(value, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M") if value else ""


@bp.route("/sessions/<id:session_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_session(session_id: int):
    session = session_or_404(session_id)
    if request.method == "GET":
        form = _session_form(SessionForm(obj=session))
        for name in ("starts_at", "ends_at", "registration_deadline"):
            form[name].data = _local(getattr(session, name), session.timezone)
        form.trainer_id.data = session.trainer_id or 0
        return _form_page(form, session)
    form = _session_form(SessionForm())
    done = submit(form, lambda: sessions.update_session(session, form.values(), actor=current_user),
                  answer=lambda s: url_for("training.session_detail", session_id=s.id))
    if done:
        flash("Session saved. Everyone registered got the change by email.", "success")
        return redirect(done.value)
    return _form_page(form, session, 422)


@bp.post("/sessions/<id:session_id>/cancel")
@admin_required
def cancel_session(session_id: int):
    session = session_or_404(session_id)
    return _done(attempt(lambda: sessions.cancel_session(session, actor=current_user)), session,
                 "Session cancelled; everyone on its list was told.")


@bp.post("/courses/<id:course_id>/attendance-rule")
@admin_required
def set_rule(course_id: int):
    course = db.get_or_404(Course, course_id)
    form = RuleForm()
    if not form.validate_on_submit():
        abort(400)
    rule = form.attendance_rule.data
    done = attempt(lambda: sessions.set_attendance_rule(course.id, rule, actor=current_user))
    if not done:
        abort(422, description=done.refusal)
    flash(f"{course.code}: {RULE_LABELS[done.value].lower()}.", "success")
    back = whole_number(request.form.get("session_id"), minimum=1, maximum=MAX_ID)
    if back and db.session.get(TrainingSession, back):
        return redirect(url_for("training.session_detail", session_id=back))
    return redirect(url_for("training.calendar", course_id=course.id))


# --- registering ------------------------------------------------------------------------------------------


def _done(outcome, session: TrainingSession, message: str):
    """Back to the session's page with the news, or the page again with the refusal (409)."""
    if outcome:
        flash(message, "success")
        return redirect(url_for("training.session_detail", session_id=session.id))
    return render_template("training/session.html", error=outcome.refusal, **_detail_context(session)), 409


@bp.post("/sessions/<id:session_id>/register")
@login_required
def register(session_id: int):
    session = session_or_404(session_id)
    outcome = attempt(lambda: registrations.register(viewer(), session, actor=viewer()))
    waiting = outcome and outcome.value.status == "waitlisted"
    return _done(outcome, session, "You are on the waitlist." if waiting
                 else "You are registered. The invitation is on its way to your inbox.")


@bp.post("/sessions/<id:session_id>/unregister")
@login_required
def unregister(session_id: int):
    session = session_or_404(session_id)
    mine = registrations.find(session, viewer())
    if mine is None:
        abort(404)
    return _done(attempt(lambda: registrations.cancel(mine, actor=viewer())), session,
                 "Your registration is cancelled.")


@bp.post("/sessions/<id:session_id>/registrations")
@manager_required
def register_person(session_id: int):
    session = session_or_404(session_id)
    user_id = whole_number(request.form.get("user_id"), minimum=1, maximum=MAX_ID)
    person = person_or_404(db.session.get(User, user_id) if user_id else None)
    outcome = attempt(lambda: registrations.register(person, session, actor=viewer()))
    waiting = outcome and outcome.value.status == "waitlisted"
    return _done(outcome, session, f"{person.name} is " + ("on the waitlist." if waiting else "registered."))


@bp.post("/registrations/<id:registration_id>/cancel")
@manager_required
def cancel_registration(registration_id: int):
    registration = db.get_or_404(SessionRegistration, registration_id)
    if not scope.can_manage_user(viewer(), registration.user):
        abort(404)
    return _done(attempt(lambda: registrations.cancel(registration, actor=viewer())), registration.session,
                 f"{registration.user.name}'s registration is cancelled.")


nav.add("training.calendar", "Training", nav.ALL, prefix="training.", order=36)
