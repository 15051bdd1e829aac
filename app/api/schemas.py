"""JSON Schemas of the API's resources and request bodies: one source for validation and the OpenAPI document.

Request bodies are checked against these schemas (app/api/validation.py) before a service sees them, so
the document cannot promise one thing and the code accept another. Services still apply the business
rules (unique codes, unknown ids, cycles) and answer with a field map the API returns as 422.
"""

from __future__ import annotations

from app.connectors.oauth2 import AUTH_TYPES
from app.models import CERTIFICATE_STATUSES, CERTIFICATION_STATUSES, ENROLLMENT_STATUSES, ROLES
from app.models.certificate import PDF_STATES
from app.models.integration import (
    DELIVERY_STATUSES,
    EXPORT_STATUSES,
    INTEGRATION_TYPES,
    LOG_LEVELS,
)
from app.rules.plain_text import MULTI_LINE_PATTERN, SINGLE_LINE_PATTERN
from app.services.analytics.figures import CHARTS, MAX_LIMIT, TABLE_COLUMNS, TABLES
from app.services.compliance.assignments import STATES as COMPLIANCE_STATES
from app.services.integrations.settings import (
    CONFIG_FIELDS,
    EVENT_TYPES,
    LOCATIONS,
    MULTI_LINE_FIELDS,
    SECRET_FIELDS,
)
from app.services.numbers import MAX_ID  # ids are 32-bit integers on PostgreSQL; larger ones never match

ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
DATE_TIME = {"type": "string", "format": "date-time"}
DATE = {"type": "string", "format": "date"}


def text(max_length: int, *, min_length: int = 0, nullable: bool = False, multiline: bool = False) -> dict:
    """A text field: one line (no control characters at all), or `multiline` (LF and tab allowed)."""
    schema: dict = {"type": ["string", "null"] if nullable else "string", "maxLength": max_length,
                    "pattern": MULTI_LINE_PATTERN if multiline else SINGLE_LINE_PATTERN}
    if min_length:
        schema["minLength"] = min_length
    return schema


def nullable(schema: dict) -> dict:
    return {**schema, "type": [schema["type"], "null"]}


def id_list() -> dict:
    return {"type": "array", "items": ID, "maxItems": 500}


SCORE = {"type": "number", "minimum": 0, "maximum": 100}
REMINDER_DAYS = {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 3650}, "maxItems": 50}

# ---- resources (responses) ----------------------------------------------------------------------------

COURSE = {"type": "object", "properties": {
    "id": ID, "code": {"type": "string"}, "title": {"type": "string"},
    "category": {"type": ["string", "null"]}, "description": {"type": "string"},
    "capacity": {"type": ["integer", "null"]}, "starts_on": nullable(DATE), "ends_on": nullable(DATE),
    "archived": {"type": "boolean"},
}}

CERTIFICATION = {"type": "object", "properties": {
    "id": ID, "name": {"type": "string"}, "description": {"type": "string"},
    "status": {"type": "string", "enum": list(CERTIFICATION_STATUSES)},
    "course_ids": {"type": "array", "items": ID}, "min_score": {"type": ["number", "null"]},
    "prerequisite_ids": {"type": "array", "items": ID},
    "validity_months": {"type": ["integer", "null"], "description": "Empty: never expires."},
    "renewal_window_days": {"type": "integer"},
    "reminder_days": {"type": "array", "items": {"type": "integer"}},
    "issuer_name": {"type": "string"}, "signatory_name": {"type": "string"},
    "signatory_title": {"type": "string"},
    "auto_reenrol": {"type": "boolean", "description": "Re-enrol holders in the courses when a "
                     "certificate's renewal window opens (docs/corrections.md)."},
    "requirement_groups": {"type": "array", "items": {"type": "object", "properties": {
        "mode": {"type": "string", "enum": ["all", "any"]}, "count": {"type": ["integer", "null"]},
        "min_score": {"type": ["number", "null"]},
        "courses": {"type": "array", "items": {"type": "object", "properties": {
            "course_id": ID, "min_score": {"type": ["number", "null"]}}}}}},
        "description": "What a learner must complete: every group, each \"all\" of its courses or "
                       "\"any\" `count` of them, each course with its `min_score` or else the group's."},
    "evidence_required": {"type": "boolean"}, "evidence_instructions": {"type": "string"},
    "assessor_ids": {"type": "array", "items": ID,
                     "description": "Who reviews the evidence besides the admins."},
}}

USER = {"type": "object", "properties": {
    "id": ID, "email": {"type": "string", "format": "email"}, "name": {"type": "string"},
    "role": {"type": "string", "enum": list(ROLES)}, "department": {"type": ["string", "null"]},
    "active": {"type": "boolean"},
    "reads_everything": {"type": "boolean", "description": "Staff: reads every department's people."},
    "job_title": {"type": ["string", "null"], "description": "What the person does; compliance "
                                                            "requirements may target it."},
}}

ENROLLMENT = {"type": "object", "properties": {
    "id": ID, "user_id": ID, "course_id": ID,
    "status": {"type": "string", "enum": list(ENROLLMENT_STATUSES)},
    "progress": {"type": "integer", "minimum": 0, "maximum": 100},
    "score": {"type": ["number", "null"]}, "completed_at": nullable(DATE_TIME),
}}

CERTIFICATE = {"type": "object", "properties": {
    "id": ID, "serial": {"type": ["string", "null"]}, "code": {"type": "string"}, "user_id": ID,
    "certification_id": ID, "status": {"type": "string", "enum": list(CERTIFICATE_STATUSES)},
    "issued_at": DATE_TIME, "expires_at": nullable(DATE_TIME), "revoked_at": nullable(DATE_TIME),
    "revoke_reason": {"type": ["string", "null"]}, "renewed_from_id": {"type": ["integer", "null"]},
    "verify_url": {"type": "string", "format": "uri"},
    "public": {"type": "boolean", "description": "The holder made it public (share page and PDF)."},
    "pdf_status": {"type": "string", "enum": list(PDF_STATES)},
    "pdf_url": {"type": ["string", "null"], "format": "uri",
                "description": "GET it with the same token; null until the PDF is ready."},
}}

STATS = {"type": "object", "properties": {
    "certificates_valid": {"type": "integer", "minimum": 0,
                           "description": "Certificates held now (valid or expiring)."},
    "active_certifications": {"type": "integer", "minimum": 0},
    "learners": {"type": "integer", "minimum": 0, "description": "Active learner accounts."},
    "completion_rate": {"type": "number", "minimum": 0, "maximum": 100,
                        "description": "Completed / non-withdrawn enrollments, percent, one decimal."},
    "issued_this_month": {"type": "integer", "minimum": 0},
    "expiring_30_days": {"type": "integer", "minimum": 0},
    "generated_at": DATE_TIME,
}}

PROBLEM = {"type": "object", "properties": {
    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
    "detail": {"type": "string"},
}, "required": ["type", "title", "status"]}

VALIDATION_PROBLEM = {"type": "object", "properties": {
    **PROBLEM["properties"],
    "errors": {"type": "object", "additionalProperties": {"type": "string"},
               "description": "Field name -> message. The key \"\" is about the request as a whole."},
}, "required": ["type", "title", "status", "errors"]}

_NULLABLE_TEXT = {"type": ["string", "null"]}
_COUNTS = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}

INTEGRATION = {"type": "object", "properties": {
    "id": ID, "type": {"type": "string", "enum": list(INTEGRATION_TYPES)}, "name": {"type": "string"},
    "active": {"type": "boolean"},
    "status": {"type": "string", "enum": ["active", "inactive", "failing", "deleted"]},
    "config": {"type": "object", "description": "Non-secret settings (url, site_url, query, folder ...)."},
    "auth_type": {"type": "string", "enum": list(AUTH_TYPES)},
    "credentials": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "Secret name -> masked hint (last 4 characters); never the secret."},
    "event_types": {"type": "array", "items": {"type": "string"}},
    "condition_certification_id": {"type": ["integer", "null"]}, "condition_department": _NULLABLE_TEXT,
    "signing_secret": {**_NULLABLE_TEXT, "description": "Masked hint."},
    "incoming_url": {**_NULLABLE_TEXT, "description": "Incoming integrations: where to post."},
    "sync_every_minutes": {"type": ["integer", "null"]},
    "last_run_at": nullable(DATE_TIME), "last_success_at": nullable(DATE_TIME), "last_error": _NULLABLE_TEXT,
    "last_error_at": nullable(DATE_TIME), "failing_since": nullable(DATE_TIME),
    "disabled_reason": _NULLABLE_TEXT, "created_at": nullable(DATE_TIME), "deleted_at": nullable(DATE_TIME),
    "counts": {**_COUNTS, "description": "Deliveries or copies by status, or the last sync run's counts."},
}}

INTEGRATION_LOG = {"type": "object", "properties": {
    "id": ID, "level": {"type": "string", "enum": list(LOG_LEVELS)}, "message": {"type": "string"},
    "data": {"type": "object"}, "at": nullable(DATE_TIME),
}}

DELIVERY = {"type": "object", "properties": {
    "id": ID, "event_id": {"type": "string"}, "event_type": {"type": "string"}, "integration_id": ID,
    "status": {"type": "string", "enum": list(DELIVERY_STATUSES)}, "attempt": {"type": "integer"},
    "next_attempt_at": {**nullable(DATE_TIME), "description": "Failed deliveries: the next retry."},
    "response_status": {"type": ["integer", "null"]}, "duration_ms": {"type": ["integer", "null"]},
    "last_error": _NULLABLE_TEXT, "created_at": nullable(DATE_TIME), "last_attempt_at": nullable(DATE_TIME),
    "delivered_at": nullable(DATE_TIME),
    "request_headers": {"type": "object", "additionalProperties": {"type": "string"}},
    "request_body": _NULLABLE_TEXT, "response_body": _NULLABLE_TEXT,
    "payload": {"type": "object", "description": "The event as sent (Standard Webhooks envelope)."},
}}

PDF_COPY = {"type": "object", "properties": {
    "id": ID, "integration_id": ID, "certificate_id": ID, "serial": _NULLABLE_TEXT,
    "status": {"type": "string", "enum": list(EXPORT_STATUSES)}, "attempts": {"type": "integer"},
    "location": {**_NULLABLE_TEXT, "description": "Where the copy was written."},
    "last_error": _NULLABLE_TEXT, "next_attempt_at": nullable(DATE_TIME), "exported_at": nullable(DATE_TIME),
}}

_CORRECTION_VALUES = {
    "holder_name": text(200, min_length=1), "completed_on": nullable(DATE), "score": nullable(SCORE)}
CORRECTION_REQUEST = {"type": "object", "properties": {
    "id": ID, "certificate_id": ID, "user_id": ID,
    "requested": {"type": "object", "properties": _CORRECTION_VALUES,
                  "description": "Only the fields asked to change."},
    "reason": {"type": "string"}, "status": {"type": "string", "enum": ["pending", "approved", "rejected"]},
    "created_at": DATE_TIME, "decided_at": nullable(DATE_TIME), "decision_note": _NULLABLE_TEXT,
    "version": {"type": ["integer", "null"], "description": "The certificate version an approval made."},
}}
CERTIFICATE_VERSION = {"type": "object", "properties": {
    "version": {"type": "integer", "minimum": 2}, "summary": {"type": "string"},
    "changes": {"type": "object", "description": "Field -> [before, after]."},
    "reason": {"type": "string"}, "created_at": DATE_TIME, "actor": {"type": "string"},
    "certificate": CERTIFICATE,
}}
PAYMENT = {"type": "object", "properties": {
    "id": ID, "public_id": {"type": "string"},
    "status": {"type": "string", "enum": ["pending", "paid", "refunded", "expired"]},
    "method": {"type": "string", "enum": ["stripe", "manual"]},
    "amount": {"type": "integer", "description": "Minor units of the currency (1999 = 19.99 EUR)."},
    "currency": {"type": "string", "description": "ISO 4217 code."},
    "refunded_amount": {"type": "integer"}, "cycle": {"type": "integer"},
    "reference": {"type": "string"}, "tax_note": {"type": "string"}, "user_id": ID, "certification_id": ID,
    "user": {"type": "object", "properties": {"id": ID, "name": {"type": "string"},
                                              "email": {"type": "string"}}},
    "certification": {"type": "object", "properties": {"id": ID, "name": {"type": "string"}}},
    "created_at": DATE_TIME, "paid_at": nullable(DATE_TIME), "refunded_at": nullable(DATE_TIME),
}}
EVIDENCE = {"type": "object", "properties": {
    "id": ID, "status": {"type": "string", "enum": ["pending", "approved", "rejected"]},
    "text": {"type": "string"},
    "user": {"type": "object", "required": ["id", "name", "email"], "properties": {
        "id": ID, "name": {"type": "string"}, "email": {"type": "string"}}},
    "certification": {"type": "object", "required": ["id", "name"], "properties": {
        "id": ID, "name": {"type": "string"}}},
    "submitted_at": DATE_TIME, "reviewed_at": nullable(DATE_TIME),
    "reviewer_id": {"type": ["integer", "null"]}, "review_comment": {"type": "string"},
    "files": {"type": "array", "description": "Download a file from the web app's evidence page.",
              "items": {"type": "object", "required": ["id", "filename", "content_type", "size"],
                        "properties": {
                  "id": ID, "filename": {"type": "string"}, "content_type": {"type": "string"},
                  "size": {"type": "integer"}}}},
}}

_COMPLIANCE_STATE = {"type": "string", "enum": list(COMPLIANCE_STATES)}
COMPLIANCE_CELL = {"type": "object", "properties": {
    "user_id": ID, "name": {"type": "string"}, "email": {"type": "string"}, "department": _NULLABLE_TEXT,
    "certification_id": ID, "certification": {"type": "string"}, "state": _COMPLIANCE_STATE,
    "due_at": {**nullable(DATE_TIME), "description": "When the certification is due (overdue after it)."},
    "expires_at": nullable(DATE_TIME),
    "days_left": {"type": ["integer", "null"], "description": "Expiring cells: whole days to the expiry."},
    "exemption_reason": _NULLABLE_TEXT, "exemption_expires_on": nullable(DATE),
}}

RESOURCES = {"ComplianceCell": COMPLIANCE_CELL, "Course": COURSE, "Certification": CERTIFICATION,
             "User": USER, "Enrollment": ENROLLMENT,
             "Certificate": CERTIFICATE, "Integration": INTEGRATION, "IntegrationLog": INTEGRATION_LOG,
             "Delivery": DELIVERY, "PdfCopy": PDF_COPY, "CorrectionRequest": CORRECTION_REQUEST,
             "CertificateVersion": CERTIFICATE_VERSION, "Payment": PAYMENT,
             "Evidence": EVIDENCE}

for _schema in RESOURCES.values():
    _schema["required"] = list(_schema["properties"])
STATS["required"] = list(STATS["properties"])

# ---- other responses (not resources: no list, no page) ------------------------------------------------

_INTEGRATION_ROW = {"type": "object", "required": ["id", "name", "type"], "properties": {
    "id": ID, "name": {"type": "string"}, "type": {"type": "string"}, "status": {"type": "string"},
    "last_success_at": nullable(DATE_TIME), "last_error": _NULLABLE_TEXT,
    "failing_since": nullable(DATE_TIME)}}
_FILTERS_ECHO = {"type": "object", "required": ["from", "to", "certification", "department", "category"],
                 "description": "The filters applied (null: not filtered).", "properties": {
    "from": nullable(DATE), "to": nullable(DATE), "certification": {"type": ["integer", "null"]},
    "department": _NULLABLE_TEXT, "category": _NULLABLE_TEXT}}
_AS_OF = {**DATE_TIME, "description": "When the figure was computed (UTC). Figures are cached until their "
                                      "data changes, and for at most ANALYTICS_CACHE_SECONDS."}
_SERIES = {"type": "object", "required": ["key", "label", "data"], "properties": {
    "key": {"type": "string"}, "label": {"type": "string"},
    "data": {"type": "array", "items": {"type": ["number", "string", "null"]},
             "description": "One value per label, in label order."}}}
_CELL_TYPES = {"held": "integer", "within_days": "integer", "average_score": ["number", "null"],
               "score": ["number", "null"]}
_WINDOWS = {"type": "object", "required": ["30", "60", "90"],
            "properties": {k: {"type": "integer", "minimum": 0} for k in ("30", "60", "90")}}

# POST /api/v1/verify: what app/services/credentials/verifying.py answers (Verdict.as_dict()).
_TEXT_OR_NULL = {"type": ["string", "null"]}
VERDICT = {"type": "object", "additionalProperties": False, "required": [
    "outcome", "headline", "summary", "kind", "signature", "content", "status", "credential", "reasons",
    "verify_code", "stored"], "properties": {
    "outcome": {"type": "string", "enum": ["valid", "expiring", "expired", "revoked", "unknown", "altered",
                                           "forged", "not_ours", "unsigned"],
                "description": "valid/expiring/expired/revoked: genuine, with our record's status today; "
                               "unknown: signed by us but not in our records (or a genuine PDF carrying no "
                               "credential); altered: changed after signing; forged: names us as issuer but "
                               "no key we published signed it; not_ours: another issuer's; unsigned: no "
                               "signature at all."},
    "headline": {"type": "string"}, "summary": {"type": "string"},
    "kind": {"type": "string", "enum": ["pdf", "credential", "jwt"]},
    "signature": {"type": "object", "additionalProperties": False, "required": [
        "present", "valid", "ours", "signer", "issuer_id", "key_id", "key_state", "signed_at", "detail"],
                  "properties": {
        "present": {"type": "boolean"}, "valid": {"type": "boolean"},
        "ours": {"type": "boolean", "description": "Made with one of our keys or PDF signing certificates."},
        "signer": _TEXT_OR_NULL, "issuer_id": _TEXT_OR_NULL,
        "key_id": {**_TEXT_OR_NULL, "description": "The verification method (DID URL), or the PDF "
                                                   "certificate's SHA-256 fingerprint."},
        "key_state": {"type": ["string", "null"], "enum": ["current", "rotated", "replaced", None]},
        "signed_at": _TEXT_OR_NULL, "detail": {"type": "string"}}},
    "content": {"type": "object", "additionalProperties": False, "required": ["unaltered", "problems"],
                "properties": {"unaltered": {"type": ["boolean", "null"]},
                               "problems": {"type": "array", "items": {"type": "string"}}}},
    "status": {"type": "object", "additionalProperties": False, "required": [
        "state", "detail", "revoked_at", "reason", "status_list_revoked"], "properties": {
        "state": {"type": "string", "enum": ["valid", "expiring", "expired", "revoked", "unknown"]},
        "detail": {"type": "string"}, "revoked_at": _TEXT_OR_NULL, "reason": _TEXT_OR_NULL,
        "status_list_revoked": {"type": ["boolean", "null"]}}},
    "credential": {"type": ["object", "null"], "additionalProperties": False, "required": [
        "id", "code", "certification", "holder", "issuer", "issued", "expires", "serial"],
                   "properties": {name: _TEXT_OR_NULL for name in (
        "id", "code", "certification", "holder", "issuer", "issued", "expires", "serial")}},
    "reasons": {"type": "array", "items": {"type": "string"}},
    "verify_code": _TEXT_OR_NULL,
    "stored": {"type": "boolean", "const": False, "description": "Uploads are never stored."}}}

_TALLY = {"type": "object", "required": ["id", "name", "total", "compliant", "percent", "states"],
          "properties": {
    "id": {"type": ["integer", "null"], "description": "Department or certification id (null: no department, "
                                                        "or the overall tally)."},
    "name": {"type": "string"}, "total": {"type": "integer", "minimum": 0},
    "compliant": {"type": "integer", "minimum": 0, "description": "valid + expiring + exempt"},
    "percent": {"type": ["number", "null"], "description": "compliant / total x 100, one decimal."},
    "states": {"type": "object", "required": list(COMPLIANCE_STATES),
               "properties": {s: {"type": "integer", "minimum": 0} for s in COMPLIANCE_STATES}}}}

RESPONSES = {
    "CertificateVersions": {"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": CERTIFICATE_VERSION, "description": "Newest first."}}},
    "ExpiryResult": {"type": "object", "required": ["changed", "certificates"], "properties": {
        "changed": {"type": "integer", "minimum": 1},
        "certificates": {"type": "array", "items": CERTIFICATE}}},
    "ComplianceSummary": {"type": "object", "required": ["overall", "departments", "certifications"],
                          "properties": {"overall": _TALLY, "departments": {"type": "array", "items": _TALLY},
                                         "certifications": {"type": "array", "items": _TALLY}}},
    "Verdict": VERDICT,
    "IntegrationCreated": {**INTEGRATION, "required": [*INTEGRATION["required"], "signing_secret_once"],
                           "properties": {**INTEGRATION["properties"], "signing_secret_once": {
                               **_NULLABLE_TEXT, "description": "The new signing secret, shown only here "
                                                                "(null for types without one)."}}},
    "IntegrationHealth": {"type": "object", "required": ["status", "integrations", "deliveries_24h",
                                                         "oldest_undelivered_at", "failing", "items"],
                          "properties": {
        "status": {"type": "string", "enum": ["ok", "failing"]},
        "integrations": {**_COUNTS, "description": "total, and how many are active, failing, inactive."},
        "deliveries_24h": {**_COUNTS, "description": "Deliveries of the last 24 hours by status."},
        "oldest_undelivered_at": nullable(DATE_TIME),
        "failing": {"type": "array", "items": _INTEGRATION_ROW},
        "items": {"type": "array", "items": _INTEGRATION_ROW}}},
    "TestResult": {"type": "object", "required": ["ok"], "properties": {
        "ok": {"type": "boolean"}, "error": _NULLABLE_TEXT}, "description": "What the ping or dry run saw "
        "(outgoing: status_code, duration_ms, delivery_id, response_body; syncs: what a run would do)."},
    "Queued": {"type": "object", "required": ["queued"], "additionalProperties": False, "properties": {
        "queued": {"type": "integer", "minimum": 0, "description": "How many jobs were queued."}}},
    "AnalyticsIndex": {"type": "object", "required": ["figures"], "properties": {"figures": {
        "type": "array", "items": {"type": "object",
                                   "required": ["name", "title", "kind", "description", "url"],
                                   "properties": {
            "name": {"type": "string", "enum": [*CHARTS, *TABLES]}, "title": {"type": "string"},
            "kind": {"type": "string", "enum": ["chart", "table"]}, "description": {"type": "string"},
            "url": {"type": "string"}}}}}},
    "AnalyticsChart": {"type": "object", "additionalProperties": False, "required": [
        "name", "title", "type", "description", "filters", "dimension", "labels", "datasets", "details"],
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
    "AnalyticsTable": {"type": "object", "additionalProperties": False, "required": [
        "name", "title", "description", "filters", "limit", "columns", "rows"], "properties": {
        "name": {"type": "string", "enum": list(TABLES)}, "title": {"type": "string"},
        "description": {"type": "string"}, "filters": _FILTERS_ECHO,
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        "columns": {"type": "array", "items": {"type": "object", "required": ["key", "label"], "properties": {
            "key": {"type": "string"}, "label": {"type": "string"}}}},
        "rows": {"type": "array", "items": {"type": "object", "properties": {
            key: {"type": _CELL_TYPES.get(key, ["string", "null"])}
            for columns in TABLE_COLUMNS.values() for key, _ in columns}}},
        "summary": {"type": "object", "required": ["within", "total"],
                    "description": "expiring only: counts per window over all matches.",
                    "properties": {"within": _WINDOWS, "total": {"type": "integer", "minimum": 0}}},
        "as_of": _AS_OF}},
    "AnalyticsFigure": {"oneOf": [{"$ref": "#/components/schemas/AnalyticsChart"},
                                  {"$ref": "#/components/schemas/AnalyticsTable"}]},
}

# ---- request bodies -------------------------------------------------------------------------------------


def body(properties: dict, required: tuple[str, ...] = ()) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


_COURSE_FIELDS = {
    "code": text(40, min_length=1), "title": text(200, min_length=1), "category": text(80, nullable=True),
    "description": text(5000, multiline=True),
    "capacity": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_ID},
    "starts_on": nullable(DATE), "ends_on": nullable(DATE),
}
_CERTIFICATION_FIELDS = {
    "name": text(200, min_length=1), "description": text(5000, multiline=True),
    "status": {"type": "string", "enum": list(CERTIFICATION_STATUSES)},
    "course_ids": id_list(), "min_score": nullable(SCORE), "prerequisite_ids": id_list(),
    "validity_months": {"type": ["integer", "null"], "minimum": 1, "maximum": 1200},
    "renewal_window_days": {"type": "integer", "minimum": 0, "maximum": 3650},
    "reminder_days": REMINDER_DAYS, "issuer_name": text(200), "signatory_name": text(200),
    "signatory_title": text(200), "auto_reenrol": {"type": "boolean"},
    "requirement_groups": {
        "type": "array", "maxItems": 20,
        "description": "Replaces the groups. Without it, `course_ids` + `min_score` mean one \"all of\" "
                       "group (refused, 422, for a certification with other groups).",
        "items": {"type": "object", "additionalProperties": False, "required": ["courses"], "properties": {
            "mode": {"type": "string", "enum": ["all", "any"]},
            "count": {"type": ["integer", "null"], "minimum": 1, "maximum": 100,
                      "description": "For `any`: how many of the courses are needed."},
            "min_score": nullable(SCORE),
            "courses": {"type": "array", "maxItems": 100, "items": {
                "type": "object", "additionalProperties": False, "required": ["course_id"],
                "properties": {"course_id": ID, "min_score": nullable(SCORE)}}}}}},
    "evidence_required": {"type": "boolean"},
    "evidence_instructions": text(5000, multiline=True),
    "assessor_ids": {**id_list(), "maxItems": 50},
}
_ENROLLMENT_FIELDS = {
    "status": {"type": "string", "enum": list(ENROLLMENT_STATUSES)},
    "progress": {"type": "integer", "minimum": 0, "maximum": 100}, "score": nullable(SCORE),
    "completed_at": {**nullable(DATE_TIME),
                     "description": "Not in the future; defaults to now on completion."},
}
_USER_FIELDS = {
    "name": text(200, min_length=1), "role": {"type": "string", "enum": list(ROLES)},
    "department": text(120, nullable=True),
    "job_title": text(120, nullable=True),
    "reads_everything": {"type": "boolean", "description": "Staff: read every department's people (else "
                                                           "only those of the departments they manage)."},
}


def _integration_fields() -> dict:
    """Every template's fields (a template ignores the others'); secrets are write-only."""
    config = {key: text(5000, multiline=key in MULTI_LINE_FIELDS)
              for keys in CONFIG_FIELDS.values() for key in keys}
    config.update({
        "create_users": {"type": "boolean", "description": "Create unknown learners."},
        "company_id": {"type": ["string", "integer"], "maxLength": 20, "minimum": 0, "maximum": MAX_ID,
                       "pattern": SINGLE_LINE_PATTERN, "description": "Moodle: the IOMAD company id."},
        "settle_seconds": {"type": ["integer", "string"], "minimum": 0, "maximum": 86400, "maxLength": 10,
                           "pattern": SINGLE_LINE_PATTERN},
        "location": {"type": "string", "enum": list(LOCATIONS)},
        "signature_scheme": {"type": "string", "enum": ["standard", "github"]},
        "auth_method": {"type": "string", "enum": ["basic", "post"],
                        "description": "OAuth2: how the client secret is sent."},
    })
    secrets = {key: {**text(5000, nullable=True), "writeOnly": True,
                     "description": "Secret: never returned; empty or null keeps the stored one."}
               for key in SECRET_FIELDS}
    return {
        "name": text(120), **config, **secrets,
        "auth_type": {"type": "string", "enum": list(AUTH_TYPES)},
        "event_types": {"type": "array", "items": {"type": "string", "enum": list(EVENT_TYPES)},
                        "maxItems": len(EVENT_TYPES)},
        "condition_certification_id": {**nullable(ID), "description": "Only this certification's events."},
        "condition_department": text(120, nullable=True),
        "sync_every_minutes": {"type": ["integer", "string", "null"], "minimum": 5, "maximum": 10080,
                               "maxLength": 10, "pattern": SINGLE_LINE_PATTERN,
                               "description": "Syncs: minutes between runs; empty or null: on demand only."},
    }


_INTEGRATION_FIELDS = _integration_fields()

BODIES = {
    "PaymentCreate": body({"user_id": ID, "certification_id": ID,
                           "reference": text(200, min_length=1)},
                          ("user_id", "certification_id", "reference")),
    "PaymentRefund": body({"note": text(500, min_length=1)}, ("note",)),
    "CourseCreate": body(_COURSE_FIELDS, ("code", "title")),
    "CourseUpdate": body({**_COURSE_FIELDS, "archived": {
        "type": "boolean", "description": "Archived courses take no new enrollments."}}),
    "CertificationCreate": body(_CERTIFICATION_FIELDS, ("name",)),
    "CertificationUpdate": body(_CERTIFICATION_FIELDS),
    "UserCreate": body({"email": {"type": "string", "format": "email", "minLength": 3, "maxLength": 254,
                                  "pattern": SINGLE_LINE_PATTERN},
                        **_USER_FIELDS,
                        "invite": {"type": "boolean",
                                   "description": "Mail an invitation to set a password."}},
                       ("email", "name")),
    "UserUpdate": body({**_USER_FIELDS, "active": {
        "type": "boolean", "description": "false deactivates: sessions and API tokens stop working."}}),
    "EnrollmentCreate": body({"user_id": ID, "course_id": ID, **_ENROLLMENT_FIELDS},
                             ("user_id", "course_id")),
    "EnrollmentUpdate": body({**_ENROLLMENT_FIELDS, "reopen": {
        "type": "boolean", "default": False,
        "description": "true: move a completed enrollment back to enrolled/in_progress on purpose."}}),
    "Revoke": body({"reason": text(1000, min_length=1, multiline=True)}, ("reason",)),
    "Reissue": body({**_CORRECTION_VALUES, "reason": text(1000, min_length=1, multiline=True)}, ("reason",)),
    "CorrectionRequestCreate": body(
        {**_CORRECTION_VALUES, "reason": text(1000, min_length=1, multiline=True)}, ("reason",)),
    "CorrectionReject": body({"note": text(1000, min_length=1, multiline=True)}, ("note",)),
    "ExpiryChange": body({
        "certificate_ids": {**id_list(), "minItems": 1, "maxItems": 1000},
        "mode": {"type": "string", "enum": ["extend_days", "extend_months", "set_date"]},
        "amount": {"type": "integer", "minimum": 1, "maximum": 3650,
                   "description": "Days (at most 3650) or months (at most 120) to add."},
        "expires_on": {**DATE, "description": "set_date: valid through this day (UTC)."},
        "reason": text(1000, min_length=1, multiline=True)}, ("certificate_ids", "mode", "reason")),
    "EvidenceSubmit": body({
        "text": text(10_000, multiline=True),
        "files": {"type": "array", "maxItems": 5,
                  "description": "PDF, PNG, JPEG or UTF-8 text, checked by content (the extension must "
                                 "agree); 10 MB each at most, the request within MAX_UPLOAD_MB.",
                  "items": {"type": "object", "additionalProperties": False,
                            "required": ["filename", "content_base64"], "properties": {
                                "filename": text(200, min_length=1),
                                "content_base64": {"type": "string", "maxLength": 14_000_000,
                                                   "pattern": "^[A-Za-z0-9+/=\\s]*$"}}}}}),
    "EvidenceReview": body({"decision": {"type": "string", "enum": ["approve", "reject"]},
                            "comment": text(2000, multiline=True)}, ("decision",)),
    "Empty": body({}),
    "IntegrationCreate": body({"type": {"type": "string", "enum": list(INTEGRATION_TYPES),
                                        "description": "The template."}, **_INTEGRATION_FIELDS}, ("type",)),
    "IntegrationUpdate": body(_INTEGRATION_FIELDS),
    "Replay": body({"since": {**DATE_TIME, "description": "Failed deliveries created from then on."}},
                   ("since",)),
}
