"""Accounts: users, roles, passwords, invitations and password resets."""

from __future__ import annotations

import hashlib

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import false, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.database import begin_write
from app.extensions import db
from app.models import ROLES, Department, User, UserSession
from app.queue import enqueue_after_commit
from app.services import audit, events, locking
from app.services.accounts import departments, mfa, scope, sessions
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import checked_text, clean_text
from app.services.messaging import outbox

MIN_PASSWORD = 8
MAX_PASSWORD = 128
MAX_EMAIL = 254
RESET_JOB = "app.tasks.accounts.send_password_reset"
# Checked when the email is unknown so a miss costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash("laurel-timing-equaliser")


def normalise_email(raw: str) -> str:
    """Validate syntax (no DNS lookups) and lower-case the address."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationError({"email": f"Not a valid email address: {exc}"}) from None


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (never says which part was wrong)."""
    user = find_by_email(email)
    if user is None or user.password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user  # app.web.auth.sign_in sets last_login_at


def check_password_rules(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationError({field: f"Use at least {MIN_PASSWORD} characters."})
    if len(password) > MAX_PASSWORD:
        raise ValidationError({field: f"Use at most {MAX_PASSWORD} characters."})


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError({"role": f"Role must be one of {', '.join(ROLES)}."})
    return role


def _clean_name(name: str, empty: str) -> str:
    name = checked_text(name.strip(), "name")
    if not name:
        raise ValidationError({"name": empty})
    if len(name) > 200:
        raise ValidationError({"name": "At most 200 characters."})
    return name


def _department(value: Department | str | None, actor: audit.Actor) -> Department | None:
    """A department given as a row or by name (API, CSV, SSO: created when new); "" or None: none."""
    if value is None or isinstance(value, Department):
        return value
    department = checked_text(str(value).strip(), "department")
    if len(department) > departments.MAX_NAME:
        raise ValidationError({"department": f"At most {departments.MAX_NAME} characters."})
    return departments.find_or_create(department, actor=actor) if department else None


def create_user(email: str, name: str, role: str = "learner", department: Department | str | None = None,
                *, actor: audit.Actor = None, password: str | None = None,
                reads_everything: bool = False) -> User:
    """Create a user; raises ValidationError (nothing changed) on bad input or a taken email.

    `department`: a row, or a name (found or created). New staff read only their own departments' people
    unless `reads_everything` (app/services/accounts/scope.py)."""
    email = normalise_email(email)
    name = _clean_name(name, "Enter the person's name.")
    if find_by_email(email) is not None:
        raise ValidationError({"email": "A user with this email already exists."})
    role = _check_role(role)
    user = User(email=email, name=name, role=role, department_ref=_department(department, actor),
                reads_everything=bool(reads_everything) and role == "staff")
    if password is not None:
        check_password_rules(password)
        user.password_hash = generate_password_hash(password)
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.created", "user", user.id, f"User {email} created as {role}",
                 role=role, department=user.department)
    events.emit("user.created", user_data(user))
    return user


def create_learners(people: list[tuple[str, str, str | None]], *, actor: audit.Actor = None) -> list[User]:
    """`create_user` for many new learners (email, name, department) at once, for bulk imports: the same
    checks, audit entries and events, with one INSERT batch instead of a lookup and a flush per person.
    The caller has checked that no address is taken (a concurrent taker fails the batch's flush), and
    gives the addresses as `normalise_email` returned them (validating them again costs 0.1 ms each)."""
    names = {department for _, _, department in people if department}
    found = {name: _department(name, actor) for name in sorted(names)}  # one row per distinct name
    users = [User(email=email, name=_clean_name(name, "Enter the person's name."),
                  role="learner", department_ref=found.get(department) if department else None)
             for email, name, department in people]
    db.session.add_all(users)
    db.session.flush()
    for user in users:
        audit.record(actor, "user.created", "user", user.id, f"User {user.email} created as learner",
                     role="learner", department=user.department)
        events.emit("user.created", user_data(user))
    return users


def user_data(user: User) -> dict:
    """The public shape of a user (API, webhooks)."""
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role,
            "department": user.department, "active": user.active}


def invite_user(email: str, name: str, role: str, department: Department | str | None, *,
                actor: audit.Actor, reads_everything: bool = False) -> User:
    """Create the user and mail them a link to choose a password."""
    user = create_user(email, name, role, department, actor=actor, reads_everything=reads_everything)
    send_invite(user, actor=actor)
    return user


def send_invite(user: User, *, actor: audit.Actor) -> None:
    token = make_token(user, "invite")
    outbox.queue_email(user.email, "invite", subject=f"You're invited to {current_app.config['ORG_NAME']}",
                       context={"name": user.name, "link": outbox.external_url("accounts.set_password",
                                                                               token=token)},
                       user_id=user.id)
    audit.record(actor, "user.invited", "user", user.id, f"Invitation sent to {user.email}")


def request_password_reset(email: str) -> None:
    """Queue the reset for any address, known or not: the lookup, token and mail happen in a job.

    The request then does the same work (no query, one job) whether or not the address belongs to an
    active account, so neither its answer nor its timing tells an attacker which addresses exist."""
    enqueue_after_commit(db.session, RESET_JOB, email.strip()[:MAX_EMAIL], queue="high")


def send_password_reset(email: str) -> None:
    """The job's half: mail a reset link if the address belongs to an active user; silent otherwise."""
    try:
        user = find_by_email(normalise_email(email))
    except ValidationError:
        return
    if user is None or not user.active:
        return
    token = make_token(user, "reset")
    outbox.queue_email(user.email, "password_reset", subject="Reset your password",
                       context={"name": user.name, "link": outbox.external_url("accounts.reset_password",
                                                                               token=token)},
                       user_id=user.id)
    audit.record(user, "user.password_reset_requested", "user", user.id, "Password reset requested")


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"laurel-{purpose}")


def _fingerprint(user: User) -> str:
    # Changes when the password does, so a link works once: using it sets a new password.
    basis = f"{user.password_hash}:{user.session_version}"
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


def make_token(user: User, purpose: str) -> str:
    return _serializer(purpose).dumps({"u": user.id, "f": _fingerprint(user)})


def user_from_token(token: str, purpose: str) -> User | None:
    """The user a reset/invite link is for, if it is genuine, unexpired and unused."""
    key = "INVITE_MAX_AGE" if purpose == "invite" else "PASSWORD_RESET_MAX_AGE"
    try:
        payload = _serializer(purpose).loads(token, max_age=current_app.config[key])
    except (SignatureExpired, BadSignature):
        return None
    user = db.session.get(User, payload.get("u"))
    if user is None or not user.active or payload.get("f") != _fingerprint(user):
        return None
    return user


def end_sessions(user: User, *, reason: str = "ended_by_admin", actor: audit.Actor = None) -> None:
    """End every session of `user` and void their outstanding reset/invite links.

    Kept for callers written before app/services/accounts/sessions.py; new code calls
    `sessions.end_all(user, reason=..., actor=...)` with the reason that fits."""
    sessions.end_all(user, reason=reason, actor=actor)


def link_fingerprint(user: User) -> str:
    """What a reset/invite link for `user` carries: pass it to `set_password` as `link=`."""
    return _fingerprint(user)


def set_password(user: User, password: str, *, actor: audit.Actor, link: str | None = None,
                 keep: UserSession | None = None) -> None:
    """Set a new password and end the user's sessions (all but `keep`, the session that changed it).

    `link`: the fingerprint of the reset/invite link used. The link works once: of two submissions at
    once, the second finds the password already changed and is refused (NotAllowed)."""
    check_password_rules(password)
    locking.hold(user)
    if link is not None and link != _fingerprint(user):
        raise NotAllowed("This link has been used already.")
    user.password_hash = generate_password_hash(password)
    sessions.end_all(user, reason="password_changed" if keep is not None else "password_reset",
                     except_current=keep, actor=actor)
    mfa.forget_devices(user)  # a new password asks for the second factor again on every device
    audit.record(actor, "user.password_set", "user", user.id, f"Password set for {user.email}")


def change_password(user: User, current: str, new: str, *, keep: UserSession | None = None) -> None:
    """The signed-in user's own change: `keep` (their current session) stays, every other one ends."""
    if user.password_hash is None or not check_password_hash(user.password_hash, current):
        raise ValidationError({"current_password": "That is not your current password."})
    set_password(user, new, actor=user, keep=keep)


def update_profile(user: User, name: str, reminder_emails: bool) -> None:
    user.name = _clean_name(name, "Enter your name.")
    user.reminder_emails = reminder_emails
    audit.record(user, "user.profile_updated", "user", user.id, "Profile updated")


def _active_admins() -> int:
    return db.session.scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True)))


def _lock_active_admins() -> None:
    """Two admins demoting each other at once must not both pass the "last admin" count: lock every
    active admin row (in id order: no deadlock) so the second count runs after the first change."""
    begin_write(db.session.connection())
    db.session.execute(select(User.id).where(User.role == "admin", User.active.is_(True))
                       .order_by(User.id).with_for_update())


def update_user(user: User, *, actor: audit.Actor, role: str | None = None,
                department: Department | str | None = None, active: bool | None = None,
                name: str | None = None, reads_everything: bool | None = None,
                job_title: str | None = None) -> None:
    """Admin edit of a user. Refuses to remove the last active admin. Nothing changes on a refusal.
    `job_title`: None leaves it, "" removes it (compliance requirements may target a job title).

    `department`: None leaves it, "" removes it, a name or a row sets it (a new name creates it)."""
    if user.role == "admin":
        _lock_active_admins()
    locking.hold(user)
    changes: dict[str, object] = {}
    new_role = _check_role(role) if role is not None else user.role
    # Cleaned before anything is assigned: a bad name must not leave a changed role behind.
    new_department = _department(department, actor) if department is not None else user.department_ref
    new_name = user.name if name is None or not name.strip() else _clean_name(name, "Enter the name.")
    new_active = user.active if active is None else active
    new_title = user.job_title if job_title is None else clean_job_title(job_title)
    if user.role == "admin" and user.active and (new_role != "admin" or not new_active) \
            and _active_admins() <= 1:
        raise NotAllowed("This is the last active admin: make someone else admin first.")
    if new_role != user.role:
        sessions.end_all(user, reason="role_changed", actor=actor)  # new rights start with a fresh login
    for key, value in (("role", new_role), ("name", new_name), ("job_title", new_title)):
        if value != getattr(user, key):
            changes[key] = [getattr(user, key), value]
            setattr(user, key, value)
    if new_department is not user.department_ref:
        changes["department"] = [user.department, new_department.name if new_department else None]
        user.department_ref = new_department
        user.department_id = new_department.id if new_department else None  # caches watch the column
    new_grant = user.reads_everything if reads_everything is None else bool(reads_everything)
    if new_grant != user.reads_everything:
        changes["reads_everything"] = [user.reads_everything, new_grant]
        user.reads_everything = new_grant
    if active is not None and active != user.active:
        changes["active"] = [user.active, active]
        user.active = active
        if not active:
            sessions.end_all(user, reason="deactivated", actor=actor)  # logs them out everywhere
    if changes:
        action = "user.deactivated" if changes.get("active") == [True, False] else "user.updated"
        audit.record(actor, action, "user", user.id, f"User {user.email} updated", changes=changes)


def clean_job_title(value: object) -> str | None:
    """One line, inner whitespace collapsed, at most 120 characters; "" -> None."""
    try:
        title = " ".join(clean_text(value, 120, label="the job title").split())
    except ValueError as exc:
        raise ValidationError({"job_title": str(exc)}) from None
    return title or None


def department_names(viewer: User | None = None) -> list[str]:
    """The departments' names in tree order, for filters (a filter takes in sub-departments): all of them,
    or those `viewer` may see (a manager's own and those below)."""
    visible = scope.department_ids(viewer) if viewer is not None else None
    return [d.name for d, _ in departments.tree() if visible is None or d.id in visible]


def in_department(column, name: str):
    """A WHERE condition: the user id `column` belongs to someone in department `name` or below it."""
    found = departments.by_name(name)
    ids = departments.subtree_select([found.id]) if found else select(User.department_id).where(false())
    return column.in_(select(User.id).where(User.department_id.in_(ids)))


def user_query(search: str = "", role: str = "", department: str = "", viewer: User | None = None):
    """The users matching the search and filters, ordered by name; `department` takes in everything below
    it ("Health" lists the nurses of "Nursing" under it)."""
    stmt = select(User).order_by(User.name, User.id)
    if search:
        like = f"%{search.strip().lower()}%"
        stmt = stmt.where(func.lower(User.name).like(like) | User.email.like(like))
    if role in ROLES:
        stmt = stmt.where(User.role == role)
    if department:
        stmt = stmt.where(in_department(User.id, department))
    if viewer is not None:
        stmt = scope.restrict(stmt, User.id, viewer)
    return stmt
