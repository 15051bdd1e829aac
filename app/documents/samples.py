"""Sample data for certificate templates: what the designer's preview shows, the minimal context
(optional values empty) and the worst case (longest names, most courses, largest images) that
validation renders before a template is saved.
"""

from __future__ import annotations

import base64
import datetime as dt
import mimetypes
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.documents.placeholders import OPTIONAL_DEFAULTS
from app.documents.qr import qr_data_uri


@lru_cache(maxsize=4)
def _sample_qr(url: str) -> str:
    # Validation renders the samples four times per save: the QR code costs more than the render.
    return qr_data_uri(url)


def sample_context() -> dict[str, Any]:
    """Realistic data for template previews and the trial render in :func:`validate_template`."""
    verify_url = "https://certs.example.org/verify/q3V8xK2mR7tZ9wLpA1bC4d"
    return {
        "holder_name": "Zoë Ångström-Núñez",
        "certification_name": "Certified Workplace First Aider",
        "courses": [
            {"code": "FA-101", "title": "Emergency First Aid at Work"},
            {"code": "FA-205", "title": "Paediatric First Aid"},
            {"code": "HS-110", "title": "Manual Handling and Safe Lifting"},
        ],
        "score": 92.5,
        "issued_on": dt.date(2026, 3, 14),
        "expires_on": dt.date(2029, 3, 14),
        "serial": "LAU-2026-000123",
        "verify_url": verify_url,
        "qr_data_uri": _sample_qr(verify_url),
        "issuer_name": "Learning & Development",
        "signatory_name": "Dr. Margaret O'Connell",
        "signatory_title": "Head of Training",
        "organisation_name": "Northbridge College",
        "logo_url": None,
        "signature_url": None,
        "background_url": None,
        "page_size": "A4",
        "orientation": "landscape",
    }


def minimal_context() -> dict[str, Any]:
    """Sample data with every optional value absent, to catch templates that assume them."""
    ctx = sample_context()
    ctx.update(OPTIONAL_DEFAULTS)
    return ctx


#: The longest values the database holds (String(200) columns), with characters that grow when
#: escaped, and a certification with many courses: what a template must survive.
LONGEST_NAME = ("Ångström-O'Connell & <Núñez> " * 8)[:200]
WORST_CASE_COURSES = tuple(
    {"code": f"COURSE-{n:03d}-" + "X" * 28, "title": (f"{n}. " + LONGEST_NAME)[:200]} for n in range(100)
)
#: A data URI of the largest image an admin can upload (2 MB of PNG, base64-encoded).
WORST_CASE_IMAGE = "data:image/png;base64," + "A" * (2 * 1024 * 1024 * 4 // 3)


def worst_case_context(*, images: bool) -> dict[str, Any]:
    """Sample data at its largest: every name as long as the database allows, 100 courses, and
    (with ``images``) the largest uploads -- templates that loop over or repeat a value blow up
    here rather than on a real certificate."""
    ctx = sample_context()
    for key in ("holder_name", "certification_name", "issuer_name", "signatory_name", "signatory_title",
                "organisation_name"):
        ctx[key] = LONGEST_NAME
    ctx.update(courses=list(WORST_CASE_COURSES), score=100.0, serial="LAU-2026-" + "9" * 12,
               verify_url="https://" + "v" * 180 + ".example.org/verify/" + "q" * 22)
    ctx["qr_data_uri"] = _sample_qr(ctx["verify_url"])
    if images:
        ctx.update(logo_url=WORST_CASE_IMAGE, signature_url=WORST_CASE_IMAGE, background_url=WORST_CASE_IMAGE)
    return ctx


def file_data_uri(path: Path) -> str:
    """Read an image file (e.g. an uploaded logo) and return it as a base64 data URI."""
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if not mime.startswith("image/"):
        raise ValueError(f"{path.name} is not an image")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


#: Long real names in several scripts: the designer checks every text box against them before a
#: design is saved, so a name that would not fit is flagged in the editor, not found on paper.
LONG_NAMES: dict[str, str] = {
    "a 60-character Latin name": "Maximilian Alexander Konstantin von Hohenzollern-Sigmaringen",
    "a 60-character name with diacritics": "María de los Ángeles Fernández-Villaverde y Núñez de Córdoba",
    "a long Greek name": "Αικατερίνη Παπαδοπούλου-Χατζηγεωργίου",
    "a long Cyrillic name": "Александра Константиновна Преображенская-Воскресенская",
    "a long Arabic name": "عبد الرحمن بن محمد بن عبد العزيز آل سعود",
    "a Chinese name": "愛新覺羅·溥儀",
    "a Japanese name": "勅使河原 三郎左衛門",
}
#: A long but real certification name, checked the same way.
LONG_CERTIFICATION = "Advanced Paediatric Emergency First Aid and Resuscitation (Level 3, Ofqual)"


def long_value_contexts() -> dict[str, dict[str, Any]]:
    """label -> sample data with one long value: what the overflow check measures."""
    contexts = {label: {**sample_context(), "holder_name": name} for label, name in LONG_NAMES.items()}
    contexts["a long certification name"] = {**sample_context(), "certification_name": LONG_CERTIFICATION}
    return contexts
