"""The SAML provider form (rules in app/services/identity/saml.py): the form only bounds sizes."""

from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.models import ROLES
from app.web.inputs import Form

try:  # WTForms 3.3 deprecates (value, label) tuples, and filterwarnings = error makes that fatal
    from wtforms import SelectChoice
except ImportError:  # older WTForms
    ROLE_CHOICES = [(r, r.capitalize()) for r in ROLES]
else:
    ROLE_CHOICES = [SelectChoice(r, r.capitalize()) for r in ROLES]

FIELDS = ("label", "metadata_url", "email_attribute", "name_attribute", "groups_attribute",
          "department_attribute", "role_for_group", "default_role", "create_accounts", "trust_email",
          "enabled")


class SamlProviderForm(Form):
    label = StringField("Button label", validators=[DataRequired(), Length(max=80)],
                        description='Shown as "Sign in with <label>" on the login page, '
                                    'e.g. "Entra ID".')
    metadata_url = StringField("IdP metadata URL", validators=[Optional(), Length(max=500)],
                               description="Laurel fetches the identity provider's metadata from it. "
                                           "Or upload the file below. When editing, leave both empty to "
                                           "keep the current metadata.")
    metadata_file = FileField("IdP metadata file (XML)")
    email_attribute = StringField("Email attribute", validators=[Optional(), Length(max=200)],
                                  description="Attribute name (or friendly name) with the address, "
                                              "e.g. http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
                                              "emailaddress. Empty: the NameID, when its format is an "
                                              "email address.")
    name_attribute = StringField("Name attribute", validators=[Optional(), Length(max=200)])
    groups_attribute = StringField("Groups attribute", validators=[Optional(), Length(max=200)])
    department_attribute = StringField("Department attribute", validators=[Optional(), Length(max=200)],
                                       description="Empty: departments are not taken from SAML.")
    role_for_group = TextAreaField("Groups to roles", validators=[Optional(), Length(max=10_000)],
                                   description="One 'group = role' per line, e.g. 'teachers = staff'. "
                                               "Used when an account is created; the most capable role "
                                               "wins.",
                                   render_kw={"rows": 4})
    default_role = SelectField("Role when no group matches", choices=ROLE_CHOICES, default="learner")
    create_accounts = BooleanField("Create accounts on first sign-in (just in time)", default=True)
    trust_email = BooleanField("Trust this provider's email addresses",
                               description="The IdP verifies the addresses it sends: new accounts may "
                                           "use them and existing accounts are linked by email.")
    enabled = BooleanField("Enabled", default=True)

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in FIELDS}
