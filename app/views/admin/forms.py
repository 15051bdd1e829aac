"""Admin forms for people."""

from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.models import ROLES
from app.services.accounts import departments
from app.web.inputs import Form
from app.web.numbers import coerce_id

try:  # WTForms 3.3 deprecates (value, label) tuples, and filterwarnings = error makes that fatal
    from wtforms import SelectChoice
except ImportError:  # older WTForms
    def SelectChoice(value, label):  # noqa: N802
        return (value, label)

ROLE_CHOICES = [SelectChoice(r, r.capitalize()) for r in ROLES]


def _department_or_none(value: object) -> int:
    """0 is "no department"; anything else must be an id (a field error otherwise)."""
    return 0 if value in (None, "", "0", 0) else coerce_id(value)


READS_EVERYTHING_HELP = ("Staff only: read every department's people. Without it, staff read only the "
                         "departments they manage.")


class _DepartmentSelect:
    """A select of the department tree (0: none); the choices are read when the form is built."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.department_id.choices = [SelectChoice(0, "No department")] + [
            SelectChoice(dept_id, label) for dept_id, label in departments.choices()]

    def chosen_department(self):
        """The chosen row, or "" for none (what accounts.users takes)."""
        return departments.get(self.department_id.data) if self.department_id.data else ""


class InviteForm(_DepartmentSelect, Form):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="learner")
    department_id = SelectField("Department", coerce=_department_or_none, default=0)
    reads_everything = BooleanField("Reads everything", description=READS_EVERYTHING_HELP)


class UserRowForm(_DepartmentSelect, Form):
    role = SelectField("Role", choices=ROLE_CHOICES)
    department_id = SelectField("Department", coerce=_department_or_none, default=0)
    job_title = StringField("Job title", validators=[Optional(), Length(max=120)])
    reads_everything = BooleanField("Reads everything")
    active = BooleanField("Active")


class SettingsForm(Form):
    """Branding (rules in app/services/organisation.py); the form only bounds sizes."""

    name = StringField("Organisation name", validators=[DataRequired(), Length(max=120)],
                       description="Shown in page titles, on the login page, on certificates' public page "
                                   "and in emails.")
    about = StringField("About (one line)", validators=[Optional(), Length(max=200)],
                        description="A short line under the name on public pages, e.g. "
                                    "\"Professional training since 1998\".")
    colour = StringField("Primary colour", validators=[DataRequired(), Length(max=7)],
                         description="#rrggbb, dark enough for white text (header, buttons).",
                         render_kw={"type": "color"})
    logo = FileField("Logo (PNG or JPEG, at most 2 MB)", render_kw={"accept": "image/png,image/jpeg"})
    remove_logo = BooleanField("Remove the current logo")


class SigningCertificateForm(Form):
    """Upload a PKCS#12 for PDF signing (rules in app/services/credentials/pdf_signing.py)."""

    pkcs12 = FileField("Certificate and private key (PKCS#12: .p12 or .pfx)",
                       render_kw={"accept": ".p12,.pfx,application/x-pkcs12"})
    password = PasswordField("Password of the file", validators=[Optional(), Length(max=1024)])


class TimestampServerForm(Form):
    tsa_url = StringField("Timestamp server (RFC 3161) URL", validators=[Optional(), Length(max=500)],
                          render_kw={"inputmode": "url", "placeholder": "https://timestamp.example.com/tsa"})


class MfaPolicyForm(Form):
    """Two-factor sign-in settings (rules and bounds in app/services/accounts/mfa.py)."""

    required_for_admins = BooleanField("Require two-factor sign-in for admins",
                                       description="An admin without an authenticator app or a passkey is "
                                                   "sent to set one up after their password, and can open "
                                                   "nothing else until it is done.")
    remember_days = StringField("Remember a device for (days)", validators=[Optional(), Length(max=3)],
                                description="0 to 30. After the second step, people may tick \"Remember this "
                                            "device\" and skip it there for that many days. 0: never.")


class DepartmentForm(Form):
    """Create or edit a department: its name and where it sits in the tree."""

    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    parent_id = SelectField("Under", coerce=_department_or_none, default=0)

    def __init__(self, *args, exclude: set[int] = frozenset(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.parent_id.choices = [SelectChoice(0, "Nothing (top level)")] + [
            SelectChoice(dept_id, label) for dept_id, label in departments.choices()
            if dept_id not in exclude]

    def chosen_parent(self):
        return departments.get(self.parent_id.data) if self.parent_id.data else None


class ManagersForm(Form):
    manager_ids = SelectMultipleField("Managers", coerce=coerce_id)

    def __init__(self, *args, candidates=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.manager_ids.choices = [SelectChoice(u.id, f"{u.name} ({u.email}, {u.role})") for u in candidates]
