"""Compliance pages: the matrix (staff, scoped), requirements and exemptions (admins).

`bp` lives here; the route modules import it (routes)."""

from flask import Blueprint

bp = Blueprint("compliance", __name__, url_prefix="/compliance")
