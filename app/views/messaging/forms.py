"""Messaging forms: an admin's own text for a lifecycle email."""

from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.services.messaging.email_texts import MAX_BODY, MAX_SUBJECT
from app.web.inputs import Form


class EmailTextForm(Form):
    subject = StringField("Subject", validators=[DataRequired(), Length(max=MAX_SUBJECT)])
    body = TextAreaField("Text of the email", validators=[DataRequired(), Length(max=MAX_BODY)],
                         render_kw={"rows": 16, "spellcheck": "true"})
