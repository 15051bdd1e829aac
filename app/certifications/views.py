"""The certifications blueprint: importing this module attaches every route to `bp`."""

from app.certifications import bp, certificates, courses, enrollments, imports, learners, programs  # noqa: F401
from app.web import nav

__all__ = ["bp"]

nav.add("certifications.courses", "Courses", nav.ADMIN, prefix="certifications.course", order=20)
nav.add("certifications.programs", "Certifications", nav.ADMIN, prefix="certifications.program", order=25)
nav.add("certifications.enrollments", "Enrollments", nav.ADMIN, prefix="certifications.enroll", order=30)
nav.add("certifications.certificates_list", "Certificates", nav.STAFF, prefix="certifications.certificate",
        order=35)
nav.add("certifications.import_csv", "Import", nav.ADMIN, prefix="certifications.import", order=40)
