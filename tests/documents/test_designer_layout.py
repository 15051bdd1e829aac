"""The visual designer's engine and rules: the strict design validator (hostile JSON included), the
compiler to sandboxed HTML/CSS, fit_size, the overflow check against long real names in several
scripts, starters, saving through the service and the web routes (422, never 500)."""

from __future__ import annotations

import io
import json
import re

import pypdfium2
import pytest
from sqlalchemy import select

from app.documents import render_pdf, sample_context, validate_template
from app.documents.design_schema import MAX_ELEMENTS, DesignError, check_design, page_mm, parse_design
from app.documents.designs import STARTERS
from app.documents.fitting import PT_PER_MM, fit_size, overflows, text_width_pt
from app.documents.layout import compile_design, element_text, overflow_warnings
from app.documents.samples import LONG_NAMES, long_value_contexts
from app.extensions import db
from app.models.template import CertificateTemplate
from app.services.documents import designer, designer_layout
from app.services.errors import ValidationError


def text(**overrides) -> dict:
    element = {"kind": "text", "x": 20, "y": 20, "w": 150, "h": 15, "text": "{holder_name}",
               "font": "DejaVu Serif", "size": 28, "min_size": 10, "bold": True, "upper": False,
               "color": "#1f2a3a", "align": "center"}
    return {**element, **overrides}


# ------------------------------------------------------------------------------------------ validator

def test_valid_design_is_cleaned_with_defaults():
    clean = check_design([{"kind": "qr", "x": 1, "y": 2, "w": 20, "h": 20},
                          {"kind": "text", "x": 0, "y": 0, "w": 50, "h": 10, "text": "Hi {serial}"}])
    assert clean[0] == {"kind": "qr", "x": 1.0, "y": 2.0, "w": 20.0, "h": 20.0}
    assert clean[1]["font"] == "DejaVu Sans" and clean[1]["align"] == "center"


@pytest.mark.parametrize("design, message", [
    ({"kind": "text"}, "must be a list"),
    ([text(x=1e308)], "between"),
    ([text(x=float("inf"))], "number"),
    ([text(w=-5)], "between"),
    ([text(w=0.5)], "at least"),
    ([text(size=10_000)], "between"),
    ([text(min_size=30)], "min_size cannot be larger"),
    ([text(x="12")], "must be a number"),
    ([text(x=True)], "must be a number"),
    ([text(x=280)], "runs off"),
    ([text(font="Comic Sans MS")], "font must be one of"),
    ([text(font="../../etc/passwd")], "font must be one of"),
    ([text(color="red")], "#rrggbb"),
    ([text(color="#12345g")], "#rrggbb"),
    ([text(color="#123456; background: url(http://x)")], "#rrggbb"),
    ([text(align="justify")], "align must be one of"),
    ([text(text="A\x00B")], "NUL character"),
    ([text(text="line\nbreak")], "single line"),
    ([text(text="\u202eevil")], "Element 1"),
    ([text(text="x" * 301)], "longer than 300"),
    ([text(text="{holder_name.__class__}")], "braces"),
    ([text(text="{secret_key}")], "unknown placeholder"),
    ([text(text="{{ ''.__class__ }}")], "braces"),
    ([text(bold="yes")], "true or false"),
    ([text(onclick="alert(1)")], "unknown key"),
    ([{"kind": "script", "x": 0, "y": 0, "w": 10, "h": 10}], "kind must be one of"),
    ([{"kind": "image", "x": 0, "y": 0, "w": 10, "h": 10, "source": "file:///etc/passwd"}], "source"),
    ([{"kind": "box", "x": 0, "y": 0, "w": 10, "h": 10, "stroke": 99}], "stroke"),
    ([["nested"]], "must be an object"),
    ([text()] * (MAX_ELEMENTS + 1), "at most 60"),
])
def test_hostile_designs_are_refused_with_a_reason(design, message):
    with pytest.raises(DesignError) as info:
        check_design(design)
    assert message in str(info.value)


@pytest.mark.parametrize("raw, message", [
    ("not json", "not valid JSON"),
    ("[" * 5000 + "]" * 5000, "not valid JSON"),
    ('[{"kind": "qr", "kind": "text"}]', "not valid JSON"),
    ("[NaN]", "not valid JSON"),
    (json.dumps([{"kind": "qr", "x": 0, "y": 0, "w": 10, "h": 10}] * 10_000), "larger than"),
    ("[" + ",".join(['{"kind":"qr","x":0,"y":0,"w":3,"h":3}'] * 2000) + "]", "at most 60"),
])
def test_hostile_json_is_refused_never_raises_anything_else(raw, message):
    with pytest.raises(DesignError) as info:
        parse_design(raw)
    assert message in str(info.value)


def test_page_bounds_follow_size_and_orientation():
    assert page_mm("A4", "landscape") == (297.0, 210.0) and page_mm("Letter", "portrait") == (215.9, 279.4)
    check_design([text(x=0, y=250, w=100, h=20)], "A4", "portrait")
    with pytest.raises(DesignError):
        check_design([text(x=0, y=250, w=100, h=20)], "A4", "landscape")


# ------------------------------------------------------------------------------------------ compiler

def test_script_in_text_is_printed_as_text_not_markup():
    html, css = compile_design(check_design([text(text='<script>alert("x")</script> & {holder_name}')]),
                               "A4", "landscape")
    assert "<script" not in html and validate_template(html, css) == []
    pdf = render_pdf(html, css, sample_context())
    page_text = pypdfium2.PdfDocument(pdf)[0].get_textpage().get_text_range()
    assert '<script>alert("x")</script> & Zoë Ångström-Núñez' in page_text


def test_literal_text_cannot_break_out_of_the_jinja_literal():
    tricky = '" ~ holder_name.__class__ ~ " \\ %} {{ x }} Ω ü 中 `'
    html, css = compile_design(check_design([text(text=tricky.replace("{", "(").replace("}", ")"))]),
                               "A4", "landscape")
    assert validate_template(html, css) == []
    assert element_text(tricky.replace("{", "(").replace("}", ")"), {}) in render_text(html, css)


def render_text(html: str, css: str, **context) -> str:
    pdf = render_pdf(html, css, {**sample_context(), **context})
    return pypdfium2.PdfDocument(pdf)[0].get_textpage().get_text_range()


@pytest.mark.parametrize("key", list(STARTERS))
@pytest.mark.parametrize("page", [("A4", "landscape"), ("Letter", "portrait")])
def test_starters_compile_validate_and_render_one_page(key, page):
    elements = designer_layout.starter(key, *page)
    assert overflow_warnings(elements, long_value_contexts()) == []
    html, css = compile_design(elements, *page)
    assert validate_template(html, css) == []
    pdf = render_pdf(html, css, sample_context(), page_size=page[0], orientation=page[1])
    document = pypdfium2.PdfDocument(pdf)
    assert len(document) == 1
    assert "Zoë Ångström-Núñez" in document[0].get_textpage().get_text_range()


def test_uploaded_images_are_placed_and_missing_ones_leave_no_gap():
    import base64

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (300, 100), "#1f3a5f").save(out, format="PNG")
    logo = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")
    elements = designer_layout.starter("classic")
    html, css = compile_design(elements, "A4", "landscape")
    with_logo = pypdfium2.PdfDocument(render_pdf(html, css, {**sample_context(), "logo_url": logo}))
    without = pypdfium2.PdfDocument(render_pdf(html, css, sample_context()))
    kinds = [[obj.type for obj in doc[0].get_objects()] for doc in (with_logo, without)]
    image = pypdfium2.raw.FPDF_PAGEOBJ_IMAGE
    assert kinds[0].count(image) == kinds[1].count(image) + 1 and len(with_logo) == 1
    box = next(e for e in elements if e["kind"] == "image" and e["source"] == "logo")
    bounds = [o.get_bounds() for o in with_logo[0].get_objects() if o.type == image]
    left, bottom, right, top = next(b for b in bounds if b[2] - b[0] > 2 * (b[3] - b[1]))  # the 3:1 logo
    assert box["x"] * PT_PER_MM - 1 <= left and right <= (box["x"] + box["w"]) * PT_PER_MM + 1


def test_placeholders_print_like_the_builtin_template():
    context = {**sample_context(), "score": 92.0, "expires_on": None}
    assert element_text("{issued_on} | {expires_on} | {score} | {courses}", context) == (
        "14 March 2026 |  | 92% | Emergency First Aid at Work, Paediatric First Aid, "
        "Manual Handling and Safe Lifting")
    html, css = compile_design(check_design([text(text="{issued_on} | {score}", w=250, size=12, min_size=8)]),
                               "A4", "landscape")
    assert "14 March 2026 | 92.5%" in render_text(html, css)


# ------------------------------------------------------------------------------------------ fit_size

def test_fit_size_keeps_short_text_and_shrinks_long_text_to_the_box():
    assert fit_size("Ann Lee", 150, "DejaVu Serif", 28, 10, bold=True) == 28
    long = LONG_NAMES["a 60-character Latin name"]
    size = fit_size(long, 150, "DejaVu Serif", 28, 10, bold=True)
    assert 10 <= size < 28
    assert text_width_pt(long, "DejaVu Serif", size, bold=True) <= (150 - 1.5) * PT_PER_MM
    assert fit_size("W" * 500, 50, "DejaVu Sans", 28, 10) == 10  # never below the minimum
    assert fit_size("Ann", 150, "DejaVu Sans", 28, 10, height_mm=5) < 28  # the line fits the height


def test_fit_size_clamps_nonsense_arguments():
    assert fit_size("x", 100, "No Such Font", 1e9, -5) == 144
    assert 4 <= fit_size("x" * 10_000_000, 100, "DejaVu Sans", 12, 0) <= 12


def test_widths_cover_cjk_and_arabic():
    assert text_width_pt("愛新覺羅", "DejaVu Serif", 10) == pytest.approx(40)
    assert text_width_pt(LONG_NAMES["a long Arabic name"], "DejaVu Serif", 10) > 50


@pytest.mark.parametrize("label", list(LONG_NAMES))
def test_long_names_in_every_script_stay_inside_their_box(label):
    """Rendered for real: every character of the name lies inside the text box and the page."""
    name = LONG_NAMES[label]
    box = text(x=30, y=80, w=237, h=17, size=30, min_size=12)
    html, css = compile_design(check_design([box]), "A4", "landscape")
    pdf = render_pdf(html, css, {**sample_context(), "holder_name": name})
    page = pypdfium2.PdfDocument(pdf)[0]
    text_page = page.get_textpage()
    boxes = [text_page.get_charbox(i) for i in range(text_page.count_chars())]
    boxes = [b for b in boxes if b[2] > b[0]]  # spaces have no box
    assert boxes
    for left, bottom, right, top in boxes:
        assert left >= 30 * PT_PER_MM - 1 and right <= 267 * PT_PER_MM + 1, (label, left, right)
        assert bottom >= 0 and top <= page.get_height()


# ------------------------------------------------------------------------------------------ overflow

def test_overflow_is_flagged_for_a_box_too_small_for_long_names():
    small = text(w=60, h=8, size=20, min_size=14)
    warnings = overflow_warnings(check_design([small]), long_value_contexts())
    assert warnings and warnings[0]["element"] == 0 and "does not fit" in warnings[0]["message"]
    assert overflow_warnings(check_design([text(w=250, h=20)]), long_value_contexts()) == []
    assert overflows("Ann " * 40, 50, 5, "DejaVu Sans", 10)
    assert not overflows("Ann", 50, 5, "DejaVu Sans", 10)


# ------------------------------------------------------------------------------------------ service and web

def values(design: list, **overrides) -> dict:
    return {"name": "Designed", "page_size": "A4", "orientation": "landscape", "mode": "design",
            "design": json.dumps(design), "html": "", "css": "", **overrides}


def test_saving_a_design_compiles_it_and_code_detaches_it():
    template = designer.create_template(values([text()]), actor="test")
    db.session.commit()
    assert json.loads(template.design)[0]["text"] == "{holder_name}" and "fit_size(" in template.html
    changed = designer.update_template(template, {"name": "Designed", "html": "<p>{{ holder_name }}</p>",
                                                  "css": "", "mode": "code"}, actor="test")
    assert "design" in changed and template.design is None


def test_bad_design_is_a_validation_error_and_nothing_saved():
    with pytest.raises(ValidationError) as info:
        designer.create_template(values([text(color="javascript:alert(1)")]), actor="test")
    db.session.rollback()
    assert "#rrggbb" in info.value.errors["design"]
    assert db.session.scalar(select(CertificateTemplate)) is None


def test_web_start_preview_save_and_hostile_posts(admin, login_as):
    client = login_as(admin)
    assert client.get("/admin/templates/starters/classic.png").mimetype == "image/png"
    assert client.get("/admin/templates/starters/nope.png").status_code == 404
    with client.get("/admin/templates/fonts/DejaVuSerif-Bold.ttf") as font:
        assert font.mimetype == "font/ttf" and font.data[:4] == b"\x00\x01\x00\x00"
    assert client.get("/admin/templates/fonts/..%2f..%2fconfig.ttf").status_code == 404
    response = client.post("/admin/templates/start",
                           data={"csrf_token": client.csrf_token, "start": "modern"})
    assert response.status_code == 302
    template = db.session.scalar(select(CertificateTemplate))
    assert template.name == "Modern certificate" and template.design
    page = client.get(f"/admin/templates/{template.id}").get_data(as_text=True)
    assert 'id="designer"' in page and not re.search(r"<[^>]+\sstyle=", page)  # CSP: no inline styles

    base = {"csrf_token": client.csrf_token, "template_id": template.id, "page_size": "A4",
            "orientation": "landscape"}
    ok = client.post("/admin/templates/design-preview", data={**base, "design": template.design})
    assert ok.status_code == 200 and ok.json["image"].startswith("data:image/png")
    assert ok.json["warnings"] == []
    tight = client.post("/admin/templates/design-preview",
                        data={**base, "design": json.dumps([text(w=40, h=8, min_size=14, size=20)])})
    assert tight.status_code == 200 and tight.json["warnings"]
    for hostile in ("[" * 100_000, json.dumps([text(x=-1)]), "{}", "", '[{"kind": "qr"}]'):
        bad = client.post("/admin/templates/design-preview", data={**base, "design": hostile})
        assert bad.status_code == 422 and bad.json["error"]
        saved = client.post(f"/admin/templates/{template.id}", data={
            **base, "name": "Modern certificate", "mode": "design", "design": hostile, "html": "x",
            "css": ""})
        assert saved.status_code == 422
    # A NUL anywhere in a request is refused before any view runs (app-wide rule): 400, not 500.
    assert client.post("/admin/templates/design-preview", data={**base, "design": "\x00"}).status_code == 400
    db.session.expire_all()
    assert db.session.get(CertificateTemplate, template.id).design == template.design
    # Saved with a box too small for long names: saved, and the admin is told which box and why.
    saved = client.post(f"/admin/templates/{template.id}", data={
        **base, "name": "Modern certificate", "mode": "design", "html": "", "css": "",
        "design": json.dumps([text(w=40, h=8, min_size=14, size=20)])}, follow_redirects=True)
    assert "Template saved" in saved.get_data(as_text=True)
    assert "too small for long names" in saved.get_data(as_text=True)


def test_upload_before_any_save_is_possible(admin, login_as):
    """The chooser creates the template, so its page offers the upload form at once."""
    from PIL import Image

    client = login_as(admin)
    client.post("/admin/templates/start", data={"csrf_token": client.csrf_token, "start": "classic"})
    template = db.session.scalar(select(CertificateTemplate))
    out = io.BytesIO()
    Image.new("RGB", (60, 30), "navy").save(out, format="PNG")
    response = client.post(f"/admin/templates/{template.id}/assets", data={
        "csrf_token": client.csrf_token, "role": "logo", "file": (io.BytesIO(out.getvalue()), "logo.png")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "Logo image saved" in response.get_data(as_text=True)
