"""JSON Schemas of the API's resources and request bodies: one source for validation and the OpenAPI document.

Request bodies are checked against these schemas (app/api/validation.py) before a service sees them, so
the document cannot promise one thing and the code accept another. Services still apply the business
rules (unique codes, unknown ids, cycles) and answer with a field map the API returns as 422.
"""

from __future__ import annotations

from app.models import CERTIFICATE_STATUSES, CERTIFICATION_STATUSES, ENROLLMENT_STATUSES, ROLES
from app.models.certificate import PDF_STATES
from app.services.numbers import MAX_ID  # ids are 32-bit integers on PostgreSQL; larger ones never match

ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
NO_NUL = "^[^\\u0000]*$"  # PostgreSQL text cannot hold NUL characters
DATE_TIME = {"type": "string", "format": "date-time"}
DATE = {"type": "string", "format": "date"}


def text(max_length: int, *, min_length: int = 0, nullable: bool = False) -> dict:
    schema: dict = {"type": ["string", "null"] if nullable else "string", "maxLength": max_length,
                    "pattern": NO_NUL}
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
}}

USER = {"type": "object", "properties": {
    "id": ID, "email": {"type": "string", "format": "email"}, "name": {"type": "string"},
    "role": {"type": "string", "enum": list(ROLES)}, "department": {"type": ["string", "null"]},
    "active": {"type": "boolean"},
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

RESOURCES = {"Course": COURSE, "Certification": CERTIFICATION, "User": USER, "Enrollment": ENROLLMENT,
             "Certificate": CERTIFICATE}

for _schema in RESOURCES.values():
    _schema["required"] = list(_schema["properties"])
STATS["required"] = list(STATS["properties"])

# ---- request bodies -------------------------------------------------------------------------------------


def body(properties: dict, required: tuple[str, ...] = ()) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


_COURSE_FIELDS = {
    "code": text(40, min_length=1), "title": text(200, min_length=1), "category": text(80, nullable=True),
    "description": text(5000), "capacity": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_ID},
    "starts_on": nullable(DATE), "ends_on": nullable(DATE),
}
_CERTIFICATION_FIELDS = {
    "name": text(200, min_length=1), "description": text(5000),
    "status": {"type": "string", "enum": list(CERTIFICATION_STATUSES)},
    "course_ids": id_list(), "min_score": nullable(SCORE), "prerequisite_ids": id_list(),
    "validity_months": {"type": ["integer", "null"], "minimum": 1, "maximum": 1200},
    "renewal_window_days": {"type": "integer", "minimum": 0, "maximum": 3650},
    "reminder_days": REMINDER_DAYS, "issuer_name": text(200), "signatory_name": text(200),
    "signatory_title": text(200),
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
}

BODIES = {
    "CourseCreate": body(_COURSE_FIELDS, ("code", "title")),
    "CourseUpdate": body({**_COURSE_FIELDS, "archived": {
        "type": "boolean", "description": "Archived courses take no new enrollments."}}),
    "CertificationCreate": body(_CERTIFICATION_FIELDS, ("name",)),
    "CertificationUpdate": body(_CERTIFICATION_FIELDS),
    "UserCreate": body({"email": {"type": "string", "format": "email", "minLength": 3, "maxLength": 254,
                                  "pattern": NO_NUL},
                        **_USER_FIELDS,
                        "invite": {"type": "boolean",
                                   "description": "Mail an invitation to set a password."}},
                       ("email", "name")),
    "UserUpdate": body({**_USER_FIELDS, "active": {
        "type": "boolean", "description": "false deactivates: sessions and API tokens stop working."}}),
    "EnrollmentCreate": body({"user_id": ID, "course_id": ID, **_ENROLLMENT_FIELDS},
                             ("user_id", "course_id")),
    "EnrollmentUpdate": body(_ENROLLMENT_FIELDS),
    "Revoke": body({"reason": text(1000, min_length=1)}, ("reason",)),
    "Empty": body({}),
}
