"""Forms for certificate templates, their images, and template assignment."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.documents.designs import STARTERS
from app.models.template import ASSET_ROLES, ORIENTATIONS, PAGE_SIZES
from app.services.documents.designer import MAX_IMAGE_BYTES
from app.web.inputs import Form

try:  # WTForms 3.3 deprecates (value, label) tuples, and filterwarnings = error makes that fatal
    from wtforms import SelectChoice
except ImportError:  # older WTForms
    def SelectChoice(value, label):  # noqa: N802
        return (value, label)


def choices(values, labels=None) -> list:
    labels = labels or {}
    return [SelectChoice(v, labels.get(v, v.capitalize() if v.islower() else v)) for v in values]


class TemplateForm(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    page_size = SelectField("Page size", choices=choices(PAGE_SIZES), default="A4")
    orientation = SelectField("Orientation", choices=choices(ORIENTATIONS), default="landscape")
    html = TextAreaField("HTML (Jinja template)",
                         render_kw={"rows": 22, "spellcheck": "false", "class": "font-monospace"})
    css = TextAreaField("CSS", render_kw={"rows": 14, "spellcheck": "false"})
    is_default = BooleanField("Default template for certifications without their own")
    design = HiddenField()


class StartForm(Form):
    start = SelectField("Design", choices=choices([*STARTERS, "code"]))


class AssetForm(Form):
    role = SelectField("Image for", choices=choices(ASSET_ROLES))
    file = FileField(f"PNG or JPEG, at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB",
                     validators=[FileRequired("Choose an image file.")],
                     render_kw={"accept": "image/png,image/jpeg"})


class AssignForm(Form):
    template_id = SelectField("Certificate template", coerce=int)
