"""/api/v1/analytics[/<figure>]: every chart's and table's data as JSON, with the page's filters (staff).

The filters are declared here (documentation, types and bounds) and checked fully by the same parser the
page uses (app/services/analytics/filters.py: date order, an existing certification, no control characters).
"""

from __future__ import annotations

from flask import abort, request, url_for

from app.api.base import Param, actor, bp, endpoint
from app.services.analytics import cache, figures
from app.services.analytics.filters import MAX_TEXT, MAX_YEAR, MIN_YEAR

TAG = "Analytics"
FILTERS = (
    Param("from", {"type": "string", "format": "date"},
          f"First day (UTC, inclusive), YYYY-MM-DD, years {MIN_YEAR}..{MAX_YEAR}. Certificates by issue "
          "date, completions by completion date, completion rates by enrolment date, engagement by day; "
          "ignored by `expiring`."),
    Param("to", {"type": "string", "format": "date"}, "Last day (UTC, inclusive), not before `from`."),
    Param("certification", {"type": "integer", "minimum": 1, "maximum": 999_999_999},
          "Only this certification (an existing id; unknown ids are 422). Course figures: the courses it "
          "requires."),
    Param("department", {"type": "string", "maxLength": MAX_TEXT},
          "Only learners/holders in this department or one below it (its name; no control characters). "
          "Managers' figures always count only the people of their departments."),
    Param("category", {"type": "string", "maxLength": MAX_TEXT},
          "Only this course category (certifications requiring a course of it)."),
    Param("limit", {"type": "integer", "minimum": 1, "maximum": figures.MAX_LIMIT},
          "Tables only: how many rows (defaults: " + ", ".join(
              f"{t.name} {t.default_limit}" for t in figures.TABLES.values()) + "). Ignored by charts."),
)


@bp.get("/analytics")
@endpoint("List the analytics figures", access="staff", tag=TAG, response="AnalyticsIndex",
          description="Every chart and table of the Analytics page, with its URL.")
def analytics_index():
    return {"figures": [{"name": f.name, "title": f.title, "kind": f.kind, "description": f.description,
                         "url": url_for("api.analytics_figure", name=f.name)}
                        for f in figures.FIGURES.values()]}


@bp.get("/analytics/<name>")
@endpoint("One analytics chart or table", access="staff", tag=TAG, response="AnalyticsFigure",
          params=FILTERS, path_schemas={"name": {"type": "string", "enum": list(figures.FIGURES)}},
          description="The data behind one chart (labels x datasets, as plotted) or table (rows), with the "
                      "same filters as the page.")
def analytics_figure(name: str, query: dict):
    if name not in figures.FIGURES:
        abort(404, f"No analytics figure named {name[:60]!r}; GET /api/v1/analytics lists them.")
    limit = query["limit"] if name in figures.TABLES else None
    return cache.figure(name, figures.parse_filters(request.args, actor()), limit)
