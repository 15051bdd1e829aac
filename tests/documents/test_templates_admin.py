"""Template admin: validation with line numbers (nothing saved), sandbox, images, assignment, preview."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.documents import default_template
from app.documents.storage import get_storage
from app.extensions import db
from app.models import AuditEvent, Certificate
from app.models.template import CertificateTemplate
from app.services.documents import designer, rendering
from app.services.errors import ValidationError
from tests.documents.conftest import pdf_text


def png_bytes(color: str = "red", size: tuple[int, int] = (40, 20), fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


def template_values(**overrides) -> dict:
    html, css = default_template()
    return {"name": "Gold", "html": html, "css": css, "page_size": "A4", "orientation": "landscape",
            **overrides}


def template_count() -> int:
    return db.session.scalar(select(func.count()).select_from(CertificateTemplate))


def test_create_valid_template_is_saved_and_audited():
    template = designer.create_template(template_values(is_default=True), actor="test")
    db.session.commit()
    assert template.is_default and template_count() == 1
    actions = db.session.scalars(select(AuditEvent.action)
                                 .where(AuditEvent.subject_type == "certificate_template"))
    assert list(actions) == ["template.created"]


def test_syntax_error_reported_with_line_and_not_saved():
    html = "<html><body>\n<p>{{ holder_name }}</p>\n<p>{% if score %}{{ score }}</p>\n</body></html>"
    with pytest.raises(ValidationError) as info:
        designer.create_template(template_values(html=html), actor="test")
    db.session.rollback()
    assert "line" in info.value.errors["html"].lower()
    assert template_count() == 0


@pytest.mark.parametrize("html, expected", [
    ("<p>{{ ''.__class__.__mro__[1].__subclasses__() }}</p>", "underscore"),
    ("<p>{{ holder_name.__class__ }}</p>", "underscore"),
    ("<p>{{ holder_name|attr('__class__') }}</p>", "underscore"),
    ('<img src="file:///etc/passwd">', "will not be loaded"),
    ('<img src="http://169.254.169.254/latest/meta-data">', "will not be loaded"),
    ("<p>{{ holdr_name }}</p>", "holder_name"),
])
def test_sandbox_refusals_are_clear_and_not_saved(html, expected):
    with pytest.raises(ValidationError) as info:
        designer.create_template(template_values(html=f"<html><body>\n{html}\n</body></html>"),
                                        actor="test")
    db.session.rollback()
    message = info.value.errors["html"]
    assert expected in message and "line 2" in message.lower()
    assert template_count() == 0


def test_hostile_template_saved_behind_our_back_still_fails_safely(learner, certification, issue, jobs):
    """Even when validation is bypassed, the renderer neither runs code nor reads local files."""
    template = CertificateTemplate(name="Hostile", html=(
        "<html><body><p>{{ holder_name }}</p><img src=\"file:///etc/passwd\">"
        "<img src=\"/etc/passwd\"><p>{{ ''.__class__.__mro__ }}</p></body></html>"))
    db.session.add(template)
    db.session.flush()
    certification.template_id = template.id
    db.session.commit()
    cert = issue(learner)
    jobs()
    db.session.expire_all()
    cert = db.session.get(Certificate, cert.id)
    assert cert.pdf_status == "failed"
    assert "underscore" in cert.pdf_error
    template.html = "<html><body><p>{{ holder_name }}</p><img src=\"file:///etc/passwd\"></body></html>"
    db.session.commit()
    rendering.regenerate(cert, actor="test")
    db.session.commit()
    jobs()
    db.session.expire_all()
    cert = db.session.get(Certificate, cert.id)
    text = pdf_text(get_storage().read(cert.pdf_key)) if cert.pdf_key else ""
    assert "root:" not in text
    assert cert.pdf_status in ("ready", "failed")


def test_web_form_shows_errors_with_line_and_keeps_input(admin, login_as):
    client = login_as(admin)
    html = "<html><body>\n<p>{{ holder_name }</p>\n</body></html>"
    response = client.post("/admin/templates/new", data={
        "csrf_token": client.csrf_token, "name": "Bad", "html": html, "css": "", "page_size": "A4",
        "orientation": "landscape"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "HTML line 2" in page and "was not saved" in page
    assert "{{ holder_name }&lt;/p&gt;" in page or "{{ holder_name }</p>" in page.replace("&lt;", "<")
    assert template_count() == 0


def test_web_create_edit_assign_and_render(admin, learner, certification, issue, jobs, login_as):
    client = login_as(admin)
    assert client.get("/admin/templates").status_code == 200
    chooser = client.get("/admin/templates/new").get_data(as_text=True)
    assert "Use Classic" in chooser and "Start from HTML/CSS" in chooser
    new_page = client.get("/admin/templates/new?code=1").get_data(as_text=True)
    assert "{{ holder_name }}" in new_page
    html = "<html><head></head><body><p>GOLD EDITION</p><p>{{ holder_name }}</p></body></html>"
    response = client.post("/admin/templates/new", data={
        "csrf_token": client.csrf_token, "name": "Gold", "html": html, "css": "p { color: #a80; }",
        "page_size": "Letter", "orientation": "portrait"})
    assert response.status_code == 302
    template = db.session.scalar(select(CertificateTemplate))
    response = client.post(f"/admin/certifications/{certification.id}/template",
                           data={"csrf_token": client.csrf_token, "template_id": template.id})
    assert response.status_code == 302
    cert = issue(learner)
    jobs()
    db.session.expire_all()
    cert = db.session.get(Certificate, cert.id)
    text = pdf_text(get_storage().read(cert.pdf_key))
    assert "GOLD EDITION" in text and "Lena Learner" in text


def test_image_upload_checks_type_by_content_and_size(admin, login_as):
    template = designer.create_template(template_values(), actor="test")
    db.session.commit()
    png = png_bytes()
    asset = designer.upload_asset(template, "logo", "logo.png", png, actor="test")
    assert asset.content_type == "image/png" and get_storage().read(asset.storage_key) == png
    jpeg = designer.upload_asset(template, "logo", "logo.jpg", png_bytes(fmt="JPEG"), actor="test")
    assert jpeg.content_type == "image/jpeg" and len(template.assets) == 1
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    for name, data, message in [("x.svg", svg, "PNG and JPEG"), ("fake.png", b"not an image", "PNG and JPEG"),
                                ("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * (3 * 1024 * 1024), "larger"),
                                ("empty.png", b"", "Choose")]:
        with pytest.raises(ValidationError) as info:
            designer.upload_asset(template, "signature", name, data, actor="test")
        assert message in info.value.errors["file"]
    db.session.commit()
    client = login_as(admin)
    response = client.post(f"/admin/templates/{template.id}/assets", data={
        "csrf_token": client.csrf_token, "role": "signature", "file": (io.BytesIO(svg), "sig.svg")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "Only PNG and JPEG" in response.get_data(as_text=True)
    response = client.post(f"/admin/templates/{template.id}/assets", data={
        "csrf_token": client.csrf_token, "role": "signature", "file": (io.BytesIO(png), "sig.png")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "Signature image saved" in response.get_data(as_text=True)
    db.session.expire_all()
    assert {a.role for a in db.session.get(CertificateTemplate, template.id).assets} == {"logo", "signature"}


def test_uploaded_logo_appears_in_rendered_pdf(learner, certification, issue, jobs):
    import pypdf

    template = designer.create_template(template_values(), actor="test")
    designer.upload_asset(template, "logo", "logo.png", png_bytes("blue", (120, 60)), actor="test")
    designer.assign(certification, template, actor="test")
    db.session.commit()
    cert = issue(learner)
    jobs()
    db.session.expire_all()
    cert = db.session.get(Certificate, cert.id)
    page = pypdf.PdfReader(io.BytesIO(get_storage().read(cert.pdf_key))).pages[0]
    sizes = {(image.image.width, image.image.height) for image in page.images}
    assert (120, 60) in sizes


def test_live_preview_renders_page_one_as_png(admin, login_as):
    client = login_as(admin)
    html, css = default_template()
    response = client.post("/admin/templates/preview", headers={"HX-Request": "true",
                                                                "X-CSRFToken": client.csrf_token},
                           data={"html": html, "css": css, "page_size": "A4", "orientation": "landscape"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert 'src="data:image/png;base64,' in page
    encoded = page.split('src="data:image/png;base64,', 1)[1].split('"', 1)[0]
    image = Image.open(io.BytesIO(base64.b64decode(encoded)))
    assert 890 <= image.width <= 910 and image.height < image.width  # landscape
    pdf_url = page.split('href="', 1)[1].split('"', 1)[0]
    assert client.get(pdf_url).data.startswith(b"%PDF")
    bad = client.post("/admin/templates/preview", data={"html": "<p>\n{% for %}</p>", "css": ""},
                      headers={"HX-Request": "true", "X-CSRFToken": client.csrf_token})
    assert bad.status_code == 422 and "line 2" in bad.get_data(as_text=True)


def test_templates_pages_are_admin_only(staff, learner, login_as):
    for user in (staff, learner):
        client = login_as(user)
        assert client.get("/admin/templates").status_code == 403
        assert client.post("/admin/templates/preview", headers={"X-CSRFToken": client.csrf_token},
                           data={"html": "<p>x</p>"}).status_code == 403
