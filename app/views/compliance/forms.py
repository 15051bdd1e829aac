"""Compliance forms; the rules (ranges, what must be chosen for each kind) live in
app/services/compliance/requirements.py, the forms bound sizes and shapes."""

from __future__ import annotations

from wtforms import BooleanField, DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.models import REQUIREMENT_SCOPES
from app.services.compliance.requirements import MAX_DUE_DAYS, MAX_ESCALATION_DAYS, MAX_REASON
from app.web.inputs import Form
from app.web.numbers import BoundedIntegerField, coerce_id

try:  # WTForms 3.3 deprecates (value, label) tuples, and filterwarnings = error makes that fatal
    from wtforms import SelectChoice
except ImportError:  # older WTForms
    def SelectChoice(value, label):  # noqa: N802
        return (value, label)

SCOPE_LABELS = {"department": "A department", "job_title": "A job title", "people": "Named people"}
ESCALATION_HELP = "Days after the due date; empty: this step is off."


def choices(pairs) -> list:
    return [SelectChoice(value, label) for value, label in pairs]


def _days(label: str, maximum: int, **kw) -> BoundedIntegerField:
    return BoundedIntegerField(label, validators=[Optional(), NumberRange(min=0, max=maximum)], **kw)


class RequirementForm(Form):
    certification_id = SelectField("Certification", coerce=coerce_id, validate_choice=False)
    scope = SelectField("Required for", choices=choices((s, SCOPE_LABELS[s]) for s in REQUIREMENT_SCOPES),
                        default="department")
    department_id = SelectField("Department", coerce=coerce_id, validate_choice=False)
    include_subdepartments = BooleanField("And every department below it", default=True)
    job_title = StringField("Job title", validators=[Optional(), Length(max=120)],
                            description="Any case: “Nurse” matches “nurse”.")
    user_ids = SelectMultipleField("People", coerce=coerce_id, validate_choice=False)
    due_days = _days("Due within (days of joining)", MAX_DUE_DAYS,
                     description="Counted from the later of the person's joining and this requirement's "
                                 "start; again from the expiry day when a certificate lapses.")
    due_on = DateField("Due by (fixed date)", validators=[Optional()])
    auto_enrol = BooleanField("Enrol them in the certification's courses")
    escalate_learner_days = _days("Remind the person after", MAX_ESCALATION_DAYS, default=0,
                                  description=ESCALATION_HELP)
    escalate_manager_days = _days("Tell their manager after", MAX_ESCALATION_DAYS, default=7,
                                  description=ESCALATION_HELP)
    escalate_admin_days = _days("Tell the admins after", MAX_ESCALATION_DAYS, default=14,
                                description=ESCALATION_HELP)

    FIELDS = ("certification_id", "scope", "department_id", "include_subdepartments", "job_title", "user_ids",
              "due_days", "due_on", "auto_enrol", "escalate_learner_days", "escalate_manager_days",
              "escalate_admin_days")

    def set_choices(self, certifications, departments, people) -> None:
        self.certification_id.choices = choices((c.id, c.name) for c in certifications)
        self.department_id.choices = choices(departments)
        self.user_ids.choices = choices((u.id, f"{u.name} ({u.email})") for u in people)

    def values(self) -> dict:
        data = {name: self[name].data for name in self.FIELDS}
        data["user_ids"] = data["user_ids"] or []
        return data


class ExemptionForm(Form):
    reason = TextAreaField("Reason", validators=[DataRequired(message="Enter the reason."),
                                                 Length(max=MAX_REASON)])
    expires_on = DateField("Until (inclusive; empty: no end)", validators=[Optional()])
