"""Forms of the training pages. They carry and render values; app/services/training/checks.py validates."""

from __future__ import annotations

from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from app.models.training import ATTENDANCE, ATTENDANCE_RULES
from app.web.inputs import Form
from app.web.numbers import BoundedIntegerField, coerce_id

try:  # WTForms 3.3 deprecates (value, label) tuples, and filterwarnings = error makes that fatal
    from wtforms import SelectChoice
except ImportError:  # older WTForms
    def SelectChoice(value, label):  # noqa: N802
        return (value, label)

RULE_LABELS = {"none": "No: attendance is recorded only", "one": "Yes, after attending one session",
               "all": "Yes, after attending every session of the course"}
MOMENT = {"type": "datetime-local"}


def optional_id(value: object) -> int:
    """A select whose first option is "nobody" (0 or empty)."""
    return 0 if value in ("", "0", 0, None, "None") else coerce_id(value)


def choices(pairs) -> list:
    return [SelectChoice(value, label) for value, label in pairs]


class SessionForm(Form):
    course_id = SelectField("Course", coerce=coerce_id, validate_choice=False)
    title = StringField("Title (optional: the course title)", validators=[Optional(), Length(max=200)])
    timezone = StringField("Time zone", default="UTC", validators=[Optional(), Length(max=64)],
                           render_kw={"list": "timezones", "autocomplete": "off"})
    starts_at = StringField("Starts", validators=[Optional(), Length(max=40)], render_kw=MOMENT)
    ends_at = StringField("Ends", validators=[Optional(), Length(max=40)], render_kw=MOMENT)
    location = StringField("Place", validators=[Optional(), Length(max=300)])
    online_url = StringField("Online link (https)", validators=[Optional(), Length(max=500)],
                             render_kw={"type": "url", "placeholder": "https://"})
    trainer_id = SelectField("Trainer", coerce=optional_id, validate_choice=False)
    capacity = BoundedIntegerField("Places", default=12, minimum=0, maximum=10_000_000)
    registration_deadline = StringField("Registration closes (optional)",
                                        validators=[Optional(), Length(max=40)], render_kw=MOMENT)

    def values(self) -> dict:
        values = {name: self[name].data for name in ("course_id", "title", "timezone", "starts_at", "ends_at",
                                                      "location", "online_url", "capacity",
                                                      "registration_deadline")}
        values["trainer_id"] = self.trainer_id.data or None
        return values


class RuleForm(Form):
    attendance_rule = SelectField("Attendance completes the course", choices=choices(RULE_LABELS.items()),
                                  validate_choice=False)


class MarkForm(Form):
    attendance = SelectField("Mark selected as", choices=choices((a, a.capitalize()) for a in ATTENDANCE),
                             validate_choice=False)


__all__ = ["ATTENDANCE_RULES", "MarkForm", "RuleForm", "SessionForm"]
