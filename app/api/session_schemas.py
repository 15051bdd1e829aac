"""JSON Schemas of training sessions, registrations and attendance (added to the shared tables of
app/api/schemas.py, so the OpenAPI document, body validation and schemathesis pick them up)."""

from __future__ import annotations

from app.api.schemas import BODIES, DATE_TIME, ID, RESOURCES, RESPONSES, body, nullable, text
from app.models.training import ATTENDANCE, REGISTRATION_STATUSES, SESSION_STATUSES
from app.services.training.checks import MAX_CAPACITY

_TEXT = {"type": "string"}
_COURSE_REF = {"type": "object", "required": ["id", "code", "title"], "properties": {
    "id": ID, "code": _TEXT, "title": _TEXT}}
MOMENT = {**DATE_TIME, "description": "ISO 8601 with an offset (stored and returned in UTC); without an "
                                      "offset "
                                      "it is read in the session's `timezone`."}

SESSION = {"type": "object", "properties": {
    "id": ID, "course_id": ID, "course": _COURSE_REF, "title": _TEXT,
    "starts_at": DATE_TIME, "ends_at": DATE_TIME,
    "timezone": {**_TEXT, "description": "The IANA zone people see the times in."},
    "location": _TEXT, "online_url": _TEXT, "trainer_id": nullable(ID),
    "capacity": {"type": "integer", "minimum": 1}, "registered": {"type": "integer", "minimum": 0},
    "registration_deadline": nullable(DATE_TIME),
    "status": {"type": "string", "enum": list(SESSION_STATUSES)},
    "sequence": {"type": "integer", "minimum": 0, "description": "The iCalendar SEQUENCE of the session."},
}}
REGISTRATION = {"type": "object", "properties": {
    "id": ID, "session_id": ID, "user_id": ID,
    "status": {"type": "string", "enum": list(REGISTRATION_STATUSES)},
    "attendance": {"type": ["string", "null"], "enum": [*ATTENDANCE, None]},
    "checked_in_via": {"type": ["string", "null"], "enum": ["qr", "trainer", None]},
    "attendance_marked_at": nullable(DATE_TIME), "registered_at": DATE_TIME, "course": _COURSE_REF,
    "starts_at": DATE_TIME, "ends_at": DATE_TIME,
}}
for _schema in (SESSION, REGISTRATION):
    _schema["required"] = list(_schema["properties"])

_SESSION_FIELDS = {
    "title": text(200),
    "starts_at": MOMENT, "ends_at": MOMENT,
    "timezone": {**text(64), "description": "An IANA zone name such as Europe/Berlin (default UTC)."},
    "location": text(300), "online_url": {**text(500), "description": "An https:// link, or empty."},
    "trainer_id": {**nullable(ID), "description": "An active staff member or admin."},
    "capacity": {"type": "integer", "minimum": 1, "maximum": MAX_CAPACITY},
    "registration_deadline": nullable(MOMENT),
}

RESOURCES.update({"Session": SESSION, "Registration": REGISTRATION})
RESPONSES.update({"AttendanceResult": {"type": "object", "required": ["changed"],
                                       "additionalProperties": False,
                                       "properties": {"changed": {"type": "integer", "minimum": 0}}}})
BODIES.update({
    "SessionCreate": body({"course_id": ID, **_SESSION_FIELDS},
                          ("course_id", "starts_at", "ends_at", "capacity")),
    "SessionUpdate": body(_SESSION_FIELDS),
    "RegistrationCreate": body({"user_id": {**ID, "description": "Whom to register (default: yourself). "
                                                                 "Admins, and managers for their people."}}),
    "AttendanceMarks": body({"marks": {"type": "array", "minItems": 1, "maxItems": 500, "items": {
        "type": "object", "additionalProperties": False, "required": ["registration_id", "attendance"],
        "properties": {"registration_id": ID, "attendance": {"type": "string", "enum": list(ATTENDANCE)}}}}},
        ("marks",)),
})
