"""Forms of the identity pages (rules in app/services/identity/): the form only bounds sizes."""

from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.models import ROLES
from app.web.inputs import Form

try:  # WTForms 3.3 deprecates (value, label) tuples, and filterwarnings = error makes that fatal
    from wtforms import SelectChoice
except ImportError:  # older WTForms
    ROLE_CHOICES = [(r, r.capitalize()) for r in ROLES]
else:
    ROLE_CHOICES = [SelectChoice(r, r.capitalize()) for r in ROLES]


class ProviderForm(Form):
    label = StringField("Button label", validators=[DataRequired(), Length(max=80)],
                        description='Shown as "Sign in with <label>" on the login page, e.g. "Google".')
    issuer = StringField("Issuer URL", validators=[DataRequired(), Length(max=500)],
                         description="The provider's issuer, e.g. https://accounts.google.com; Laurel reads "
                                     "/.well-known/openid-configuration under it.")
    client_id = StringField("Client id", validators=[DataRequired(), Length(max=255)])
    client_secret = PasswordField("Client secret", validators=[Optional(), Length(max=2000)],
                                  description="Stored encrypted. Leave empty to keep the current one.")
    scopes = StringField("Scopes", default="openid email profile",
                         validators=[DataRequired(), Length(max=255)])
    create_accounts = BooleanField("Create accounts on first sign-in (just in time)", default=True)
    group_claim = StringField("Group claim", default="groups", validators=[Optional(), Length(max=80)],
                              description="The ID token claim listing the person's groups.")
    role_map = TextAreaField("Groups to roles", validators=[Optional(), Length(max=10_000)],
                             description="One 'group = role' per line, e.g. 'teachers = staff'. Used when "
                                         "an account is created; the most capable role wins.",
                             render_kw={"rows": 4})
    default_role = SelectField("Role when no group matches", choices=ROLE_CHOICES, default="learner")
    department_claim = StringField("Department claim", validators=[Optional(), Length(max=80)],
                                   description="The claim holding the person's department, e.g. "
                                               "'department'. Empty: departments are not taken from SSO.")
    trust_email = BooleanField("Trust this provider's email addresses",
                               description="Link existing accounts by email even without the "
                                           "email_verified claim (e.g. Microsoft Entra ID).")

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in (
            "label", "issuer", "client_id", "client_secret", "scopes", "create_accounts", "group_claim",
            "role_map", "default_role", "department_claim", "trust_email")}


class PolicyForm(Form):
    sso_only = BooleanField("SSO only for non-admins",
                            description="Hide the password form and refuse passwords and password resets "
                                        "for everybody but admins (break-glass: /login?local=1).")
