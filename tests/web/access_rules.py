"""Who may open each endpoint: the one table the authorization matrix test checks.

Every endpoint in `app.url_map` needs an entry here, or tests/web/test_authz_matrix.py fails.
A value is a level name, or a dict {HTTP method: level} when methods differ (e.g. GET for learners,
POST for admins). Levels:

  public       anyone, logged in or not
  login        any logged-in user (anonymous: 302 to /login; API token acts as its user)
  staff        staff-side readers: staff, managers and admins (learners: 403). Managers (and staff
               without the "reads everything" grant) see only their departments' people: other records
               are 404 (tests/accounts/test_manager_scope.py checks what each route shows them)
  manage       changes to people's enrollments and certificates: admins and managers (learners and
               staff: 403); managers only for the people of their departments (others: 404)
  admin        admins only (learners, staff and managers: 403)
  api-public   under /api/, no login needed
  api-login    under /api/, any logged-in user or token (anonymous: 401 problem+json)
  api-staff    under /api/, staff, managers and admins (anonymous 401, learners 403)
  api-manage   under /api/, managers and admins (anonymous 401, learners and staff 403)
  api-admin    under /api/, admins only (anonymous 401, learners, staff and managers 403)
  api-token    under /api/, bearer tokens only (browser sessions and anonymous: 401)
  scim-token   under /scim/v2, a SCIM directory's token only (sessions, API tokens, anonymous: 401)

The "manager" column is a manager of one department (with people in it); "staff" has the grant.
"""

from __future__ import annotations

ROLES = ("anonymous", "learner", "staff", "manager", "admin", "token")  # "token": an admin's API token

# level -> role -> expected: "ok" (not refused), "login" (302 to the login page), 401 or 403
LEVELS: dict[str, dict[str, object]] = {
    "public": dict.fromkeys(ROLES, "ok"),
    "login": {"anonymous": "login", "learner": "ok", "staff": "ok", "manager": "ok", "admin": "ok",
              "token": "ok"},
    "staff": {"anonymous": "login", "learner": 403, "staff": "ok", "manager": "ok", "admin": "ok",
              "token": "ok"},
    "manage": {"anonymous": "login", "learner": 403, "staff": 403, "manager": "ok", "admin": "ok",
               "token": "ok"},
    "admin": {"anonymous": "login", "learner": 403, "staff": 403, "manager": 403, "admin": "ok",
              "token": "ok"},
    "api-public": dict.fromkeys(ROLES, "ok"),
    "api-login": {"anonymous": 401, "learner": "ok", "staff": "ok", "manager": "ok", "admin": "ok",
                  "token": "ok"},
    "api-staff": {"anonymous": 401, "learner": 403, "staff": "ok", "manager": "ok", "admin": "ok",
                  "token": "ok"},
    "api-manage": {"anonymous": 401, "learner": 403, "staff": 403, "manager": "ok", "admin": "ok",
                   "token": "ok"},
    "api-admin": {"anonymous": 401, "learner": 403, "staff": 403, "manager": 403, "admin": "ok",
                  "token": "ok"},
    "api-token": {"anonymous": 401, "learner": 401, "staff": 401, "manager": 401, "admin": 401,
                  "token": "ok"},
    "scim-token": dict.fromkeys(ROLES, 401),
}

RULES: dict[str, str | dict[str, str]] = {
    "static": "public",
    # auth
    "accounts.login": "public",
    "accounts.logout": "login",
    "accounts.forgot_password": "public",
    "accounts.reset_password": "public",
    "accounts.set_password": "public",
    "accounts.profile": "login",
    "accounts.update_profile": "login",
    # the learner's data rights (issue 15 item 6)
    "privacy.my_data": "login",
    "privacy.request_my_export": "login",
    "privacy.download_export": "login",
    "privacy.admin_page": "admin",
    "privacy.admin_person": "admin",
    "privacy.admin_export_person": "admin",
    "privacy.admin_erase_person": "admin",
    "accounts.change_password": "login",
    "accounts.create_token": "login",
    "accounts.revoke_token": "login",
    "accounts.end_session": "login",
    "accounts.end_other_sessions": "login",
    # two-factor sign-in: the second step and passkey sign-in come before any login
    "accounts.login_verify": "public",
    "accounts.verify_passkey_options": "public",
    "accounts.verify_passkey": "public",
    "accounts.passkey_login_options": "public",
    "accounts.passkey_login": "public",
    "accounts.two_factor": "login",
    "accounts.start_totp": "login",
    "accounts.confirm_totp": "login",
    "accounts.disable_totp": "login",
    "accounts.regenerate_recovery_codes": "login",
    "accounts.passkey_options": "login",
    "accounts.add_passkey": "login",
    "accounts.remove_passkey": "login",
    "admin.security_settings": "admin",
    "admin.reset_mfa": "admin",
    # dashboard
    "dashboard.index": "login",
    "dashboard.healthz": "public",
    # admin
    "admin.users": "admin",
    "admin.user_row": "admin",
    "admin.end_user_sessions": "admin",
    "admin.edit_user_row": "admin",
    "admin.update_user": "admin",
    "admin.invite_user": "admin",
    "admin.export_users": "admin",
    "admin.mail_log": "admin",
    "admin.settings": "admin",
    # identity: single sign-on (the provider's random public id is the only id in the public URLs)
    "identity.oidc_start": "public",
    "identity.oidc_callback": "public",
    "identity.sign_in_admin": "admin",
    "identity.sign_in_policy": "admin",
    "identity.provider_new": "admin",
    "identity.provider_edit": "admin",
    "identity.provider_test": "admin",
    "identity.provider_enabled": "admin",
    "admin.pdf_signing_page": "admin",
    "admin.upload_signing_certificate": "admin",
    "admin.use_self_issued_certificate": "admin",
    "admin.set_timestamp_server": "admin",
    "admin.mail_detail": "admin",
    "admin.resend_mail": "admin",
    "admin.audit": "admin",
    # departments (issue 13): the tree and its managers are admins' business
    "admin.departments_page": "admin",
    "admin.department": "admin",
    "admin.department_managers": "admin",
    "admin.delete_department": "admin",
    "lifecycle.learners": "staff",
    # certifications: staff read, admins write
    "lifecycle.courses": "staff",
    "lifecycle.create_course": "admin",
    "lifecycle.course_row": "staff",
    "lifecycle.edit_course": "admin",
    "lifecycle.update_course": "admin",
    "lifecycle.delete_course": "admin",
    "lifecycle.archive_course": "admin",
    "lifecycle.certifications": "staff",
    "lifecycle.create_certification": "admin",
    "lifecycle.certification_row": "staff",
    "lifecycle.certification_detail": "staff",
    "lifecycle.edit_certification": "admin",
    "lifecycle.update_certification": "admin",
    "lifecycle.delete_certification": "admin",
    "lifecycle.archive_certification": "admin",
    "lifecycle.enrollments": "staff",
    "lifecycle.course_enrollments": "staff",
    "lifecycle.enroll_candidates": "manage",
    "lifecycle.enroll": "manage",
    "lifecycle.enrollment_row": "staff",
    "lifecycle.edit_enrollment": "manage",
    "lifecycle.update_enrollment": "manage",
    "lifecycle.withdraw_enrollment": "manage",
    "lifecycle.certificates_list": "staff",
    "lifecycle.export_certificates": "staff",
    "lifecycle.certificate_detail": "staff",
    "lifecycle.revoke_certificate": "manage",
    "lifecycle.reinstate_certificate": "manage",
    "lifecycle.resend_certificate_email": "manage",
    "lifecycle.learner": "staff",
    "lifecycle.issue_certificate": "manage",
    "lifecycle.import_csv": "admin",
    "lifecycle.preview_import": "admin",
    "lifecycle.confirm_import": "admin",
    "lifecycle.import_sample": "admin",
    "dashboard.tiles": "staff",
    # public verification
    "verify.lookup": "public",
    "verify.show": "public",
    "verify.show_json": "public",
    "verify.picture": "public",
    "verify.check_file": "public",
    # credentials: the issuer identity and each certificate's Open Badges 3.0 credential are public documents
    "credentials.issuer_profile": "public",
    "credentials.did_document": "public",
    "credentials.did_document_under_path": "public",
    "credentials.credential": "public",
    "credentials.credential_jwt": "public",
    "credentials.admin": "admin",
    "credentials.admin_rotate": "admin",
    "credentials.status_list": "public",
    "branding.stylesheet": "public",
    "branding.logo": "public",
    # sharing, notifications, email previews
    "sharing.my_certificates": "login",
    "sharing.toggle_public": "login",
    "sharing.share_email": "login",
    "sharing.linkedin": "login",
    "sharing.public_page": "public",
    # public profiles, embeddable badges, wallets (issue 14)
    "sharing.public_profile_settings": "login",
    "sharing.save_public_profile": "login",
    "sharing.public_profile": "public",
    "sharing.embed_card": "public",
    "sharing.embed_badge": "public",
    "sharing.oembed": "public",
    "sharing.embed_controls": "login",
    "sharing.wallet_page": "login",
    "sharing.open_wallet_exchange": "login",
    "sharing.exchange": {"GET": "public", "POST": "public"},  # wallets: the one-time token is the credential
    "messaging.bell": "login",
    "messaging.live_stream": "public",  # signed out: 204 (EventSource stops); signed in: the stream
    "messaging.notification_list": "login",
    "messaging.read_notification": "login",
    "messaging.read_all_notifications": "login",
    "messaging.email_previews": "admin",
    "messaging.email_preview_detail": "admin",
    "messaging.email_preview_html": "admin",
    "messaging.email_text_edit": "admin",
    "messaging.email_text_preview": "admin",
    "messaging.email_text_preview_html": "admin",
    "messaging.email_text_reset": "admin",
    "admin.mail_html": "admin",
    # REST API v1 (tokens or a browser session; learners see only their own rows, admins write)
    "api.openapi_document": "api-public",
    "api.verify_file": "api-public",
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
    "api.create_enrollment": "api-manage",
    "api.get_enrollment": "api-login",
    "api.update_enrollment": "api-manage",
    "api.list_certificates": "api-login",
    "api.get_certificate": "api-login",
    "api.revoke_certificate": "api-manage",
    "api.reinstate_certificate": "api-manage",
    "api.get_stats": "api-staff",
    "api.certificate_pdf": "api-login",
    "api.certificate_credential": "api-login",
    "api.regenerate_certificate_pdf": "api-staff",
    "api.regenerate_certification_pdfs": "api-admin",
    # analytics
    "analytics.index": "staff",
    "analytics.export": "staff",
    "analytics.figure": "staff",
    "analytics.report_subscription": "admin",
    "api.analytics_index": "api-staff",
    "api.analytics_figure": "api-staff",
    # documents: templates, PDFs, exports
    "documents.templates": "admin",
    "documents.template_new": "admin",
    "documents.template_edit": "admin",
    "documents.template_delete": "admin",
    "documents.template_preview": "admin",
    "documents.template_preview_pdf": "admin",
    "documents.template_start": "admin",
    "documents.starter_image": "admin",
    "documents.design_preview": "admin",
    "documents.designer_font": "admin",
    "documents.asset_upload": "admin",
    "documents.asset_delete": "admin",
    "documents.asset_image": "admin",
    "documents.certificate_pdf": "login",
    "documents.pdf_status": "login",
    "documents.public_pdf": "public",
    "documents.regenerate": "staff",
    "documents.certification_documents": "admin",
    "documents.assign_template": "admin",
    "documents.regenerate_all": "admin",
    "documents.start_export": "admin",
    "documents.export": "admin",
    "documents.export_download": "admin",
    # integrations (signed incoming hooks are public: the signature is the credential)
    "hooks.incoming": "public",
    "api.list_integrations": "api-admin",
    "api.create_integration": "api-admin",
    "api.integrations_health": "api-admin",
    "api.get_integration": "api-admin",
    "api.update_integration": "api-admin",
    "api.delete_integration": "api-admin",
    "api.test_integration": "api-admin",
    "api.activate_integration": "api-admin",
    "api.deactivate_integration": "api-admin",
    "api.sync_integration": "api-admin",
    "api.integration_logs": "api-admin",
    "api.integration_deliveries": "api-admin",
    "api.replay_deliveries": "api-admin",
    "api.get_delivery": "api-admin",
    "api.redeliver_delivery": "api-admin",
    "api.list_pdf_copies": "api-admin",
    "api.retry_failed_pdf_copies": "api-admin",
    "api.retry_pdf_copy": "api-admin",
    "integrations.index": "admin",
    "integrations.choose": "admin",
    "integrations.create": "admin",
    "integrations.detail": "admin",
    "integrations.edit": "admin",
    "integrations.toggle": "admin",
    "integrations.delete": "admin",
    "integrations.test": "admin",
    "integrations.sync_now": "admin",
    "integrations.rotate_secret": "admin",
    "integrations.retry_exports": "admin",
    "integrations.logs": "admin",
    "integrations.deliveries": "admin",
    "integrations.delivery": "admin",
    "integrations.redeliver": "admin",
    "integrations.replay": "admin",
    "integrations.health": "admin",
    # credentials: badge images and Open Badges 2.0 (app/views/credentials/badges.py)
    "credentials.upload_badge": "admin",
    "credentials.remove_badge": "admin",
    "credentials.badge_png": "public",
    "credentials.badge_svg": "public",
    "credentials.ob2_assertion": "public",
    "credentials.ob2_baked": "public",
    "credentials.ob3_baked": "public",
    "credentials.ob2_badge_class": "public",
    "credentials.ob2_issuer": "public",
    # SCIM provisioning (app/views/identity/scim.py): each directory's own bearer token, nothing else
    **{f"scim.{name}": "scim-token" for name in (
        "serviceproviderconfig", "resourcetypes", "resourcetypes_name", "schemas", "schemas_path_schema_id",
        "users", "users_search", "users_scim_id", "groups", "groups_search", "groups_scim_id", "search",
        "root", "path_rest")},
    "identity.directories": "admin",
    "identity.directory_create": "admin",
    "identity.directory_revoke": "admin",
    # identity: SAML single sign-on (the IdP's signed assertion / message is the credential)
    "identity.saml_metadata": "public",
    "identity.saml_login": "public",
    "identity.saml_acs": "public",
    "identity.saml_slo": "public",
    "identity.saml_provider_new": "admin",
    "identity.saml_provider_edit": "admin",
    "identity.saml_provider_enabled": "admin",
}

# Endpoints that end the session they are called with: the matrix uses a fresh login for them.
ENDS_SESSION = {"accounts.logout", "accounts.end_other_sessions"}

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
