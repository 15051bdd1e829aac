"""Tables only, one module per aggregate. Importing this package registers them all."""

from app.models.audit import AuditEvent
from app.models.badge import BADGE_SOURCES, BadgeImage
from app.models.catalog import (
                                CERTIFICATION_STATUSES,
                                Certification,
                                Course,
                                certification_assessors,
                                certification_courses,
                                certification_prerequisites,
)
from app.models.certificate import CERTIFICATE_STATUSES, Certificate
from app.models.compliance import (
                                NOTICE_STEPS,
                                REQUIREMENT_SCOPES,
                                ComplianceNotice,
                                Exemption,
                                Requirement,
                                requirement_people,
)
from app.models.correction import CORRECTION_STATUSES, CertificateVersion, CorrectionRequest
from app.models.department import Department, department_managers
from app.models.email_text import EmailText
from app.models.engagement import ENGAGEMENT_KINDS, EngagementCounter
from app.models.enrollment import ENROLLMENT_STATUSES, Completion, Enrollment
from app.models.identity import OidcProvider, UserIdentity
from app.models.inbox import Notification, ReminderSent
from app.models.integration import (
                                ExportedPdf,
                                IncomingReceipt,
                                Integration,
                                IntegrationLog,
                                SyncRun,
                                WebhookDelivery,
                                WebhookEvent,
)
from app.models.mfa import Passkey, RecoveryCode, RememberedDevice, TotpFactor
from app.models.notification import OutboxEmail
from app.models.organisation import OrganisationSettings
from app.models.payment import PAYMENT_METHODS, PAYMENT_STATUSES, Payment, PaymentSettings
from app.models.pdf_signing import PdfSigningIdentity, PdfSigningSettings
from app.models.privacy import DataExport, Erasure, PrivacySettings
from app.models.profile import PublicProfile, WalletExchange
from app.models.report import REPORT_FREQUENCIES, ReportSubscription
from app.models.requirements import (
                                EVIDENCE_STATUSES,
                                GROUP_MODES,
                                EvidenceFile,
                                EvidenceSubmission,
                                RequirementCourse,
                                RequirementGroup,
)
from app.models.saml import SamlAssertionUse, SamlProvider, SamlServiceKey
from app.models.scim import ScimDirectory, ScimGroup, ScimUser
from app.models.signing_key import SigningKey
from app.models.status_list import StatusListEntry
from app.models.template import CertificateTemplate, PdfExport, TemplateAsset
from app.models.training import CourseTrainingSettings, SessionRegistration, TrainingSession
from app.models.user import ROLES, ApiToken, User
from app.models.user_session import UserSession

__all__ = [
    "CERTIFICATE_STATUSES", "CERTIFICATION_STATUSES", "ENGAGEMENT_KINDS", "ENROLLMENT_STATUSES",
    "BADGE_SOURCES", "REPORT_FREQUENCIES", "ROLES", "ApiToken", "AuditEvent", "BadgeImage", "Certificate",
    "CertificateTemplate", "CertificateVersion", "CORRECTION_STATUSES", "CorrectionRequest",
    "DataExport", "Erasure", "PrivacySettings",
    "Certification", "Completion", "Course", "Department",
    "EmailText", "EngagementCounter", "Enrollment", "ExportedPdf",
    "IncomingReceipt",
    "Integration", "IntegrationLog", "Notification", "OrganisationSettings", "OutboxEmail", "PdfExport",
    "PAYMENT_METHODS", "PAYMENT_STATUSES", "Payment", "PaymentSettings",
    "PdfSigningIdentity", "PdfSigningSettings",
    "PublicProfile", "ReminderSent",
    "ReportSubscription", "SamlAssertionUse", "SamlProvider", "SamlServiceKey",
    "ScimDirectory", "ScimGroup", "ScimUser",
    "SigningKey", "StatusListEntry", "SyncRun", "TemplateAsset", "User",
    "OidcProvider", "UserIdentity", "UserSession", "WalletExchange",
    "WebhookDelivery", "WebhookEvent",
    "Passkey", "RecoveryCode", "RememberedDevice", "TotpFactor",
    "CourseTrainingSettings", "SessionRegistration", "TrainingSession",
    "certification_assessors", "certification_courses", "certification_prerequisites", "department_managers",
    "EVIDENCE_STATUSES", "GROUP_MODES", "EvidenceFile", "EvidenceSubmission", "RequirementCourse",
    "RequirementGroup",
    "NOTICE_STEPS", "REQUIREMENT_SCOPES", "ComplianceNotice", "Exemption", "Requirement",
    "requirement_people",
]
