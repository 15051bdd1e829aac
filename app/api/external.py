"""OpenAPI descriptions of API routes that live in other blueprints (they do not use `@endpoint`).

Keyed by endpoint name. The analytics API (app/analytics/api.py) enforces these rules itself; keep the two
in step (tests/api/test_openapi.py checks every /api/ route is described and answers as described).
"""

from __future__ import annotations

from app.api.base import Operation, Param

_FILTERS = (
    Param("from", {"type": "string", "format": "date"}, "First day (UTC, inclusive), 2000..2100."),
    Param("to", {"type": "string", "format": "date"}, "Last day (UTC, inclusive); not before `from`."),
    Param("certification", {"type": "integer", "minimum": 1, "maximum": 999_999_999},
          "Only this certification (an existing id)."),
    Param("department", {"type": "string", "maxLength": 120}, "Only holders in this department."),
    Param("category", {"type": "string", "maxLength": 120}, "Only this course category."),
)


def _figure_names() -> list[str]:
    from app.services.analytics import FIGURES

    return list(FIGURES)


class _LazyFigures(dict):
    """Path schema for `name`, read when the document is built (the analytics module may be absent)."""

    def get(self, key, default=None):
        if key == "name":
            return {"type": "string", "enum": _figure_names()}
        return default


OPERATIONS: dict[str, Operation] = {
    "analytics_api.index": Operation(
        "List the analytics figures", "staff", "Analytics", response="AnalyticsIndex",
        description="Every chart and table the Analytics page shows, with its URL."),
    "analytics_api.figure": Operation(
        "One analytics chart or table", "staff", "Analytics", response="AnalyticsFigure",
        params=(*_FILTERS, Param("limit", {"type": "integer", "minimum": 1, "maximum": 1000},
                                 "Tables only: number of rows (default per table).")),
        path_schemas=_LazyFigures(),
        description="Charts: {name, title, type, description, filters, dimension, labels, datasets, "
                    "details}. Tables: {name, title, description, filters, columns, rows[, summary]}."),
}

SCHEMAS: dict[str, dict] = {
    "AnalyticsIndex": {"type": "object", "required": ["figures"], "properties": {"figures": {
        "type": "array", "items": {"type": "object", "required": ["name", "title", "kind", "url"],
                                   "properties": {
            "name": {"type": "string"}, "title": {"type": "string"},
            "kind": {"type": "string", "enum": ["chart", "table"]}, "description": {"type": "string"},
            "url": {"type": "string"}}}}}},
    "AnalyticsFigure": {"type": "object", "required": ["name", "title", "description", "filters"],
                        "properties": {"name": {"type": "string"}, "title": {"type": "string"},
                                       "description": {"type": "string"}, "filters": {"type": "object"}}},
}
