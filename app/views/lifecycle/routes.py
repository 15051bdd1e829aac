"""Importing this module attaches every lifecycle route to `bp` and adds the navigation entries."""

from app.views.lifecycle import (  # noqa: F401
    bp,
    certificates,
    certifications,
    corrections,
    courses,
    enrollments,
    evidence,
    expiry,
    imports,
    learners,
    requirements,
)
from app.web import nav

__all__ = ["bp"]

nav.add("lifecycle.courses", "Courses", nav.MANAGERS, prefix="lifecycle.course", order=20)
nav.add("lifecycle.certifications", "Certifications", nav.ADMIN, prefix="lifecycle.certification", order=25)
nav.add("lifecycle.enrollments", "Enrollments", nav.MANAGERS, prefix="lifecycle.enroll", order=30)
nav.add("lifecycle.learners", "Learners", nav.STAFF, prefix="lifecycle.learner", order=32)
nav.add("lifecycle.certificates_list", "Certificates", nav.STAFF, prefix="lifecycle.certificate",
        order=35)
nav.add("lifecycle.import_csv", "Import", nav.ADMIN, prefix="lifecycle.import", order=40)
nav.add("lifecycle.evidence_queue", "Evidence to review", nav.STAFF, prefix="lifecycle.evidence", order=36)
