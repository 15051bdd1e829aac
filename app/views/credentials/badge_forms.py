"""The badge upload form (the certification page's Badge card)."""

from flask_wtf.file import FileField

from app.web.inputs import Form


class BadgeForm(Form):
    badge = FileField("Badge image (PNG or SVG, square works best)",
                      render_kw={"accept": "image/png,image/svg+xml,.svg"})
