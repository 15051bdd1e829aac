"""Forms of the privacy pages."""

from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import Length

from app.services.privacy import policy
from app.web.inputs import Form
from app.web.numbers import BoundedIntegerField

try:  # WTForms 3.3 deprecates (value, label) tuples
    from wtforms import SelectChoice
except ImportError:  # older WTForms
    def SelectChoice(value, label):  # noqa: N802
        return (value, label)


def _days(label: str, name: str, description: str) -> BoundedIntegerField:
    low, high = policy.LIMITS[name]
    return BoundedIntegerField(label, minimum=low, maximum=high, description=description)


class PolicyForm(Form):
    erased_certificates = SelectField("When a person is erased, their certificates", choices=[
        SelectChoice("keep", "stay verifiable, issued to \u201ca person whose data was erased\u201d"),
        SelectChoice("revoke", "are revoked")])
    retention_enabled = BooleanField("Apply the retention periods in the daily sweep",
                                     description="Check the dry run below first: it lists what would go.")
    mail_body_days = _days("Mail bodies kept for (days)", "mail_body_days",
                           "The mail log keeps recipient, subject and dates; the text goes.")
    audit_years = _days("Audit rows kept for (years)", "audit_years", "Older audit rows are deleted.")
    expired_pdf_years = _days("PDFs of expired certificates kept for (years after expiry)",
                              "expired_pdf_years", "The certificate itself stays verifiable.")
    export_days = _days("Data exports kept for (days)", "export_days",
                        "A finished \u201cdownload my data\u201d ZIP is deleted after this.")


class EraseForm(Form):
    confirm = StringField("Type the person's email address to confirm", validators=[Length(max=254)])
