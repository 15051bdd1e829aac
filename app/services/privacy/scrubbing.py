"""Replace a person's name and addresses in every text and JSON column of every table.

The erasure (erasure.py) first handles the tables it knows (users, certificates, sessions, ...); this
pass then catches the copies nobody thought of: audit summaries and details, mail bodies, webhook
payloads, sync and integration logs, and the tables other features add later (the columns come from
the SQLAlchemy metadata, so a new table is covered without a change here). Set-based: one UPDATE per
text column, and for JSON columns only the rows whose text contains a needle are loaded.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, LargeBinary, String, Table, Text, cast, func, or_, select, update

from app.extensions import db

# Configuration, not records about people: a name that happens to match must never rewrite a course
# title or a template. `users` and `certificates` are handled row by row for the erased person only
# (another person with the same name keeps theirs).
SKIPPED_TABLES = frozenset({
    "alembic_version", "users", "certificates", "courses", "certifications", "certification_courses",
    "certification_prerequisites", "certificate_templates", "template_assets", "departments",
    "email_texts", "organisation_settings", "privacy_settings", "integrations", "oidc_providers",
    "saml_providers", "saml_service_keys", "scim_directories", "signing_keys", "pdf_signing_identities",
    "pdf_signing_settings", "badge_images", "status_list_entries", "erasures",
})
#: Shorter names are not replaced in free text (they would match inside ordinary words).
MIN_NAME_LENGTH = 4


def replace_everywhere(replacements: dict[str, str]) -> int:
    """Replace each key by its value in every scrubbed column; returns how many rows changed."""
    needles = {k: v for k, v in replacements.items() if k and k != v}
    if not needles:
        return 0
    changed = 0
    for table in db.metadata.sorted_tables:
        if table.name in SKIPPED_TABLES:
            continue
        for column in table.columns:
            if isinstance(column.type, JSON):
                changed += _scrub_json(table, column, needles)
            elif isinstance(column.type, String | Text) and not isinstance(column.type, LargeBinary):
                changed += _scrub_text(table, column, needles)
    return changed


def _scrub_text(table: Table, column, needles: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    value = column
    for needle, replacement in needles.items():
        value = func.replace(value, needle, replacement)
    if getattr(column.type, "length", None):
        value = func.substr(value, 1, column.type.length)  # a longer stand-in must still fit the column
    result = db.session.execute(
        update(table).where(or_(*(column.contains(n, autoescape=True) for n in needles)))
        .values({column.name: value}).execution_options(synchronize_session=False))
    return result.rowcount or 0


def _json_forms(needle: str) -> set[str]:
    """The needle as it may appear in stored JSON text: raw, and with non-ASCII escaped."""
    return {needle, json.dumps(needle)[1:-1]}


def _scrub_json(table: Table, column, needles: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    primary = list(table.primary_key.columns)
    if not primary:
        return 0
    as_text = cast(column, Text)
    forms = [f for n in needles for f in _json_forms(n)]
    rows = db.session.execute(select(*primary, column).where(
        or_(*(as_text.contains(f, autoescape=True) for f in forms)))).all()
    for row in rows:
        *keys, value = row
        condition = [c == k for c, k in zip(primary, keys, strict=True)]
        db.session.execute(update(table).where(*condition).values({column.name: _replaced(value, needles)})
                           .execution_options(synchronize_session=False))
    return len(rows)


def _replaced(value: Any, needles: dict[str, str]) -> Any:
    if isinstance(value, str):
        for needle, replacement in needles.items():
            value = value.replace(needle, replacement)
        return value
    if isinstance(value, list):
        return [_replaced(v, needles) for v in value]
    if isinstance(value, dict):
        return {_replaced(k, needles): _replaced(v, needles) for k, v in value.items()}
    return value
