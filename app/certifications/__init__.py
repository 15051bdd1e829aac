"""Certification lifecycle pages: courses, certifications, enrollments, learners, certificates, CSV import.

One blueprint, `bp`, with routes spread over a module per area; `views.py` imports them all.
"""

from flask import Blueprint

bp = Blueprint("certifications", __name__)
