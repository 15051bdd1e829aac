"""The notification bell (polled by htmx every 30 s), the notifications page, marking read."""

from __future__ import annotations

from functools import wraps

from flask import Response, abort, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.services.messaging import notifications
from app.views.messaging import bp
from app.web.auth import login_required
from app.web.pages import is_fragment_request, page_args
from app.web.transactions import commit_with


def _quiet_when_logged_out(view):
    """A poll from a page whose session ended: 286 stops htmx polling instead of swapping in a login page."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if request.headers.get("HX-Request") and not current_user.is_authenticated:
            return Response("", 286)
        return view(*args, **kwargs)

    return wrapped


@bp.app_context_processor
def _bell_context() -> dict:
    def bell() -> dict:
        if not current_user.is_authenticated:
            return {"count": 0, "items": []}
        return {"count": notifications.unread_count(current_user.id),
                "items": notifications.recent(current_user.id)}

    return {"notification_bell": bell}


@bp.get("/notifications/bell")
@_quiet_when_logged_out
@login_required
def bell():
    response = Response(render_template("messaging/_bell.html"))
    response.vary.add("HX-Request")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/notifications")
@login_required
def notification_list():
    page, per_page = page_args(25)
    pagination = db.paginate(notifications.query(current_user.id), page=page, per_page=per_page,
                             error_out=False)
    return render_template("messaging/notifications.html", pagination=pagination)


def _safe_next(link: str | None) -> str:
    """Only paths inside the app: a notification link never leaves the site."""
    if link and link.startswith("/") and not link.startswith("//") and "\\" not in link:
        return link
    return url_for("messaging.notification_list")


@bp.post("/notifications/<id:notification_id>/read")
@login_required
def read_notification(notification_id: int):
    row = notifications.get_own(current_user.id, notification_id)
    if row is None:
        abort(404)
    notifications.mark_read(row)
    if is_fragment_request():
        return commit_with(render_template("messaging/_bell.html"))
    db.session.commit()
    return redirect(_safe_next(request.form.get("next") or row.link))


@bp.post("/notifications/read-all")
@login_required
def read_all_notifications():
    notifications.mark_all_read(current_user.id)
    if is_fragment_request():
        return commit_with(render_template("messaging/_bell.html"))
    db.session.commit()
    return redirect(url_for("messaging.notification_list"))
