"""Fixtures for certificate documents: fresh local storage per test, a certification, certificates."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest

from app.extensions import db
from app.services.lifecycle import catalog, issuing


@pytest.fixture(autouse=True)
def fresh_storage(app, tmp_path):
    """Each test stores PDFs and images in its own folder (local backend)."""
    from app.services.documents import rendering

    root = tmp_path / "files"
    saved = {k: app.config.get(k) for k in ("STORAGE_BACKEND", "STORAGE_ROOT")}
    app.config.update(STORAGE_BACKEND="local", STORAGE_ROOT=str(root))
    app.extensions.pop("laurel_storage", None)
    rendering._image_cache.clear()
    yield root
    app.config.update(saved)
    app.extensions.pop("laurel_storage", None)


@pytest.fixture
def certification():
    course = catalog.create_course({"code": "FA-101", "title": "Emergency First Aid"}, actor="test")
    cert = catalog.create_certification(
        {"name": "Workplace First Aider", "status": "active", "course_ids": [course.id],
         "validity_months": 24, "issuer_name": "Health & Safety",
         "signatory_name": "Dr. Jane Roe", "signatory_title": "Director"},
        actor="test")
    db.session.commit()
    return cert


@pytest.fixture
def issue(certification):
    """issue(user) -> Certificate, committed (so its render job is enqueued)."""

    def do_issue(user, certification_=None):
        row = issuing.issue(user, certification_ or certification, actor="test", note="test issue")
        db.session.commit()
        return row

    return do_issue


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def stored_files(root: Path, pattern: str = "certificates/**/*.pdf") -> list[Path]:
    return sorted(p for p in root.glob(pattern) if p.is_file())
