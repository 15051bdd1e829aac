"""Admin forms for people."""

from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.models import ROLES
from app.web.inputs import Form

try:  # WTForms 3.3 deprecates (value, label) tuples, and filterwarnings = error makes that fatal
    from wtforms import SelectChoice
except ImportError:  # older WTForms
    ROLE_CHOICES = [(r, r.capitalize()) for r in ROLES]
else:
    ROLE_CHOICES = [SelectChoice(r, r.capitalize()) for r in ROLES]


class InviteForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="learner")
    department = StringField("Department", validators=[Optional(), Length(max=120)])


class UserRowForm(Form):
    role = SelectField("Role", choices=ROLE_CHOICES)
    department = StringField("Department", validators=[Optional(), Length(max=120)])
    active = BooleanField("Active")
