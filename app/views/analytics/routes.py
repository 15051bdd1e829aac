"""Analytics page (admins; staff read-only), streamed CSV exports and the report subscription form."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app.extensions import db
from app.services.analytics import cache as analytics_cache
from app.services.analytics import figures as analytics
from app.services.analytics import scheduled_reports
from app.services.errors import NotAllowed, ValidationError
from app.views.analytics import bp
from app.web import nav
from app.web.auth import admin_required, staff_required
from app.web.pages import render_page_or_fragment
from app.web.streaming import csv_response

nav.add("analytics.index", "Analytics", nav.STAFF, prefix="analytics.", order=60)


@bp.get("/")
@staff_required
def index():
    try:
        filters, errors = analytics.parse_filters(request.args, _viewer()), {}
    except ValidationError as exc:
        filters, errors = analytics.Filters(), exc.errors
    figures = {} if errors else analytics_cache.figures_within(
        filters, analytics.FIGURES, current_app.config["ANALYTICS_INLINE_BUDGET_MS"])
    subscription = scheduled_reports.subscription_for(current_user) if current_user.is_admin else None
    choices = analytics.filter_choices(_viewer())
    return render_page_or_fragment(
        "analytics/index.html", "analytics/_results.html", status=422 if errors else 200,
        filters=filters, raw={key: request.args.get(key, "") for key in analytics.FILTER_KEYS}, errors=errors,
        figures={name: _for_page(name, data) for name, data in figures.items()},
        choices=choices, filters_in_words=analytics.describe_filters(filters, choices["certifications"]),
        specs=analytics.FIGURES, subscription=subscription)


@bp.get("/figure/<name>")
@staff_required
def figure(name: str):
    """One figure's card: what the page's placeholders load when it left a figure out of its time budget."""
    filters = _figure_request(name)
    return render_template("analytics/_figure.html", name=name, data=_for_page(name, analytics_cache.figure(
        name, filters)), filters=filters, specs=analytics.FIGURES)


def _figure_request(name: str) -> analytics.Filters:
    """The filters of a request for one figure: 404 for an unknown figure, 422 for bad filters."""
    if name not in analytics.FIGURES:
        abort(404)
    try:
        return analytics.parse_filters(request.args, _viewer())
    except ValidationError as exc:
        abort(422, description=" ".join(exc.errors.values()))


def _viewer():
    """The figures count only the people the signed-in user may see (managers: their departments)."""
    return current_user._get_current_object()


def _for_page(name: str, data: dict | None) -> dict | None:
    """Long charts keep their first bars on the page (the rest fold into "Other"; the CSV has them all)."""
    return analytics.fold_tail(data) if data and name in analytics.CHARTS else data


@bp.get("/export/<name>.csv")
@staff_required
def export(name: str):
    filters = _figure_request(name)
    chart = analytics_cache.figure(name, filters) if name in analytics.CHARTS else None  # what the page shows
    header, rows = analytics.csv_export(name, filters, chart_data=chart)
    return csv_response(f"laurel-{name}.csv", header, rows)


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
