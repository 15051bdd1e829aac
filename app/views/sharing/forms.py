"""Sharing forms. Address rules (at most five, valid) live in the service; the form only bounds sizes."""

from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.services.sharing.shares import MAX_MESSAGE, MAX_RECIPIENTS
from app.web.inputs import Form


class ShareEmailForm(Form):
    recipients = TextAreaField(
        "Email addresses", validators=[DataRequired(message="Enter at least one email address."),
                                       Length(max=MAX_RECIPIENTS * 260)],
        description=f"Up to {MAX_RECIPIENTS}, separated by commas or new lines.",
        render_kw={"rows": 2, "autocomplete": "email", "inputmode": "email"})
    message = TextAreaField("Message (optional)", validators=[Length(max=MAX_MESSAGE)], render_kw={"rows": 3})


def share_form(cert_id: int, formdata: object = None) -> ShareEmailForm:
    """One form per certificate card: the prefix keeps field ids unique on the page."""
    if formdata is None:
        return ShareEmailForm(formdata=None, prefix=f"share{cert_id}")
    return ShareEmailForm(prefix=f"share{cert_id}")


class PublicProfileForm(Form):
    """The public profile's settings; the handle rules (characters, reserved words, taken) live in the
    service, the form only bounds sizes."""

    handle = StringField("Handle", validators=[DataRequired(message="Choose a handle."), Length(max=200)],
                         render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none",
                                    "maxlength": 30})
    headline = StringField("Headline (optional)", validators=[Length(max=200)], render_kw={"maxlength": 120})
    enabled = BooleanField("Show my public profile")
