"""Forms of the payments pages; the rules are in app/services/payments."""

from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.rules import money
from app.web.inputs import Form
from app.web.numbers import coerce_id

try:  # WTForms 3.3 deprecates (value, label) tuples, and filterwarnings = error makes that fatal
    from wtforms import SelectChoice
except ImportError:  # older WTForms
    def SelectChoice(value, label):  # noqa: N802
        return (value, label)


class FeeForm(Form):
    amount = StringField("Amount", validators=[Optional(), Length(max=20)],
                         description="Like 49.00; empty makes the certification free.")
    currency = SelectField("Currency", choices=[SelectChoice(c, c) for c in money.CURRENCIES], default="EUR")
    tax_note = StringField("Tax note", validators=[Optional(), Length(max=300)],
                           description='Shown on the receipt, e.g. "incl. 20% VAT".')


class ManualPaymentForm(Form):
    email = EmailField("Learner's email", validators=[DataRequired(), Length(max=254)])
    certification_id = SelectField("Certification", coerce=coerce_id)
    reference = StringField("Reference", validators=[DataRequired(), Length(max=200)],
                            description="The invoice number or bank reference.")

    def __init__(self, *args, certifications=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.certification_id.choices = [SelectChoice(c.id, c.name) for c in certifications]


class RefundForm(Form):
    note = StringField("Refund note", validators=[DataRequired(), Length(max=500)],
                       description="How the money went back, e.g. the credit note number.")


class StripeSettingsForm(Form):
    secret_key = PasswordField("Secret key", validators=[Optional(), Length(max=255)],
                               description="sk_live_… or a restricted key rk_live_… "
                                           "(Checkout Sessions: write).")
    webhook_secret = PasswordField("Webhook signing secret", validators=[Optional(), Length(max=255)],
                                   description="whsec_… of the endpoint you add in Stripe.")
    clear = BooleanField("Remove both keys (online payment off)")
