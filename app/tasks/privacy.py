"""The data export job (app/services/privacy/exports.py)."""

from __future__ import annotations

from app.extensions import db
from app.services.privacy import exports


def build_export(export_id: int) -> str:
    """Build one "download my data" ZIP; the claim makes a duplicate job do nothing."""
    db.session.commit()
    outcome = exports.build(export_id)
    db.session.commit()
    return outcome
