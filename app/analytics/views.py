"""Analytics page (admins; staff read-only), streamed CSV exports and the report subscription form."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, request, stream_with_context, url_for
from flask_login import current_user

from app.extensions import db
from app.services import analytics, scheduled_reports
from app.services.errors import NotAllowed, ValidationError
from app.services.reports import csv_lines
from app.web import nav
from app.web.auth import admin_required, staff_required
from app.web.pages import render_page_or_fragment

bp = Blueprint("analytics", __name__, url_prefix="/analytics")
nav.add("analytics.index", "Analytics", nav.STAFF, prefix="analytics.", order=60)


@bp.get("/")
@staff_required
def index():
    try:
        filters, errors = analytics.parse_filters(request.args), {}
    except ValidationError as exc:
        filters, errors = analytics.Filters(), exc.errors
    data = None if errors else analytics.page_data(filters)
    if data:
        data["charts"] = [analytics.fold_tail(chart) for chart in data["charts"]]
    subscription = scheduled_reports.subscription_for(current_user) if current_user.is_admin else None
    return render_page_or_fragment(
        "analytics/index.html", "analytics/_results.html", status=422 if errors else 200,
        filters=filters, raw={key: request.args.get(key, "") for key in analytics.FILTER_KEYS}, errors=errors,
        data=data, choices=analytics.filter_choices(), figures=analytics.FIGURES, subscription=subscription)


@bp.get("/export/<name>.csv")
@staff_required
def export(name: str):
    if name not in analytics.FIGURES:
        abort(404)
    try:
        filters = analytics.parse_filters(request.args)
    except ValidationError as exc:
        abort(422, description=" ".join(exc.errors.values()))
    header, rows = analytics.csv_export(name, filters)
    response = Response(stream_with_context(csv_lines(header, rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="laurel-{name}.csv"'
    return response


@bp.post("/report")
@admin_required
def report_subscription():
    user = current_user._get_current_object()
    frequency = request.form.get("frequency", "").strip().lower()
    try:
        scheduled_reports.set_subscription(user, frequency, actor=user)
    except ValidationError as exc:
        flash(" ".join(exc.errors.values()), "danger")
    except NotAllowed as exc:
        flash(str(exc), "danger")
    else:
        db.session.commit()
        flash(f"You will get the {frequency} report by email." if frequency else "Scheduled report stopped.",
              "success")
    return redirect(url_for("analytics.index"))
