"""Email previews for admins: every template in templates/emails/ rendered with sample data.

A template is a pair `name.txt` + `name.html` (files starting with "_" are layout pieces). Sample data
is one shared set of realistic values, with per-template extras; a template added later (by another
capability) previews with the shared set, and anything it needs that the set lacks renders empty
(strict rendering reports which variable is missing, see `render(strict=True)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app
from jinja2 import ChainableUndefined, StrictUndefined

from app.services import organisation
from app.services.messaging import email_texts

SUBJECTS = {
    "invite": "You are invited to {org}",
    "password_reset": "Reset your {org} password",
    "certificate_issued": "Your certificate: First Aid Level 2",
    "certificate_revoked": "Your certificate LAU-2026-000123 has been revoked",
    "certificate_reinstated": "Your certificate LAU-2026-000123 is valid again",
    "certificate_reminder": "Your First Aid Level 2 certificate expires in 30 days",
    "certificate_expired": "Your First Aid Level 2 certificate has expired",
    "certificate_shared": "Lena Learner shared a certificate: First Aid Level 2",
    "certificate_reissued": "Your certificate LAU-2026-000123 was corrected",
    "correction_rejected": "Your correction request for LAU-2026-000123",
    "certificate_expiry_changed": "The expiry of your certificate LAU-2026-000123 has changed",
    "recertification_enrolled": "Renew your First Aid Level 2 certificate",
    "admin_digest": "{org} weekly digest (2026-W10)",
    "integration_disabled": "Integration disabled: HR system webhook",
    "report": "{org} weekly report: 2 – 8 March 2026",
    "session_invitation": "Invitation: First aid practical, 9 Mar 2026, 09:30 Europe/Berlin",
    "session_waitlist": "On the waitlist: First aid practical, 9 Mar 2026, 09:30 Europe/Berlin",
    "session_reminder": "Tomorrow: First aid practical, 9 Mar 2026, 09:30 Europe/Berlin",
    "payment_receipt": "Receipt: First Aid Level 2",
    "evidence_reviewed": "Your evidence for First Aid Level 2 was approved",
    "compliance_required": "You are required to hold First Aid Level 2",
    "compliance_overdue": "Overdue: Lena Learner does not hold First Aid Level 2",
    "compliance_digest": "Compliance this week (2026-W10)",
    "data_export_ready": "Your data export is ready",
}

#: What the emails admins cannot reword are for (the editable ones have their label in email_texts.KINDS).
LABELS = {
    "admin_digest": "Weekly admin digest", "integration_disabled": "Integration disabled",
    "invite": "Invitation", "password_reset": "Password reset", "report": "Scheduled report",
    "certificate_reissued": "Certificate corrected", "correction_rejected": "Correction request rejected",
    "certificate_expiry_changed": "Certificate expiry changed",
    "recertification_enrolled": "Re-enrolled to renew",
    "payment_receipt": "Payment receipt",
    "evidence_reviewed": "Evidence reviewed",
    "compliance_required": "Required certification (to the learner)",
    "compliance_overdue": "Required certification overdue (escalation)",
    "compliance_digest": "Weekly compliance digest (managers)",
    "data_export_ready": "Data export ready",
}


def label(name: str) -> str:
    kind = email_texts.KINDS.get(name)
    return kind.label if kind else LABELS.get(name, name.replace("_", " ").capitalize())


@dataclass(frozen=True)
class Preview:
    name: str
    subject: str
    text: str
    html: str
    missing: str | None = None  # a variable the sample data lacks (rendered empty), if any


def _folder() -> Path:
    return Path(current_app.template_folder) / "emails"


def template_names() -> list[str]:
    """Every email template that has both a text and an HTML part, sorted."""
    folder = _folder()
    names = {p.stem for p in folder.glob("*.html") if not p.name.startswith("_")}
    return sorted(n for n in names if (folder / f"{n}.txt").exists())


def sample_context(name: str) -> dict:
    base = current_app.config["BASE_URL"]
    now = datetime.now(UTC).replace(microsecond=0)
    code = "q8Jx3vT1bXcS0mPzYw4aLg"
    verify = f"{base}/verify/{code}"
    context = {
        "name": "Lena Learner", "certification": "First Aid Level 2", "serial": "LAU-2026-000123",
        "verify_url": verify, "share_url": f"{base}/s/{code}", "link": f"{base}/set-password/sample-token",
        "pdf_url": f"{base}/me/certificates", "certificates_url": f"{base}/me/certificates",
        "preferences_url": f"{base}/profile", "linkedin_url": f"{base}/c/{code}/linkedin",
        "issued_at": now - timedelta(days=700), "expires_at": now + timedelta(days=30), "days_left": 30,
        "revoked_at": now, "reason": "Issued by mistake: the CPR assessment was not completed.",
        "courses": ["First aid basics", "CPR and AED"], "sender": "Lena Learner",
        "message": "Here is my first aid certificate, as requested for the placement.",
        "certificate": {"serial": "LAU-2026-000123", "code": code},
        "holder": "Lena Learner", "score": 88.5,
        # corrections, expiry administration, recertification (app/services/lifecycle/corrections.py, ...)
        "summary": "name corrected", "changes": ["Name: Lena Lerner → Lena Learner"], "requested": True,
        "asked": ["Name: Lena Learner"], "note": "The name matches your enrolment form; please send an ID.",
        "previous": now + timedelta(days=2),
        "renewal": False, "issued_on": now - timedelta(days=700), "expires_on": now + timedelta(days=30),
        "url": f"{base}/admin/integrations/1", "analytics_url": f"{base}/analytics",
        "integration": {"name": "HR system webhook", "type": "webhook"},
        "numbers": {"completions": 148, "issued": 97, "held": 1204, "revoked": 2, "expiring_30_days": 31,
                    "top_certifications": [("First Aid Level 2", 41), ("Fire Safety", 27)]},
        "period": {"frequency": "weekly", "label": "2 – 8 March 2026"},
        "amount": "€49.00", "tax_note": "incl. 20% VAT", "paid_on": "2 Dec 2026", "method": "card (Stripe)",
        "reference": "pay_Q2x8sYk3Lm0aVt7R", "payments_url": f"{base}/payments/mine",
    }
    if name.startswith("session_"):  # training sessions (app/services/training/invitations.py)
        context |= {"course": "First aid basics", "code": "FA-101", "title": "First aid practical",
                    "starts": "9 Mar 2026, 09:30 Europe/Berlin", "ends": "9 Mar 2026, 12:30 Europe/Berlin",
                    "when": "9 Mar 2026, 09:30–12:30 Europe/Berlin",
                    "starts_utc": "9 Mar 2026, 08:30 UTC", "location": "Training room 2, Main building",
                    "online_url": "", "trainer": "Sam Staff", "session_url": f"{base}/training/sessions/1",
                    "kind": "new", "cancelled": False}
    if name == "admin_digest":
        context |= {
            "name": "Ada Admin", "week": "2026-W10", "expiring_count": 3,
            "expiring": [
                {"holder": "Sam Staff", "certification": "First Aid Level 2", "serial": "LAU-2026-000101",
                 "expires_at": now + timedelta(days=6), "verify_url": verify},
                {"holder": "Lena Learner", "certification": "Fire Safety", "serial": "LAU-2026-000087",
                 "expires_at": now + timedelta(days=19), "verify_url": verify},
            ],
            "failed_mail_count": 1,
            "failed_mail": [{"to": "old.address@example.com", "subject": "Your certificate: Fire Safety",
                             "error": "SMTPRecipientsRefused: 550 mailbox unavailable"}],
            "failed_pdf_count": 1,
            "failed_pdfs": [{"serial": "LAU-2026-000090", "error": "TemplateError: line 12: unexpected '}'"}],
            "sections": [{"title": "Failing webhook endpoints", "count": 1,
                          "items": ["https://hr.example.com/hooks/laurel: 503 for 2 days"], "link": None}],
            "mail_log_url": f"{base}/admin/mail?status=failed", "dashboard_url": f"{base}/",
        }
    if name.startswith("compliance_"):
        context |= _compliance_sample(base, now)
    return context


def _compliance_sample(base: str, now: datetime) -> dict:
    counts = {"valid": 41, "expiring": 3, "expired": 2, "missing": 4, "overdue": 2, "exempt": 1}
    return {
        "due_at": now + timedelta(days=30), "enrolled": True, "dashboard_url": f"{base}/",
        "person": "Lena Learner", "person_url": f"{base}/learners/7", "to_learner": False, "step": "manager",
        "week": "2026-W10", "matrix_url": f"{base}/compliance",
        "summary": {"overall": {"percent": 84.9, "compliant": 45, "total": 53, "counts": counts}},
        "overdue": [{"name": "Sam Staff", "certification": "Fire Safety", "due_at": now - timedelta(days=9)}],
        "expiring": [{"name": "Lena Learner", "certification": "First Aid Level 2",
                      "expires_at": now + timedelta(days=12)}],
    }


def _context(name: str) -> dict:
    brand = organisation.email_context()
    subject = SUBJECTS.get(name, name.replace("_", " ").capitalize()).format(org=brand["org_name"])
    return sample_context(name) | brand | {"base_url": current_app.config["BASE_URL"], "subject": subject}


def draft(name: str, subject: object, body: object) -> Preview:
    """An admin's unsaved text for `name` with sample data (ValidationError when it would be refused)."""
    values = email_texts.check(name, subject, body)
    own = email_texts.render_text(name, values["subject"], values["body"], _context(name))
    return Preview(name=name, subject=own.subject, text=own.text, html=own.html)


def render(name: str, *, strict: bool = False) -> Preview:
    """Render both parts of one template with sample data, the way `mail.queue_email` does (with the
    admin's own text when there is one)."""
    if name not in template_names():
        raise KeyError(name)
    context = _context(name)
    subject = context["subject"]
    own = email_texts.render(name, context)  # the admin's own text, when there is one
    if own is not None:
        return Preview(name=name, subject=own.subject, text=own.text, html=own.html)
    env = current_app.jinja_env.overlay(undefined=StrictUndefined)
    missing = None
    try:
        parts = [env.get_template(f"emails/{name}.{ext}").render(context) for ext in ("txt", "html")]
    except Exception as exc:  # noqa: BLE001 - shown to the admin; the lenient render follows
        if strict:
            raise
        missing = f"{type(exc).__name__}: {exc}"
        env = current_app.jinja_env.overlay(undefined=ChainableUndefined)
        parts = [env.get_template(f"emails/{name}.{ext}").render(context) for ext in ("txt", "html")]
    return Preview(name=name, subject=subject, text=parts[0], html=parts[1], missing=missing)
