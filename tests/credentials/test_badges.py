"""Badge images: uploads checked (PNG re-encoded, SVG drawing only), hostile files refused with nothing
stored, the generated badge, the public image routes and the certification page's Badge card."""

from __future__ import annotations

import base64
import io
import math
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from app.credentials import badge_images
from app.documents.storage import get_storage
from app.extensions import db
from app.models import AuditEvent, BadgeImage, Certification
from app.services.credentials import badges
from tests.support.certificates import certification, issue  # noqa: F401

SVG_NS = 'xmlns="http://www.w3.org/2000/svg"'
GOOD_SVG = (f'<svg {SVG_NS} width="120" height="120" viewBox="0 0 120 120">'
            '<circle cx="60" cy="60" r="50" fill="#1f5f4a"/><path d="M30 60 L55 85 L95 35" stroke="#fff" '
            'stroke-width="10" fill="none"/></svg>').encode()


def png_bytes(size=(64, 64), colour=(200, 30, 60, 255), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, colour).save(out, format="PNG", **save)
    return out.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def stored_badge_files() -> set[str]:
    root = Path(get_storage().root) / "badges"
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def multipart(fields: dict[str, str], data: bytes, filename: str, boundary: str = "laurelboundary") -> bytes:
    """A multipart body built by hand: the test client's own builder spools big files to a temporary file
    that it leaves open (a ResourceWarning, an error under filterwarnings = error)."""
    head = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                   for name, value in fields.items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="badge"; filename="{filename}"\r\n'
             "Content-Type: application/octet-stream\r\n\r\n")
    return head.encode() + data + f"\r\n--{boundary}--\r\n".encode()


def upload(client, certification_id: int, data: bytes, filename: str = "badge.png", htmx: bool = True,
           csrf: bool = True):
    headers = {"HX-Request": "true"} if htmx else {}
    fields = {"csrf_token": client.csrf_token} if csrf else {}
    return client.post(f"/certifications/{certification_id}/badge", headers=headers,
                       data=multipart(fields, data, filename),
                       content_type="multipart/form-data; boundary=laurelboundary")


# --------------------------------------------------------------------------------------------
# Every certification has a badge with a random token
# --------------------------------------------------------------------------------------------


def test_a_new_certification_gets_a_generated_badge_with_a_random_token(certification):  # noqa: F811
    badge = badges.badge_of(certification.id)
    assert badge is not None and badge.source == "generated"
    assert len(badge.token) >= 22 and str(certification.id) != badge.token
    picture = badges.png(badge)
    image = Image.open(io.BytesIO(picture.data))
    assert image.format == "PNG" and image.size == (600, 600)


def test_the_badge_goes_with_its_certification(certification):  # noqa: F811
    from app.services.lifecycle import catalog

    catalog.delete_certification(certification, actor="test")
    db.session.commit()
    assert db.session.query(BadgeImage).count() == 0


# --------------------------------------------------------------------------------------------
# The generated badge
# --------------------------------------------------------------------------------------------


LONG_NAMES = {
    "words": ("Advanced Paediatric Emergency Life Support and Interprofessional Resuscitation "
              "Leadership for Supercalifragilisticexpialidociouslylongwordedness Practitioners ") * 2,
    "one word": "W" * 200,
    "wide letters and spaces": "WWWW MMMM " * 20,
}


@pytest.mark.parametrize("kind", list(LONG_NAMES))
def test_a_200_character_name_stays_inside_the_badge(kind):
    name = LONG_NAMES[kind][:200]
    assert len(name) == 200
    layout = badge_images.layout_name(name)
    font = badge_images._font(layout.font_size)
    assert all(font.getlength(line) <= badge_images.NAME_BOX[0] for line in layout.lines)
    assert len(layout.lines) * badge_images._line_height(layout.font_size) <= badge_images.NAME_BOX[1]

    image = Image.open(io.BytesIO(badge_images.draw_badge(name, "#8a1f3c"))).convert("RGBA")
    assert image.size == (600, 600)
    # Independent of the layout code: every white text pixel lies well inside the inner ring.
    text_pixels = [(x, y) for y in range(0, 600, 2) for x in range(0, 600, 2)
                   if image.getpixel((x, y))[:3] >= (235, 235, 235) and image.getpixel((x, y))[3] > 200
                   and math.dist((x, y), (300, 300)) < 255]
    assert text_pixels, "the name was drawn"
    assert max(math.dist(p, (300, 300)) for p in text_pixels) < 255
    xs, ys = [p[0] for p in text_pixels], [p[1] for p in text_pixels]
    assert min(xs) >= 95 and max(xs) <= 505 and min(ys) >= 160 and max(ys) <= 440
    # Nothing drawn outside the disc (the corners stay transparent).
    assert image.getpixel((2, 2))[3] == 0 and image.getpixel((597, 597))[3] == 0


def test_the_generated_badge_uses_the_branding_logo_and_is_kept(certification, admin):  # noqa: F811
    from app.services import organisation

    organisation.update_branding({"name": "Laurel Academy", "colour": "#1f5f4a"},
                                 logo=png_bytes((200, 100), (250, 200, 0, 255)), actor=admin)
    db.session.commit()
    badge = badges.badge_of(certification.id)
    first = badges.png(badge).data
    image = Image.open(io.BytesIO(first)).convert("RGBA")
    assert image.getpixel((300, 118))[:3] == (250, 200, 0)  # the logo, on its white disc
    assert any(name.startswith("generated/") for name in stored_badge_files())
    assert badges.png(badge).data == first  # read back, not drawn again


# --------------------------------------------------------------------------------------------
# Uploads through the certification page
# --------------------------------------------------------------------------------------------


def test_admin_uploads_a_png_and_it_is_re_encoded(certification, admin, login_as):  # noqa: F811
    client = login_as(admin)
    original = png_bytes((2000, 1000)) + b"TRAILING-SECRET"
    response = upload(client, certification.id, original)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "The badge image is saved" in response.get_data(as_text=True)
    badge = badges.badge_of(certification.id)
    assert badge.source == "png" and badge.version == 2
    stored = get_storage().read(badge.png_key)
    assert b"TRAILING-SECRET" not in stored
    assert Image.open(io.BytesIO(stored)).size == (1024, 512)
    served = client.get(f"/badges/{badge.token}.png")
    assert served.status_code == 200 and served.mimetype == "image/png" and served.data == stored
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "public" in served.headers["Cache-Control"]
    assert db.session.query(AuditEvent).filter_by(action="certification.badge_uploaded").count() == 1


def test_an_svg_is_kept_and_served_sandboxed_with_a_png_copy(certification, admin, login_as):  # noqa: F811
    client = login_as(admin)
    response = upload(client, certification.id, b"\xef\xbb\xbf  " + GOOD_SVG, "badge.svg")
    assert response.status_code == 200, response.get_data(as_text=True)
    badge = badges.badge_of(certification.id)
    assert badge.source == "svg" and badge.svg_key and badge.png_key
    svg = client.get(f"/badges/{badge.token}.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert svg.headers["Content-Security-Policy"].startswith("sandbox")
    assert svg.headers["X-Content-Type-Options"] == "nosniff"
    assert b"<circle" in svg.data
    png = Image.open(io.BytesIO(client.get(f"/badges/{badge.token}.png").data)).convert("RGBA")
    assert png.size == (600, 600)
    assert png.getpixel((300, 100))[:3] == (0x1f, 0x5f, 0x4a)  # the circle, drawn


def test_remove_goes_back_to_the_generated_badge(certification, admin, login_as):  # noqa: F811
    client = login_as(admin)
    assert upload(client, certification.id, png_bytes()).status_code == 200
    uploaded_key = badges.badge_of(certification.id).png_key
    response = client.post(f"/certifications/{certification.id}/badge/delete",
                           data={"csrf_token": client.csrf_token}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    db.session.expire_all()
    badge = badges.badge_of(certification.id)
    assert badge.source == "generated" and badge.png_key is None
    assert not get_storage().exists(uploaded_key)  # discarded after the commit


def test_a_plain_form_post_redirects_back_to_the_certification(certification, admin, login_as):  # noqa: F811
    client = login_as(admin)
    response = upload(client, certification.id, png_bytes(), htmx=False)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/certifications/{certification.id}#certification-badge")


def test_staff_and_learners_cannot_upload(certification, staff, learner, login_as):  # noqa: F811
    for user in (staff, learner):
        client = login_as(user)
        assert upload(client, certification.id, png_bytes()).status_code == 403
    assert badges.badge_of(certification.id).source == "generated"


def test_upload_without_csrf_is_refused(certification, admin, login_as):  # noqa: F811
    client = login_as(admin)
    response = upload(client, certification.id, png_bytes(), csrf=False)
    assert response.status_code in (400, 403)
    assert badges.badge_of(certification.id).source == "generated"


def _huge_png_header(side: int) -> bytes:
    """A PNG whose header promises side × side pixels, with (almost) no data."""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def _billion_laughs() -> bytes:
    def body(i: int) -> str:
        return (f"&lol{i - 1};" if i > 1 else "&lol;") * 10

    entities = '<!ENTITY lol "lol">' + "".join(f'<!ENTITY lol{i} "{body(i)}">' for i in range(1, 10))
    return (f'<?xml version="1.0"?><!DOCTYPE svg [{entities}]>'
            f'<svg {SVG_NS} width="10" height="10"><text>&lol9;</text></svg>').encode()


def _use_bomb() -> bytes:
    parts = [f'<svg {SVG_NS} xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10"><defs>',
             '<g id="l0"><rect width="1" height="1"/></g>']
    for level in range(1, 8):
        uses = "".join(f'<use xlink:href="#l{level - 1}"/>' for _ in range(10))
        parts.append(f'<g id="l{level}">{uses}</g>')
    parts.append('</defs><use xlink:href="#l7"/></svg>')
    return "".join(parts).encode()


HOSTILE_SVGS = {
    "script": f'<svg {SVG_NS}><script>alert(1)</script></svg>'.encode(),
    "onload": f'<svg {SVG_NS} onload="alert(1)"><rect width="1" height="1"/></svg>'.encode(),
    "onclick on a child": f'<svg {SVG_NS}><rect OnClick="alert(1)" width="1" height="1"/></svg>'.encode(),
    "foreignObject": (f'<svg {SVG_NS}><foreignObject><div xmlns="http://www.w3.org/1999/xhtml">hi</div>'
                      '</foreignObject></svg>').encode(),
    "external href": (f'<svg {SVG_NS} xmlns:xlink="http://www.w3.org/1999/xlink">'
                      '<image xlink:href="https://evil.example/x.png" width="1" height="1"/></svg>').encode(),
    "file href": f'<svg {SVG_NS}><image href="file:///etc/passwd" width="1" height="1"/></svg>'.encode(),
    "javascript link": (f'<svg {SVG_NS}><a href="javascript:alert(1)"><rect width="1" height="1"/></a>'
                        '</svg>').encode(),
    "css url": (f'<svg {SVG_NS}><rect fill="url(https://evil.example/p)" width="1" height="1"/>'
                '</svg>').encode(),
    "css import": f'<svg {SVG_NS}><style>@import "https://evil.example/a.css";</style></svg>'.encode(),
    "animation rewriting href": (f'<svg {SVG_NS}><set attributeName="href" to="javascript:alert(1)"/>'
                                 '</svg>').encode(),
    "billion laughs": _billion_laughs(),
    "external entity": (f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                        f'<svg {SVG_NS}><text>&x;</text></svg>').encode(),
    "use explosion": _use_bomb(),
    "html root": b'<?xml version="1.0"?><html><body>hi</body></html>',
    "not xml": b"<svg this is not xml",
    "too deep": (f'<svg {SVG_NS}>' + "<g>" * 200 + "</g>" * 200 + "</svg>").encode(),
    "too large": f'<svg {SVG_NS}><!--{"x" * 600_000}--></svg>'.encode(),
    "embedded bomb": (f'<svg {SVG_NS}><image href="data:image/png;base64,'
                      + base64.b64encode(_huge_png_header(50_000)).decode()
                      + '" width="1" height="1"/></svg>').encode(),
}


def _png_bomb() -> bytes:
    """A valid-looking 60,000 × 60,000 greyscale PNG of a few hundred bytes."""
    raw = zlib.compress(b"\x00" * 60_001 * 4, 9)  # the first rows; the header promises the rest
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60_000, 60_000, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def _text_bomb() -> bytes:
    """A small PNG with a zTXt chunk that inflates to 50 MB."""
    plain = png_bytes((4, 4))
    bomb = chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"A" * 50_000_000, 9))
    return plain[:-12] + bomb + plain[-12:]


HOSTILE_FILES = {
    **{f"svg: {name}": (data, "badge.svg") for name, data in HOSTILE_SVGS.items()},
    "png: pixel bomb": (_png_bomb(), "badge.png"),
    "png: text chunk bomb": (_text_bomb(), "badge.png"),
    "png: truncated": (png_bytes()[:60], "badge.png"),
    "png: over 2 MB": (png_bytes((1600, 1600), optimize=False, compress_level=0), "badge.png"),
    "jpeg": (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "badge.png"),
    "gif named .png": (b"GIF89a" + b"\x00" * 50, "badge.png"),
    "empty": (b"", "badge.png"),
    "html named .svg": (b"<html><script>alert(1)</script></html>", "badge.svg"),
}


@pytest.mark.parametrize("name", list(HOSTILE_FILES))
def test_hostile_files_are_refused_with_422_and_nothing_stored(name, certification, admin,  # noqa: F811
                                                               login_as):
    data, filename = HOSTILE_FILES[name]
    client = login_as(admin)
    before = stored_badge_files()
    response = upload(client, certification.id, data, filename)
    assert response.status_code == 422, (name, response.status_code)
    page = response.get_data(as_text=True)
    assert 'class="invalid-feedback' in page or "alert-danger" in page
    db.session.expire_all()
    badge = badges.badge_of(certification.id)
    assert badge.source == "generated" and badge.version == 1 and badge.png_key is None
    assert stored_badge_files() == before
    assert db.session.query(AuditEvent).filter(AuditEvent.action.like("certification.badge%")).count() == 0


def test_a_body_over_the_upload_limit_is_413(app, certification, admin, login_as):  # noqa: F811
    client = login_as(admin)
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = upload(client, certification.id, b"\x89PNG\r\n\x1a\n" + b"\x00" * limit)
    assert response.status_code == 413
    assert badges.badge_of(certification.id).source == "generated"


def test_refused_svg_messages_say_why():
    with pytest.raises(badge_images.BadgeImageError, match="DTD"):
        badge_images.clean_svg(HOSTILE_SVGS["billion laughs"])
    with pytest.raises(badge_images.BadgeImageError, match="script"):
        badge_images.clean_svg(HOSTILE_SVGS["script"])
    with pytest.raises(badge_images.BadgeImageError, match="outside itself"):
        badge_images.clean_svg(HOSTILE_SVGS["external href"])


def test_a_fragment_reference_and_an_embedded_image_are_allowed():
    embedded = base64.b64encode(png_bytes((8, 8))).decode()
    svg = (f'<svg {SVG_NS} xmlns:xlink="http://www.w3.org/1999/xlink" width="20" height="20"><defs>'
           '<rect id="r" width="5" height="5" fill="red"/></defs><use xlink:href="#r"/>'
           f'<image href="data:image/png;base64,{embedded}" width="8" height="8"/></svg>').encode()
    cleaned = badge_images.clean_svg(svg)
    assert b"<!DOCTYPE" not in cleaned and b"data:image/png" in cleaned


# --------------------------------------------------------------------------------------------
# Public routes and pages
# --------------------------------------------------------------------------------------------


def test_unknown_and_absurd_tokens_are_404(client):
    for token in ("nope", "x" * 5000, "..%2F..%2Fetc", "%F0%9F%98%80"):
        assert client.get(f"/badges/{token}.png").status_code == 404
        assert client.get(f"/badges/{token}.svg").status_code == 404
    assert client.get("/badges/%00.png").status_code == 400  # a NUL in the address, refused before the view


def test_no_svg_for_a_png_badge(client, certification):  # noqa: F811
    badge = badges.badge_of(certification.id)
    assert client.get(f"/badges/{badge.token}.svg").status_code == 404


def test_the_badge_shows_on_the_certification_page_learner_page_and_verify_page(
        certification, issue, admin, staff, learner, login_as, client):  # noqa: F811
    cert = issue(learner)
    badge = badges.badge_of(certification.id)
    page = login_as(admin).get(f"/certifications/{certification.id}").get_data(as_text=True)
    assert 'data-testid="badge-card"' in page and f"/badges/{badge.token}.png" in page
    assert "Upload badge" in page
    staff_page = login_as(staff).get(f"/certifications/{certification.id}").get_data(as_text=True)
    assert f"/badges/{badge.token}.png" in staff_page and "Upload badge" not in staff_page
    mine = login_as(learner).get("/me/certificates").get_data(as_text=True)
    assert f"/badges/{badge.token}.png" in mine
    assert f"/ob2/assertions/{cert.code}/badge.png" in mine and "Open Badges 2 badge (PNG)" in mine
    verify = client.get(f"/verify/{cert.code}").get_data(as_text=True)
    assert f"/badges/{badge.token}.png" in verify


def test_a_new_upload_refreshes_the_cached_verify_page(certification, issue, learner, admin,  # noqa: F811
                                                      login_as, client):
    cert = issue(learner)
    before = client.get(f"/verify/{cert.code}").get_data(as_text=True)
    assert upload(login_as(admin), certification.id, png_bytes()).status_code == 200
    after = client.get(f"/verify/{cert.code}").get_data(as_text=True)
    assert "v=1" in before and before != after and "v=2" in after


def test_certifications_made_without_the_orm_get_a_badge_when_first_needed(certification):  # noqa: F811
    db.session.query(BadgeImage).delete()
    db.session.commit()
    row = db.session.get(Certification, certification.id)
    badge = badges.ensure_badge(row)
    db.session.commit()
    assert badges.by_token(badge.token).certification_id == certification.id
