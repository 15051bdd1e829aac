"""OpenAPI 3.1 description of the analytics API (app/api/analytics.py), for the API document to merge.

`openapi_paths()` gives the two paths; `SCHEMAS` the component schemas they reference (`Problem` and
`ValidationProblem` come from the main document). What is described here is what `api.py` enforces:
filters validated by `app.services.analytics.filters.parse_filters`, `limit` by `analytics.parse_limit`.
"""

from __future__ import annotations

from app.services.analytics.figures import CHARTS, MAX_LIMIT, TABLE_COLUMNS, TABLES
from app.services.analytics.filters import MAX_TEXT, MAX_YEAR, MIN_YEAR

PROBLEM_JSON = "application/problem+json"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


FILTER_PARAMETERS: list[dict] = [
    {"name": "from", "in": "query", "required": False, "schema": {"type": "string", "format": "date"},
     "description": f"First day (UTC, inclusive), YYYY-MM-DD, years {MIN_YEAR}..{MAX_YEAR}. Certificates by "
                    "issue date, completions by completion date, completion rates by enrolment date, "
                    "engagement by day; ignored by `expiring`."},
    {"name": "to", "in": "query", "required": False, "schema": {"type": "string", "format": "date"},
     "description": "Last day (UTC, inclusive), not before `from`."},
    {"name": "certification", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 999_999_999},
     "description": "Only this certification (an existing id; unknown ids are 422). Course figures: the "
                    "courses it requires."},
    {"name": "department", "in": "query", "required": False,
     "schema": {"type": "string", "maxLength": MAX_TEXT},
     "description": "Only learners/holders in this department (exact match; no control characters)."},
    {"name": "category", "in": "query", "required": False,
     "schema": {"type": "string", "maxLength": MAX_TEXT},
     "description": "Only this course category (certifications requiring a course of it)."},
]
LIMIT_PARAMETER = {"name": "limit", "in": "query", "required": False,
                   "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                   "description": "Tables only: how many rows (defaults: " + ", ".join(
                       f"{t.name} {t.default_limit}" for t in TABLES.values()) + "). Ignored by charts."}


def _errors(*statuses: int) -> dict:
    text = {401: "Not logged in / no valid bearer token.", 403: "Learners may not read analytics.",
            404: "No figure of that name.",
            422: "Invalid filters; `errors` maps each parameter to a message."}
    return {str(s): {"description": text[s], "content": {PROBLEM_JSON: {
        "schema": _ref("ValidationProblem" if s == 422 else "Problem")}}} for s in statuses}


def openapi_paths() -> dict:
    """The analytics paths of the OpenAPI document."""
    return {
        "/api/v1/analytics": {"get": {
            "operationId": "analytics_index", "tags": ["Analytics"], "summary": "List the analytics figures",
            "description": "Every chart and table of the Analytics page, with its URL. Admins and staff.",
            "parameters": [],
            "responses": {"200": {"description": "OK", "content": {"application/json": {
                "schema": _ref("AnalyticsIndex")}}}, **_errors(401, 403)}}},
        "/api/v1/analytics/{name}": {"get": {
            "operationId": "analytics_figure", "tags": ["Analytics"],
            "summary": "One analytics chart or table",
            "description": "The data behind one chart (labels x datasets, as plotted) or table (rows), with "
                           "the same filters as the page. Admins and staff.",
            "parameters": [{"name": "name", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": [*CHARTS, *TABLES]}},
                           *FILTER_PARAMETERS, LIMIT_PARAMETER],
            "responses": {"200": {"description": "OK", "content": {"application/json": {
                "schema": _ref("AnalyticsFigure")}}}, **_errors(401, 403, 404, 422)}}},
    }


_FILTERS_ECHO = {"type": "object", "required": ["from", "to", "certification", "department", "category"],
                 "properties": {"from": {"type": ["string", "null"], "format": "date"},
                                "to": {"type": ["string", "null"], "format": "date"},
                                "certification": {"type": ["integer", "null"]},
                                "department": {"type": ["string", "null"]},
                                "category": {"type": ["string", "null"]}},
                 "description": "The filters applied (null: not filtered)."}
_AS_OF = {"type": "string", "format": "date-time",
          "description": "When the figure was computed (UTC). Figures are cached until their data changes, "
                         "and for at most ANALYTICS_CACHE_SECONDS."}
_SERIES = {"type": "object", "required": ["key", "label", "data"], "properties": {
    "key": {"type": "string"}, "label": {"type": "string"},
    "data": {"type": "array", "items": {"type": ["number", "string", "null"]},
             "description": "One value per label, in label order."}}}
_CELL_TYPES = {"held": "integer", "within_days": "integer", "average_score": ["number", "null"],
               "score": ["number", "null"]}

SCHEMAS: dict[str, dict] = {
    "AnalyticsIndex": {"type": "object", "required": ["figures"], "properties": {"figures": {
        "type": "array", "items": {"type": "object",
                                   "required": ["name", "title", "kind", "description", "url"],
                                   "properties": {
            "name": {"type": "string", "enum": [*CHARTS, *TABLES]}, "title": {"type": "string"},
            "kind": {"type": "string", "enum": ["chart", "table"]}, "description": {"type": "string"},
            "url": {"type": "string"}}}}}},
    "AnalyticsChart": {
        "type": "object", "additionalProperties": False,
        "required": ["name", "title", "type", "description", "filters", "dimension", "labels", "datasets",
                     "details"],
        "properties": {
            "name": {"type": "string", "enum": list(CHARTS)}, "title": {"type": "string"},
            "type": {"type": "string", "enum": sorted({c.chart_type for c in CHARTS.values()})},
            "description": {"type": "string"}, "filters": _FILTERS_ECHO,
            "dimension": {"type": "string", "description": "What the labels are (Month, Course...)."},
            "labels": {"type": "array", "items": {"type": "string"}},
            "datasets": {"type": "array", "items": _SERIES, "description": "Plotted series."},
            "details": {"type": "array", "items": _SERIES,
                        "description": "Extra columns of the data table and CSV (not plotted)."},
            "as_of": _AS_OF}},
    "AnalyticsTable": {
        "type": "object", "additionalProperties": False,
        "required": ["name", "title", "description", "filters", "limit", "columns", "rows"],
        "properties": {
            "name": {"type": "string", "enum": list(TABLES)}, "title": {"type": "string"},
            "description": {"type": "string"}, "filters": _FILTERS_ECHO,
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            "columns": {"type": "array", "items": {
                "type": "object", "required": ["key", "label"],
                "properties": {"key": {"type": "string"}, "label": {"type": "string"}}}},
            "rows": {"type": "array", "items": {"type": "object", "properties": {
                key: {"type": _CELL_TYPES.get(key, ["string", "null"])}
                for columns in TABLE_COLUMNS.values() for key, _ in columns}}},
            "summary": {"type": "object", "description": "expiring only: counts per window over all matches.",
                        "required": ["within", "total"], "properties": {
                "within": {"type": "object", "required": ["30", "60", "90"], "properties": {
                    k: {"type": "integer", "minimum": 0} for k in ("30", "60", "90")}},
                "total": {"type": "integer", "minimum": 0}}},
            "as_of": _AS_OF}},
    "AnalyticsFigure": {"oneOf": [_ref("AnalyticsChart"), _ref("AnalyticsTable")]},
}


def components() -> dict:
    """`components.schemas` entries to merge."""
    return dict(SCHEMAS)
