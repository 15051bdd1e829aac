"""Who may open each endpoint: the one table the authorization matrix test checks.

Every endpoint in `app.url_map` needs an entry here, or tests/foundation/test_authz_matrix.py fails.
A value is a level name, or a dict {HTTP method: level} when methods differ (e.g. GET for learners,
POST for admins). Levels:

  public       anyone, logged in or not
  login        any logged-in user (anonymous: 302 to /login; API token acts as its user)
  staff        staff and admins (learners: 403)
  admin        admins only (learners and staff: 403)
  api-public   under /api/, no login needed
  api-login    under /api/, any logged-in user or token (anonymous: 401 problem+json)
  api-staff    under /api/, staff and admins (anonymous 401, learners 403)
  api-admin    under /api/, admins only (anonymous 401, learners and staff 403)
  api-token    under /api/, bearer tokens only (browser sessions and anonymous: 401)
"""

from __future__ import annotations

ROLES = ("anonymous", "learner", "staff", "admin", "token")  # "token": an admin's API token

# level -> role -> expected: "ok" (not refused), "login" (302 to the login page), 401 or 403
LEVELS: dict[str, dict[str, object]] = {
    "public": dict.fromkeys(ROLES, "ok"),
    "login": {"anonymous": "login", "learner": "ok", "staff": "ok", "admin": "ok", "token": "ok"},
    "staff": {"anonymous": "login", "learner": 403, "staff": "ok", "admin": "ok", "token": "ok"},
    "admin": {"anonymous": "login", "learner": 403, "staff": 403, "admin": "ok", "token": "ok"},
    "api-public": dict.fromkeys(ROLES, "ok"),
    "api-login": {"anonymous": 401, "learner": "ok", "staff": "ok", "admin": "ok", "token": "ok"},
    "api-staff": {"anonymous": 401, "learner": 403, "staff": "ok", "admin": "ok", "token": "ok"},
    "api-admin": {"anonymous": 401, "learner": 403, "staff": 403, "admin": "ok", "token": "ok"},
    "api-token": {"anonymous": 401, "learner": 401, "staff": 401, "admin": 401, "token": "ok"},
}

RULES: dict[str, str | dict[str, str]] = {
    "static": "public",
    # auth
    "auth.login": "public",
    "auth.logout": "login",
    "auth.forgot_password": "public",
    "auth.reset_password": "public",
    "auth.set_password": "public",
    "auth.profile": "login",
    "auth.update_profile": "login",
    "auth.change_password": "login",
    "auth.create_token": "login",
    "auth.revoke_token": "login",
    # dashboard
    "dashboard.index": "login",
    "dashboard.healthz": "public",
    # admin
    "admin.users": "admin",
    "admin.user_row": "admin",
    "admin.edit_user_row": "admin",
    "admin.update_user": "admin",
    "admin.invite_user": "admin",
    "admin.export_users": "admin",
    "admin.mail_log": "admin",
    "admin.mail_detail": "admin",
    "admin.resend_mail": "admin",
    "admin.audit": "admin",
    # certifications: staff read, admins write
    "certifications.courses": "staff",
    "certifications.create_course": "admin",
    "certifications.course_row": "staff",
    "certifications.edit_course": "admin",
    "certifications.update_course": "admin",
    "certifications.delete_course": "admin",
    "certifications.archive_course": "admin",
    "certifications.programs": "staff",
    "certifications.create_program": "admin",
    "certifications.program_row": "staff",
    "certifications.program_detail": "staff",
    "certifications.edit_program": "admin",
    "certifications.update_program": "admin",
    "certifications.delete_program": "admin",
    "certifications.archive_program": "admin",
    "certifications.enrollments": "staff",
    "certifications.course_enrollments": "staff",
    "certifications.enroll_candidates": "admin",
    "certifications.enroll": "admin",
    "certifications.enrollment_row": "staff",
    "certifications.edit_enrollment": "admin",
    "certifications.update_enrollment": "admin",
    "certifications.withdraw_enrollment": "admin",
    "certifications.certificates_list": "staff",
    "certifications.export_certificates": "staff",
    "certifications.certificate_detail": "staff",
    "certifications.revoke_certificate": "admin",
    "certifications.reinstate_certificate": "admin",
    "certifications.learner": "staff",
    "certifications.issue_certificate": "admin",
    "certifications.import_csv": "admin",
    "certifications.preview_import": "admin",
    "certifications.confirm_import": "admin",
    "certifications.import_sample": "admin",
    "dashboard.tiles": "staff",
    # public verification
    "verify.lookup": "public",
    "verify.show": "public",
    "verify.show_json": "public",
    # sharing, notifications, email previews
    "sharing.my_certificates": "login",
    "sharing.toggle_public": "login",
    "sharing.share_email": "login",
    "sharing.linkedin": "login",
    "sharing.public_page": "public",
    "sharing.bell": "login",
    "sharing.notification_list": "login",
    "sharing.read_notification": "login",
    "sharing.read_all_notifications": "login",
    "sharing.email_previews": "admin",
    "sharing.email_preview_detail": "admin",
    "sharing.email_preview_html": "admin",
    # REST API v1 (tokens or a browser session; learners see only their own rows, admins write)
    "api.openapi_document": "api-public",
    "api.me": "api-login",
    "api.list_users": "api-staff",
    "api.create_user": "api-admin",
    "api.get_user": "api-login",
    "api.update_user": "api-admin",
    "api.list_courses": "api-login",
    "api.create_course": "api-admin",
    "api.get_course": "api-login",
    "api.update_course": "api-admin",
    "api.delete_course": "api-admin",
    "api.list_certifications": "api-login",
    "api.create_certification": "api-admin",
    "api.get_certification": "api-login",
    "api.update_certification": "api-admin",
    "api.delete_certification": "api-admin",
    "api.list_enrollments": "api-login",
    "api.create_enrollment": "api-admin",
    "api.get_enrollment": "api-login",
    "api.update_enrollment": "api-admin",
    "api.list_certificates": "api-login",
    "api.get_certificate": "api-login",
    "api.revoke_certificate": "api-admin",
    "api.reinstate_certificate": "api-admin",
    "api.get_stats": "api-staff",
    "api.certificate_pdf": "api-login",
    # analytics
    "analytics.index": "staff",
    "analytics.export": "staff",
    "analytics.figure": "staff",
    "analytics.report_subscription": "admin",
    "analytics_api.index": "api-staff",
    "analytics_api.figure": "api-staff",
    # documents: templates, PDFs, exports
    "documents_web.templates": "admin",
    "documents_web.template_new": "admin",
    "documents_web.template_edit": "admin",
    "documents_web.template_delete": "admin",
    "documents_web.template_preview": "admin",
    "documents_web.template_preview_pdf": "admin",
    "documents_web.asset_upload": "admin",
    "documents_web.asset_delete": "admin",
    "documents_web.asset_image": "admin",
    "documents_web.certificate_pdf": "login",
    "documents_web.pdf_status": "login",
    "documents_web.public_pdf": "public",
    "documents_web.regenerate": "staff",
    "documents_web.certification_documents": "admin",
    "documents_web.assign_template": "admin",
    "documents_web.regenerate_all": "admin",
    "documents_web.start_export": "admin",
    "documents_web.export": "admin",
    "documents_web.export_download": "admin",
    # integrations (signed incoming hooks are public: the signature is the credential)
    "hooks.incoming": "public",
    "integrations_api.list_integrations": "api-admin",
    "integrations_api.create_integration": "api-admin",
    "integrations_api.health": "api-admin",
    "integrations_api.get_integration": "api-admin",
    "integrations_api.update_integration": "api-admin",
    "integrations_api.delete_integration": "api-admin",
    "integrations_api.test_integration": "api-admin",
    "integrations_api.activate": "api-admin",
    "integrations_api.deactivate": "api-admin",
    "integrations_api.logs": "api-admin",
    "integrations_api.deliveries": "api-admin",
    "integrations_web.index": "admin",
    "integrations_web.choose": "admin",
    "integrations_web.create": "admin",
    "integrations_web.detail": "admin",
    "integrations_web.edit": "admin",
    "integrations_web.toggle": "admin",
    "integrations_web.delete": "admin",
    "integrations_web.test": "admin",
    "integrations_web.sync_now": "admin",
    "integrations_web.rotate_secret": "admin",
    "integrations_web.retry_exports": "admin",
    "integrations_web.logs": "admin",
    "integrations_web.deliveries": "admin",
    "integrations_web.delivery": "admin",
    "integrations_web.redeliver": "admin",
    "integrations_web.replay": "admin",
    "integrations_web.health": "admin",
}

# Endpoints that end the session they are called with: the matrix uses a fresh login for them.
ENDS_SESSION = {"auth.logout"}

# Dummy values for URL converters ("any" takes its first choice).
DUMMY_VALUES = {
    "IntegerConverter": 987654, "IdConverter": 987654,
    "FloatConverter": 1.5,
    "UUIDConverter": "00000000-0000-4000-8000-000000000000",
    "PathConverter": "no/such/file.txt",
    "UnicodeConverter": "dummy",
}
# Per endpoint/argument overrides when a generic dummy would not reach the view.
DUMMY_OVERRIDES: dict[tuple[str, str], object] = {}


def level_for(endpoint: str, method: str) -> str | None:
    entry = RULES.get(endpoint)
    if isinstance(entry, dict):
        return entry.get(method)
    return entry
