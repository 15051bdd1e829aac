"""Forms for the lifecycle pages. They carry and render values; the services do the validating."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms import Form as SubForm
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.models import CERTIFICATION_STATUSES, ENROLLMENT_STATUSES
from app.services.lifecycle import corrections
from app.services.numbers import MAX_ID
from app.web.inputs import Form
from app.web.numbers import BoundedIntegerField, FiniteDecimalField, coerce_id

try:  # WTForms 3.3 deprecates (value, label) tuples, and filterwarnings = error makes that fatal
    from wtforms import SelectChoice
except ImportError:  # older WTForms
    def SelectChoice(value, label):  # noqa: N802
        return (value, label)


def choices(pairs) -> list:
    return [SelectChoice(value, label) for value, label in pairs]


class CourseForm(Form):
    code = StringField("Code", validators=[DataRequired(message="Enter a course code."), Length(max=40)])
    title = StringField("Title", validators=[DataRequired(message="Enter a title."), Length(max=200)])
    category = StringField("Category", validators=[Optional(), Length(max=80)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    capacity = BoundedIntegerField("Capacity", validators=[Optional(), NumberRange(min=1)])
    starts_on = DateField("Starts", validators=[Optional()])
    ends_on = DateField("Ends", validators=[Optional()])

    def values(self) -> dict:
        return {name: self[name].data for name in ("code", "title", "category", "description", "capacity",
                                                   "starts_on", "ends_on")}


class CertificationForm(Form):
    name = StringField("Name", validators=[DataRequired(message="Enter a name."), Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    status = SelectField("Status", choices=choices((s, s.capitalize()) for s in CERTIFICATION_STATUSES),
                         default="draft")
    course_ids = SelectMultipleField("Required courses", coerce=coerce_id, validate_choice=False)
    prerequisite_ids = SelectMultipleField("Prerequisites", coerce=coerce_id, validate_choice=False)
    min_score = FiniteDecimalField("Minimum score", places=None,
                             validators=[Optional(), NumberRange(min=0, max=100)])
    validity_months = BoundedIntegerField("Validity (months)",
                                          validators=[Optional(), NumberRange(min=1, max=1200)])
    renewal_window_days = BoundedIntegerField("Renewal window", default=90,
                                              validators=[Optional(), NumberRange(min=0, max=3650)])
    reminder_days = StringField("Reminder days", default="90, 30, 7",
                                validators=[Optional(), Length(max=200)])
    issuer_name = StringField("Issuer", validators=[Optional(), Length(max=200)])
    signatory_name = StringField("Signatory", validators=[Optional(), Length(max=200)])
    signatory_title = StringField("Signatory title", validators=[Optional(), Length(max=200)])
    auto_reenrol = BooleanField("Re-enrol automatically when the renewal window opens")

    def set_choices(self, courses, certifications) -> None:
        self.course_ids.choices = choices((c.id, f"{c.code} · {c.title}") for c in courses)
        self.prerequisite_ids.choices = choices((c.id, c.name) for c in certifications)

    def values(self) -> dict:
        data = {name: self[name].data for name in (
            "name", "description", "status", "course_ids", "prerequisite_ids", "validity_months",
            "renewal_window_days", "reminder_days", "issuer_name", "signatory_name", "signatory_title",
            "auto_reenrol")}
        data["min_score"] = float(self.min_score.data) if self.min_score.data is not None else None
        data["course_ids"] = data["course_ids"] or []
        data["prerequisite_ids"] = data["prerequisite_ids"] or []
        return data


class EnrollmentForm(Form):
    status = SelectField("Status", choices=choices((s, s.replace("_", " ")) for s in ENROLLMENT_STATUSES))
    progress = BoundedIntegerField("Progress %", validators=[Optional(), NumberRange(min=0, max=100)])
    score = FiniteDecimalField("Score", places=None, validators=[Optional(), NumberRange(min=0, max=100)])

    def values(self) -> dict:
        progress = self.progress.data if self.progress.data is not None else 0
        return {"status": self.status.data, "progress": progress,
                "score": float(self.score.data) if self.score.data is not None else None}


class ManualIssueForm(Form):
    certification_id = BoundedIntegerField("Certification", validators=[DataRequired()], minimum=1,
                                           maximum=MAX_ID)
    note = TextAreaField("Why is it issued by hand?", validators=[
        DataRequired(message="Write a note: it is kept in the audit log."), Length(max=2000)])


class RevokeForm(Form):
    reason = TextAreaField("Reason", validators=[
        DataRequired(message="Give the reason for revoking: verifiers will see it."), Length(max=1000)])


class ImportUploadForm(Form):
    file = FileField("CSV file", validators=[FileRequired(message="Choose a CSV file.")])


class CorrectionForm(Form):
    """A correction of what a certificate prints (admins: applied at once; holders: a request)."""

    holder_name = StringField("Name as printed", validators=[DataRequired(message="Enter the name."),
                                                            Length(max=200)])
    completed_on = DateField("Completion date", validators=[Optional()])
    score = FiniteDecimalField("Score", places=None, validators=[Optional(), NumberRange(min=0, max=100)])
    reason = TextAreaField("Reason", validators=[
        DataRequired(message="Give the reason: it is kept with the certificate's history."),
        Length(max=1000)])

    def values(self) -> dict:
        return {"holder_name": self.holder_name.data, "completed_on": self.completed_on.data,
                "score": float(self.score.data) if self.score.data is not None else None}


class DecisionForm(Form):
    note = TextAreaField("Why is it rejected?", validators=[Optional(), Length(max=1000)])


class ExpiryForm(Form):
    """Extend or set the expiry of the certificates ticked on the list."""

    certificate_ids = SelectMultipleField("Certificates", coerce=coerce_id, validate_choice=False)
    mode = SelectField("Change", choices=choices((("extend_months", "Extend by months"),
                                                  ("extend_days", "Extend by days"),
                                                  ("set_date", "Set the expiry date"))))
    amount = BoundedIntegerField("By", validators=[Optional(), NumberRange(min=1, max=3650)])
    expires_on = DateField("New expiry date", validators=[Optional()])
    reason = TextAreaField("Reason", validators=[
        DataRequired(message="Give the reason: it is kept in the audit log and told to the holders."),
        Length(max=1000)])

    def values(self) -> dict:
        return {"mode": self.mode.data, "amount": self.amount.data, "expires_on": self.expires_on.data,
                "reason": self.reason.data}


def correction_form(cert, *, submitted: bool) -> CorrectionForm:
    """The sent form, or one filled with what the certificate prints now."""
    if submitted:
        return CorrectionForm()
    current = corrections.current_values(cert)
    return CorrectionForm(formdata=None, holder_name=current["holder_name"],
                          completed_on=current["completed_on"], score=current["score"])


class GroupForm(SubForm):
    """One requirement group on the Requirements page (a sub-form: the page's form carries the CSRF)."""

    mode = SelectField("Rule", default="all", choices=choices((("all", "All of these courses"),
                                                                ("any", "Any N of these courses"))))
    count = BoundedIntegerField("How many (any N of)", validators=[Optional(), NumberRange(min=1, max=100)])
    min_score = FiniteDecimalField("Minimum score", places=None,
                                   validators=[Optional(), NumberRange(min=0, max=100)])
    course_ids = SelectMultipleField("Courses", coerce=coerce_id, validate_choice=False)
    minimums = StringField("Course minimums", validators=[Optional(), Length(max=2000)])


class RequirementsForm(Form):
    groups = FieldList(FormField(GroupForm), min_entries=1, max_entries=21)
    evidence_required = BooleanField("Learners submit evidence, reviewed before the certificate is issued")
    evidence_instructions = TextAreaField("What to submit", validators=[Optional(), Length(max=5000)])
    assessor_ids = SelectMultipleField("Assessors", coerce=coerce_id, validate_choice=False)


class EvidenceForm(Form):
    text = TextAreaField("What you did", validators=[Optional(), Length(max=10_000)])
    files = MultipleFileField("Files (PDF, PNG, JPEG or text; up to 5, 10 MB each)")


class ReviewForm(Form):
    decision = SelectField("Decision", choices=choices((("approve", "Approve"), ("reject", "Reject"))))
    comment = TextAreaField("Comment for the learner", validators=[Optional(), Length(max=2000)])
