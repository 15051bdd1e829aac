"""Certificate rendering: scripts, QR code, sandbox, resource policy, page sizes.

Pure Python (app.documents imports no Flask), so these run without the app fixtures.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import io
import threading
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pypdf
import pytest
import zxingcpp
from PIL import Image
from reportlab.pdfbase.ttfonts import TTFontFile

from app.documents import (
    FONTS_DIR,
    PLACEHOLDERS,
    RenderError,
    TemplateRenderError,
    default_template,
    qr_data_uri,
    render_pdf,
    sample_context,
    validate_template,
    warm_up,
)

MINIMAL_HTML = "<html><head></head><body><p>{{ holder_name }}</p></body></html>"


def render(**overrides: Any) -> bytes:
    """The default template with sample data, some of it replaced."""
    html, css = default_template()
    return render_pdf(html, css, {**sample_context(), **overrides})


def page_text(pdf: bytes) -> str:
    return pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def drawn_runs(pdf: bytes) -> list[tuple[str, str]]:
    """(text, font name) for every piece of text drawn on the first page."""
    runs: list[tuple[str, str]] = []

    def visit(text: str, _cm: Any, _tm: Any, font: Any, _size: Any) -> None:
        if text.strip() and font is not None:
            runs.append((text, str(font["/BaseFont"]).lstrip("/").split("+")[-1]))

    pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    return runs


@cache
def dejavu_coverage(font_name: str) -> frozenset[int]:
    """Code points the bundled DejaVu face called ``font_name`` (e.g. DejaVuSerif-Bold) has."""
    return frozenset(TTFontFile(str(FONTS_DIR / f"{font_name}.ttf")).charToGlyph)


def images(pdf: bytes) -> list[Image.Image]:
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    return [image.image for image in page.images]


# --------------------------------------------------------------------------------------------
# Scripts
# --------------------------------------------------------------------------------------------

NAMES = {
    "latin": "Zoë Ångström-Núñez",
    "greek": "Αλέξανδρος Παπαδόπουλος",
    "cyrillic": "Дмитрий Шостакович",
    "arabic": "محمد عبد الله الفلاني",
    "hebrew": "דוד בן־גוריון",
    "chinese": "王小明",
    "japanese": "山田 さくら",
    "korean": "김민준",
}
CJK_FACES = {"chinese": "STSong-Light", "japanese": "HeiseiMin-W3", "korean": "HYSMyeongJo-Medium"}


@pytest.mark.parametrize("script", NAMES)
def test_holder_name_is_drawn_in_every_script(script: str) -> None:
    name = NAMES[script]
    pdf = render(holder_name=name)

    # Arabic is drawn as presentation forms (the letters already joined: the PDF has no
    # shaping engine), so the extracted text holds e.g. U+FEE3 where the name has U+0645;
    # NFKC maps the forms back to the letters. pypdf gives RTL runs back in logical order
    # because each line is written as one string in the order xhtml2pdf laid it out.
    assert nfkc(name) in nfkc(page_text(pdf))

    # "In the PDF" must mean drawn, not boxes: every character of the name is drawn with a
    # face that has a glyph for it.
    runs = [(text, font) for text, font in drawn_runs(pdf) if set(nfkc(text)) & set(name) - {" "}]
    assert runs, "the name was not drawn at all"
    for text, font in runs:
        if script in CJK_FACES:
            # ReportLab's CID faces are the viewer's own CJK fonts (not embedded): being set
            # in the right face with the UCS-2 CMap is what makes them display.
            assert font in (CJK_FACES[script], *dejavu_faces()), (text, font)
            continue
        missing = {c for c in text if not c.isspace() and ord(c) not in dejavu_coverage(font)}
        assert not missing, f"{font} cannot draw {missing} in {text!r}"
    if script in CJK_FACES:
        assert any(font == CJK_FACES[script] for _text, font in runs)


def dejavu_faces() -> tuple[str, ...]:
    return tuple(path.stem for path in FONTS_DIR.glob("*.ttf"))


def test_cjk_face_is_only_declared_when_needed() -> None:
    latin_fonts = {font for _text, font in drawn_runs(render())}
    assert not latin_fonts & set(CJK_FACES.values())


def test_serial_and_verify_url_are_printed() -> None:
    context = sample_context()
    text = page_text(render())
    assert context["serial"] in text
    assert context["verify_url"] in text
    assert "Does not expire" in page_text(render(expires_on=None))


def test_bundled_fonts_are_embedded() -> None:
    fonts = {font for _text, font in drawn_runs(render())}
    assert {"DejaVuSerif", "DejaVuSerif-Bold", "DejaVuSans", "DejaVuSans-Bold"} <= fonts
    assert (FONTS_DIR / "LICENSE").read_text().count("Bitstream") > 3


# --------------------------------------------------------------------------------------------
# QR code
# --------------------------------------------------------------------------------------------


def decode_qr(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image.convert("L"))]


def test_qr_in_pdf_decodes_to_verify_url() -> None:
    url = "https://certs.example.org/verify/Zm9vYmFyYmF6cXV4MTIzNDU2"
    pdf = render(verify_url=url, qr_data_uri=None)  # made by the renderer from verify_url
    decoded = [text for image in images(pdf) for text in decode_qr(image)]
    assert decoded == [url]


def test_qr_data_uri_is_a_png_of_the_url() -> None:
    uri = qr_data_uri("https://x.example/verify/abc")
    assert uri.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert decode_qr(image) == ["https://x.example/verify/abc"]


# --------------------------------------------------------------------------------------------
# Sandbox and validation
# --------------------------------------------------------------------------------------------

ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ holder_name.__class__ }}",
    "{{ courses[0]['__class__'] }}",
    "{{ courses._private }}",
    "{{ courses.append('x') }}",
    "{{ 'a' * 100000000 }}",
]


@pytest.mark.parametrize("expression", ESCAPES)
def test_sandbox_escapes_are_reported_and_refused(expression: str) -> None:
    html = f"<html><body>\n<p>{expression}</p>\n</body></html>"
    errors = validate_template(html, "")
    assert errors, expression
    assert errors[0].line == 2
    assert any(
        word in errors[0].message for word in ("underscore", "not allowed", "not a known placeholder")
    ) or "unknown placeholder" in errors[0].message
    with pytest.raises(TemplateRenderError) as caught:
        render_pdf(html, "", sample_context())
    assert caught.value.errors and caught.value.errors[0].line == 2
    assert "subclasses" not in str(caught.value.errors[0].message).split("'")[0]


def test_underscore_error_message_is_clear() -> None:
    [error] = validate_template("{{ holder_name.__class__ }}", "")
    assert error.message == (
        "'__class__' is not allowed: templates cannot use names that start with an underscore"
    )


def test_syntax_error_reports_its_line() -> None:
    html = "<html>\n<body>\n<p>{{ holder_name }}</p>\n<p>{% if score %}{{ score }}</p>\n</body>\n</html>"
    errors = validate_template(html, "")
    assert len(errors) == 1
    assert errors[0].line == 4  # where the unclosed {% if %} starts
    assert "endif" in errors[0].message

    [error] = validate_template("<p>\n{{ holder_name }\n</p>", "")
    assert error.line == 2


def test_unknown_filter_and_placeholder_are_reported_with_suggestions() -> None:
    errors = validate_template("<p>{{ holder_name|uper }}</p>\n<p>{{ holdername }}</p>", "")
    messages = [(e.line, e.message) for e in errors]
    assert (1, "unknown filter 'uper' (did you mean 'upper'?)") in messages
    errors = validate_template("<p>{{ holdername }}</p>", "")
    assert [(e.line, e.message) for e in errors] == [
        (1, "unknown placeholder 'holdername' (did you mean 'holder_name'?)")
    ]


def test_template_assuming_an_expiry_date_is_caught() -> None:
    [error] = validate_template("<p>Valid until {{ expires_on.year }}</p>", "")
    assert "never expires" in error.message or "no expiry date" in error.message


def test_remote_and_file_references_are_flagged() -> None:
    css = "p { color: red; }\n.bg { background-image: url('https://cdn.example.com/x.png'); }"
    errors = validate_template('<img src="file:///etc/passwd">', css)
    assert {(e.part, e.line) for e in errors} == {("html", 1), ("css", 2)}
    assert any(e.part == "css" and "</style" in e.message for e in validate_template("", "</style>"))


def test_default_template_validates_cleanly() -> None:
    html, css = default_template()
    assert validate_template(html, css) == []


def test_data_is_escaped_and_css_is_not() -> None:
    html = "<html><head></head><body><p>{{ holder_name }}</p></body></html>"
    css = 'p > span { font-family: "DejaVu Sans"; }'
    pdf = render_pdf(html, css, {**sample_context(), "holder_name": "<b>Bobby</b> & Co"})
    assert "<b>Bobby</b> & Co" in page_text(pdf)


def test_placeholders_are_documented_and_sampled() -> None:
    assert set(sample_context()) == set(PLACEHOLDERS)
    assert all(description.strip() for description in PLACEHOLDERS.values())


# --------------------------------------------------------------------------------------------
# Resource policy
# --------------------------------------------------------------------------------------------


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[str]]]:
    """A real local HTTP server that records every request it gets."""
    hits: list[str] = []
    handler = type("Handler", (_CountingHandler,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def write_png(path: Path) -> Path:
    Image.new("RGB", (40, 20), (200, 30, 30)).save(path)
    return path


def test_files_outside_allowed_dirs_and_http_are_not_fetched(
    tmp_path: Path, http_server: tuple[str, list[str]]
) -> None:
    base_url, hits = http_server
    outside = write_png(tmp_path / "outside.png")
    html = f"""<html><head></head><body>
      <p>{{{{ holder_name }}}}</p>
      <img src="file:///etc/passwd">
      <img src="/etc/passwd">
      <img src="file://{outside}">
      <img src="{outside}">
      <img src="{base_url}/img.png">
      <img src="{base_url.replace('127.0.0.1', 'localhost')}/other.png">
      <p style="background-image: url('{base_url}/bg.png')">x</p>
    </body></html>"""
    css = f"@import url('{base_url}/evil.css');\nbody {{ background-image: url('file://{outside}'); }}"
    try:
        pdf = render_pdf(html, css, sample_context())
    except RenderError:
        return_value = None  # refusing the whole render is acceptable too
    else:
        return_value = pdf
    assert hits == []
    if return_value is not None:
        assert images(return_value) == []
        assert b"root:" not in return_value


def test_images_inside_asset_dirs_are_embedded(tmp_path: Path) -> None:
    logo = write_png(tmp_path / "logo.png")
    html, css = default_template()
    pdf = render_pdf(html, css, {**sample_context(), "logo_url": str(logo)}, asset_dirs=[tmp_path])
    sizes = sorted(image.size for image in images(pdf))
    assert (40, 20) in sizes  # the logo, next to the QR code


def test_data_uri_images_are_embedded() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 10), (0, 90, 0)).save(buffer, "PNG")
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    sizes = [image.size for image in images(render(signature_url=uri))]
    assert (30, 10) in sizes


# --------------------------------------------------------------------------------------------
# Pages and engine
# --------------------------------------------------------------------------------------------


def mediabox(pdf: bytes) -> tuple[int, int]:
    box = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    return round(float(box.width)), round(float(box.height))


def test_a4_landscape_single_page() -> None:
    pdf = render()
    assert mediabox(pdf) == (842, 595)
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 1


def test_letter_portrait() -> None:
    html, css = default_template()
    pdf = render_pdf(html, css, sample_context(), page_size="Letter", orientation="portrait")
    assert mediabox(pdf) == (612, 792)
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 1
    assert sample_context()["serial"] in page_text(pdf)


def test_page_arguments_override_the_css_page_size() -> None:
    css = "@page { size: a5 portrait; margin: 1cm; }"
    pdf = render_pdf(MINIMAL_HTML, css, sample_context(), page_size="A4", orientation="portrait")
    assert mediabox(pdf) == (595, 842)


def test_long_content_stays_on_one_page() -> None:
    pdf = render(
        holder_name="Maximilian Alexander Christopher von Habsburg-Lothringen-Esterházy",
        certification_name="Advanced Certificate in Occupational Health, Safety and Environmental Management",
        courses=[{"code": f"C-{n:03}", "title": f"Module {n}"} for n in range(25)],
    )
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 1


def test_bad_page_size_is_rejected() -> None:
    with pytest.raises(ValueError, match="page_size"):
        render_pdf(MINIMAL_HTML, "", sample_context(), page_size="A3")  # type: ignore[arg-type]


def test_dates_render_with_the_date_filter() -> None:
    html = (
        "<html><body><p>{{ issued_on|date }} / {{ issued_on|date('%Y-%m-%d') }}"
        " / [{{ expires_on|date }}]</p></body></html>"
    )
    pdf = render_pdf(html, "", {**sample_context(), "issued_on": dt.date(2026, 1, 5), "expires_on": None})
    assert "5 January 2026 / 2026-01-05 / []" in page_text(pdf)


def test_warm_up_renders() -> None:
    assert warm_up() > 0


def test_background_is_drawn_under_the_page_and_cannot_inject_css() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 42), (230, 240, 255)).save(buffer, "PNG")
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    assert (60, 42) in [image.size for image in images(render(background_url=uri))]
    with pytest.raises(RenderError, match="background_url"):
        render(background_url="x.png'); } body { color: red; } @page { x: url('y")
