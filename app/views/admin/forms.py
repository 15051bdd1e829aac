"""Admin forms for people."""

from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
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
