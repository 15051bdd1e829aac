"""Branding (Admin › Settings): validation, who may change it, and where it shows (public pages, login,
emails, the generated stylesheet)."""

from __future__ import annotations

import io
import re
import struct
import zlib

import pytest
from PIL import Image
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, OrganisationSettings
from app.services import organisation
from app.services.errors import ValidationError
from app.services.messaging import outbox

GOOD = {"name": "St. Brigid's College", "about": "Training nurses since 1921", "colour": "#7a1f3d"}


def _png(width: int = 300, height: int = 120, colour=(20, 60, 160, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def _bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny file that claims to be a 900-megapixel image (zeros compress to almost nothing)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width // 8 + 1) * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def _post(client, data: dict, logo: bytes | None = None, filename: str = "logo.png"):
    form = {"csrf_token": client.csrf_token, **data}
    if logo is not None:
        form["logo"] = (io.BytesIO(logo), filename)
    return client.post("/admin/settings", data=form, content_type="multipart/form-data")


def test_only_admins_open_the_settings(app, login_as, admin, staff, learner):
    assert app.test_client().get("/admin/settings").status_code == 302  # to the login page
    for user in (staff, learner):
        client = login_as(user)
        assert client.get("/admin/settings").status_code == 403
        assert _post(client, GOOD).status_code == 403
    assert db.session.scalar(select(OrganisationSettings)) is None
    page = login_as(admin).get("/admin/settings")
    assert page.status_code == 200 and 'href="/admin/settings"' in page.get_data(as_text=True)  # in the nav


def test_defaults_come_from_the_environment(app, client):
    brand = organisation.branding()
    assert brand.name == app.config["ORG_NAME"] and brand.logo_url is None and brand.colour == "#1f5f4a"
    html = client.get("/login").get_data(as_text=True)
    assert f"Log in to {app.config['ORG_NAME']}" in html and "Powered by Laurel" in html


def test_saved_branding_shows_on_login_verify_and_stylesheet(app, login_as, admin, learner, issue):
    client = login_as(admin)
    response = _post(client, GOOD, logo=_png())
    assert response.status_code == 302, response.get_data(as_text=True)
    row = db.session.scalar(select(OrganisationSettings))
    assert (row.name, row.about, row.colour, row.version) == (GOOD["name"], GOOD["about"], GOOD["colour"], 1)
    assert "organisation.branding_updated" in db.session.scalars(select(AuditEvent.action)).all()

    anonymous = app.test_client()
    login_page = anonymous.get("/login").get_data(as_text=True)
    assert "Log in to St. Brigid&#39;s College" in login_page and GOOD["about"] in login_page
    assert '<link rel="stylesheet" href="/branding.css?v=1">' in login_page
    assert 'src="/branding/logo.png?v=1"' in login_page
    assert "<title>Log in · St. Brigid&#39;s College</title>" in login_page
    assert 'style="' not in login_page  # CSP: the colour comes from /branding.css

    css = anonymous.get("/branding.css?v=1")
    assert css.mimetype == "text/css" and "--laurel: #7a1f3d" in css.get_data(as_text=True)
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert anonymous.get("/branding.css?v=0").headers["Cache-Control"] == "public, max-age=60"

    logo = anonymous.get("/branding/logo.png?v=1")
    assert logo.status_code == 200 and logo.mimetype == "image/png"
    assert logo.headers["X-Content-Type-Options"] == "nosniff"

    cert = issue(learner)
    verify = anonymous.get(f"/verify/{cert.code}").get_data(as_text=True)
    assert '<meta property="og:site_name" content="St. Brigid&#39;s College">' in verify
    assert 'class="brand-logo" src="/branding/logo.png?v=1"' in verify  # issuer with logo
    # The title and the header are the school's; Laurel only in the footer.
    title = re.search(r"<title>([^<]*)</title>", verify).group(1)
    assert title.endswith("St. Brigid&#39;s College") and "Laurel" not in title
    brand = re.search(r'class="navbar-brand.*?</a>', verify, re.S).group(0)
    assert "St. Brigid&#39;s College" in brand and "Laurel" not in brand.replace("laurel.svg", "")
    assert "Powered by Laurel</footer>" in verify
    old_share_link = anonymous.get(f"/s/{cert.code}", follow_redirects=True).get_data(as_text=True)
    assert "St. Brigid&#39;s College" in old_share_link


def test_emails_carry_the_branding(app, login_as, admin):
    assert _post(login_as(admin), GOOD, logo=_png()).status_code == 302
    row = outbox.queue_email("someone@example.com", "invite", subject="Welcome",
                             context={"name": "Ann", "invite_url": "http://localhost/x", "inviter": "Bo",
                                      "expires_days": 7})
    html = row.html_body
    assert "St. Brigid's College" in html or "St. Brigid&#39;s College" in html
    assert "background:#7a1f3d" in html and 'src="http://localhost/branding/logo.png?v=1"' in html
    assert GOOD["about"] in html and "Powered by Laurel" in html


def test_logo_is_re_encoded_and_shrunk(login_as, admin):
    assert _post(login_as(admin), GOOD, logo=_png(3000, 3000)).status_code == 302
    data = organisation.read_logo()
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size == (400, 400)


def test_removing_the_logo(app, login_as, admin):
    client = login_as(admin)
    assert _post(client, GOOD, logo=_png()).status_code == 302
    assert _post(client, {**GOOD, "remove_logo": "y"}).status_code == 302
    assert organisation.branding().logo_url is None
    assert app.test_client().get("/branding/logo.png").status_code == 404


@pytest.mark.parametrize(("field", "value", "message"), [
    ("colour", "#12345", "#rrggbb"),
    ("colour", "red", "#rrggbb"),
    ("colour", "#ffff00", "darker colour"),  # white text on yellow is unreadable
    ("colour", "#1f5f4a;}body{x", "7 characters"),
    ("name", "", "This field is required"),
    ("name", "N" * 121, "120 characters"),
    ("name", "Evil\r\nBcc: x@example.com", "single line"),
    ("about", "A" * 201, "200 characters"),
    ("about", "Tab\there", "tab"),
])
def test_bad_values_are_refused_next_to_the_field(login_as, admin, field, value, message):
    response = _post(login_as(admin), {**GOOD, field: value})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(rf'id="{field}-error">([^<]+)<', html)
    assert error and message.lower() in error.group(1).lower(), html[-3000:]
    assert db.session.scalar(select(OrganisationSettings)) is None


def test_nul_characters_are_refused_before_the_form(login_as, admin):
    assert _post(login_as(admin), {**GOOD, "name": "Nul\x00Name"}).status_code == 400  # app/web/inputs.py
    assert db.session.scalar(select(OrganisationSettings)) is None


@pytest.mark.parametrize(("logo", "filename", "message"), [
    (b"<html><script>alert(1)</script></html>", "logo.png", "Only PNG and JPEG"),
    (b"GIF89a" + b"\x00" * 100, "logo.gif", "Only PNG and JPEG"),
    (b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10, "logo.png", "could not be read"),
    (_bomb_png(), "bomb.png", "use a smaller image"),
])
def test_hostile_logos_are_refused(login_as, admin, logo, filename, message):
    response = _post(login_as(admin), GOOD, logo=logo, filename=filename)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(OrganisationSettings)) is None


def test_logos_over_2_mb_are_refused():
    # Called on the service: werkzeug's test client leaves its spooled request file open for bodies this big.
    with pytest.raises(ValidationError) as refused:
        big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024)
        organisation.update_branding(GOOD, logo=big, actor="test")
    assert "larger than 2 MB" in refused.value.errors["logo"]
    assert db.session.scalar(select(OrganisationSettings)) is None
