"""The fast renderer (app/documents/fast.py): a designer-made template drawn straight from its elements
gives the same page as its compiled HTML through xhtml2pdf (every text line's text and box centre, the
images, the QR code), is chosen automatically for designs only, and keeps the render's limits."""

from __future__ import annotations

import base64
import io
import json
import threading

import pypdf
import pypdfium2 as pdfium
import pytest
from PIL import Image

from app.credentials import pades
from app.documents import fast as fast_renderer
from app.documents import render_pdf, sample_context
from app.documents.design_schema import check_design
from app.documents.errors import RenderTimeoutError
from app.documents.layout import compile_design
from app.documents.samples import long_value_contexts
from app.documents.storage import get_storage
from app.extensions import db
from app.models import Certificate
from app.models.template import CertificateTemplate
from app.services.credentials import pdf_signing
from app.services.documents import designer_layout, rendering

TOLERANCE_MM = 1.5
MM = 25.4 / 72
PAGES = [("A4", "landscape"), ("Letter", "portrait")]


def _png(width: int, height: int, colour: str) -> str:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


IMAGES = {"logo_url": _png(300, 120, "#204080"), "signature_url": _png(400, 90, "#101010"),
          "background_url": _png(600, 420, "#f6efe0")}


def text_lines(pdf: bytes) -> list[tuple[str, float, float, float, float]]:
    """(text, left, top, right, bottom) in mm from the top-left, one per printed line: pdfium's runs
    merged when they share a line (it splits a line at punctuation)."""
    page = pdfium.PdfDocument(pdf)[0]
    height, textpage = page.get_height(), page.get_textpage()
    lines: list[list] = []
    for index in range(textpage.count_rects()):
        left, bottom, right, top = textpage.get_rect(index)
        text = textpage.get_text_bounded(left, bottom, right, top)
        box = [left * MM, (height - top) * MM, right * MM, (height - bottom) * MM]
        last = lines[-1] if lines else None
        # Same line: overlapping heights (CJK runs come out zero high) and next to the previous run.
        if last and box[1] <= last[4] + 0.5 and box[3] >= last[2] - 0.5 and -0.5 <= box[0] - last[3] < 5:
            last[0] += text
            last[2], last[3], last[4] = min(last[2], box[1]), box[2], max(last[4], box[3])
        else:
            lines.append([text, *box])
    return [tuple(line) for line in lines]


def pictures(pdf: bytes) -> list[tuple[float, float, float, float]]:
    page = pdfium.PdfDocument(pdf)[0]
    height = page.get_height()
    boxes = []
    for obj in page.get_objects(max_depth=3):
        if obj.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE:
            left, bottom, right, top = obj.get_bounds()
            boxes.append((left * MM, (height - top) * MM, right * MM, (height - bottom) * MM))
    return boxes


def centre(box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def both(elements, context, page):
    html, css = compile_design(elements, *page)
    slow = render_pdf(html, css, context, page_size=page[0], orientation=page[1])
    quick = fast_renderer.render_design(elements, context, page_size=page[0], orientation=page[1])
    return slow, quick


def assert_same_text(slow: bytes, quick: bytes) -> None:
    expected, got = text_lines(slow), text_lines(quick)
    assert [line[0] for line in got] == [line[0] for line in expected]
    for want, have in zip(expected, got, strict=True):
        (wx, wy), (hx, hy) = centre(want[1:]), centre(have[1:])
        assert abs(wx - hx) <= TOLERANCE_MM and abs(wy - hy) <= TOLERANCE_MM, (want, have)


@pytest.mark.parametrize("key", ["classic", "modern", "minimal"])
@pytest.mark.parametrize("page", PAGES)
def test_starters_draw_the_same_page_both_ways(key, page):
    elements = designer_layout.starter(key, *page)
    slow, quick = both(elements, {**sample_context(), **IMAGES}, page)
    assert_same_text(slow, quick)
    # The uploaded images and the page background sit in the same boxes; the QR code (a PNG there,
    # vector modules here) is drawn inside the HTML path's QR box, centred on it.
    assert len(pictures(slow)) == len(pictures(quick)) + 1
    qr = next(e for e in elements if e["kind"] == "qr")
    for have in pictures(quick):
        assert any(all(abs(a - b) <= TOLERANCE_MM for a, b in zip(want, have, strict=True))
                   for want in pictures(slow)), have
    side = min(qr["w"], qr["h"]) - 1
    assert any(abs(centre(box)[0] - (qr["x"] + qr["w"] / 2)) < 0.1 and abs(box[2] - box[0] - side) < 0.1
               for box in pictures(slow))
    assert len(fast_renderer.qr_matrix(sample_context()["verify_url"])) > 20


@pytest.mark.parametrize("label", [k for k in long_value_contexts() if "Arabic" not in k])
def test_long_names_shrink_and_wrap_the_same_way_and_stay_in_their_box(label):
    context = long_value_contexts()[label]
    box = {"kind": "text", "x": 30, "y": 60, "w": 150, "h": 30, "text": "{holder_name}",
           "font": "DejaVu Serif", "size": 30, "min_size": 12, "bold": True}
    elements = check_design([box, {**box, "y": 120, "w": 60, "h": 40, "min_size": 10, "bold": False,
                                   "text": "Awarded to {holder_name} for {certification_name}"}])
    slow, quick = both(elements, context, PAGES[0])
    assert_same_text(slow, quick)
    for line, left, _, right, _ in text_lines(quick):
        if " " in line.strip():  # a single word wider than its box runs over, as on the HTML path
            assert left >= 30 - 0.5 and right <= 180 + 0.5


def test_right_to_left_names_go_through_the_html_engine():
    elements = designer_layout.starter("classic")
    context = {**sample_context(), "holder_name": "محمد عبد الله"}
    assert fast_renderer.needs_html(elements, context) == "right-to-left text"
    with pytest.raises(fast_renderer.NeedsHtml):
        fast_renderer.render_design(elements, context)


def test_time_limit_stops_a_fast_render_in_the_main_thread_and_elsewhere():
    elements = check_design([{"kind": "text", "x": 10, "y": 10, "w": 250, "h": 100,
                              "text": "{holder_name} " * 20}] * 60)
    context = {**sample_context(), "holder_name": "W" * 200}
    with pytest.raises(RenderTimeoutError, match="second limit"):
        fast_renderer.render_design(elements, context, time_limit=0.001)
    failures = []

    def in_thread():  # no signal there: the deadline is checked between elements
        try:
            fast_renderer.render_design(elements, context, time_limit=0.001)
        except RenderTimeoutError as exc:
            failures.append(exc)

    worker = threading.Thread(target=in_thread)
    worker.start()
    worker.join()
    assert len(failures) == 1


def _designed_template(**overrides) -> CertificateTemplate:
    elements = designer_layout.starter("modern")
    html, css = compile_design(elements, "A4", "landscape")
    template = CertificateTemplate(name="Designed", html=html, css=css, design=json.dumps(elements),
                                   **overrides)
    db.session.add(template)
    db.session.flush()
    return template


def _creator(data: bytes) -> str:
    return str(pypdf.PdfReader(io.BytesIO(data)).metadata.get("/Creator", ""))


def test_designs_use_the_fast_renderer_and_code_templates_the_html_engine(app, learner, make_user,
                                                                          certification, issue, jobs):
    template = _designed_template()
    certification.template = template
    db.session.commit()
    assert rendering.renderer_of(rendering.design_of(template))[0] == "fast"
    assert rendering.renderer_of(rendering.design_of(None))[0] == "html"  # the built-in design
    latin = issue(learner)
    arabic = issue(make_user("learner", name="محمد عبد الله"))
    jobs()
    db.session.expire_all()
    latin, arabic = db.session.get(Certificate, latin.id), db.session.get(Certificate, arabic.id)
    assert latin.pdf_status == arabic.pdf_status == "ready"
    quick = get_storage().read(latin.pdf_key)
    assert _creator(quick) == fast_renderer.CREATOR
    assert _creator(get_storage().read(arabic.pdf_key)) != fast_renderer.CREATOR  # right-to-left: HTML
    # Signed (PAdES) and carrying the credential, as on the HTML path.
    seen = pades.inspect_pdf(quick, pdf_signing.trusted_certificates())
    assert seen.signed and seen.intact and seen.ours and seen.covers_whole_file
    assert pypdf.PdfReader(io.BytesIO(quick)).attachments
    # Detached into code: the HTML engine again; and the switch turns the fast renderer off.
    template.design = None
    assert rendering.renderer_of(rendering.design_of(template))[0] == "html"
    template.design = json.dumps(designer_layout.starter("modern"))
    app.config["PDF_FAST_RENDERER"] = False
    try:
        assert rendering.renderer_of(rendering.design_of(template))[0] == "html"
    finally:
        app.config.pop("PDF_FAST_RENDERER")


def test_template_page_says_which_renderer_draws_it(admin, login_as):
    designed = _designed_template()
    code = CertificateTemplate(name="Code", html="<p>{{ holder_name }}</p>", css="")
    db.session.add(code)
    db.session.commit()
    client = login_as(admin)
    page = client.get(f"/admin/templates/{designed.id}").get_data(as_text=True)
    assert "PDF renderer: <strong>fast</strong>" in page
    page = client.get(f"/admin/templates/{code.id}").get_data(as_text=True)
    assert "PDF renderer: <strong>HTML engine (xhtml2pdf)</strong>" in page


@pytest.mark.parametrize("design", [
    '[{"kind": "text", "x": 1e309, "y": 0, "w": 10, "h": 10}]',
    '[{"kind": "qr", "x": 0, "y": 0, "w": 20, "h": 20, "kind": "text"}]',
    '[{"kind": "image", "x": 0, "y": 0, "w": 20, "h": 20, "source": "file:///etc/passwd"}]',
    "[" * 5000,
])
def test_hostile_designs_are_still_422_in_the_preview(admin, login_as, design):
    client = login_as(admin)
    response = client.post("/admin/templates/design-preview", data={"design": design, "page_size": "A4",
                                                                     "orientation": "landscape"},
                           headers={"X-CSRFToken": client.csrf_token})
    assert response.status_code == 422
    assert response.get_json()["error"]


@pytest.mark.parametrize("key", ["classic", "minimal"])
def test_vector_qr_code_scans_to_the_verify_url(key):
    import zxingcpp

    context = {**sample_context(), "verify_url": "https://certs.example.org/verify/Zq3V8xK2mR7tZ9wLpA1bC4d"}
    pdf = fast_renderer.render_design(designer_layout.starter(key), context)
    page = pdfium.PdfDocument(pdf)[0].render(scale=200 / 72).to_pil().convert("L")  # a 200 dpi scan
    assert [found.text for found in zxingcpp.read_barcodes(page)] == [context["verify_url"]]
