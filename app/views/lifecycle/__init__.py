"""Certification lifecycle pages: courses, certifications, enrollments, learners, certificates, CSV import.

`bp` lives here, with routes spread over a module per area; `routes.py` imports them all and adds
the navigation entries.
"""

from flask import Blueprint

bp = Blueprint("lifecycle", __name__)
