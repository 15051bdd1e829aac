"""The visual certificate designer in a real browser: an admin starts from the Classic design, adds a
text element and drags it on the canvas (mouse down/move/up), moves it with the keyboard, saves,
assigns the template to a certification and regenerates its PDFs. The PDF holds the new text, and
the 60-character holder name lies inside the page and inside its text box (pypdfium2 char boxes).
Screenshots: test-artifacts/screens/a/designer-*.png (1366 and 390 px wide)."""

from __future__ import annotations

import json
import re

import pypdfium2
import pytest
from sqlalchemy import select

from app.documents.storage import get_storage
from app.extensions import db
from app.models import Certificate
from app.models.template import CertificateTemplate
from app.services.lifecycle import catalog, issuing
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, assert_clean
from tests.support.browser import log_in

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")]
LONG_NAME = "Maximilian Alexander Konstantin von Hohenzollern-Sigmaringen"  # 60 characters
WIDE = {"width": 1366, "height": 900}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
MM = 72 / 25.4


def _shot(page, name: str) -> None:
    folder = ARTIFACTS / "screens" / "a"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True, caret="initial")


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (120, 50), "#1f3a5f").save(out, format="PNG")
    return out.getvalue()


def _thumbs_loaded(page) -> None:
    """The chooser's three rendered thumbnails are there (wait_for_function would need eval: CSP)."""
    from playwright.sync_api import expect

    thumbs = page.locator(".starter-thumb")
    expect(thumbs).to_have_count(3)
    for index in range(3):
        expect(thumbs.nth(index)).to_have_js_property("complete", True, timeout=30_000)
        assert thumbs.nth(index).evaluate("(img) => img.naturalWidth") > 0


@pytest.fixture
def issued(make_user, jobs):
    make_user("admin", email="admin@example.com", name="Ada Admin")
    holder = make_user("learner", email="max@example.com", name=LONG_NAME)
    assert len(LONG_NAME) == 60
    course = catalog.create_course({"code": "FA-101", "title": "Emergency First Aid"}, actor="test")
    certification = catalog.create_certification(
        {"name": "Workplace First Aider", "status": "active", "course_ids": [course.id],
         "validity_months": 24, "issuer_name": "Health & Safety", "signatory_name": "Dr. Jane Roe",
         "signatory_title": "Director"}, actor="test")
    db.session.commit()
    cert = issuing.issue(holder, certification, actor="test", note="browser test")
    db.session.commit()
    jobs()
    return certification, cert.id


def _element_box(page, index: int) -> dict:
    return page.locator(f'#canvas .el[data-index="{index}"]').bounding_box()


def test_design_drag_save_assign_regenerate(new_page, live_server, issued, jobs):
    from playwright.sync_api import expect

    certification, cert_id = issued
    page = new_page(viewport=WIDE, reduced_motion="reduce")  # no smooth scrolling under the mouse
    log_in(page, live_server, "admin@example.com")

    # 1. The chooser: three built-in designs; Classic creates the template at once.
    page.goto(f"{live_server}/admin/templates")
    page.get_by_role("link", name="New template").click()
    expect(page.get_by_role("button", name="Use Modern design")).to_be_visible()
    _thumbs_loaded(page)
    _shot(page, "designer-chooser-1366")
    page.get_by_role("button", name="Use Classic design").click()
    expect(page.get_by_role("heading", name="Classic certificate")).to_be_visible()
    expect(page.locator("#preview-img")).to_be_visible(timeout=20_000)
    expect(page.locator("#preview-status")).to_contain_text("fit every text box")
    _shot(page, "designer-edit-1366")

    # 2. Add a custom text element, type its text, drag it on the canvas with the mouse.
    count = page.locator("#canvas .el").count()
    page.locator("#add-token").select_option("")
    page.get_by_role("button", name="Add text").click()
    expect(page.locator("#canvas .el")).to_have_count(count + 1)
    new = page.locator(f'#canvas .el[data-index="{count}"]')
    expect(new).to_be_focused()
    page.locator("#p-text").fill("With distinction")
    expect(new).to_contain_text("With distinction")
    x0, y0 = float(page.locator("#p-x").input_value()), float(page.locator("#p-y").input_value())
    page.locator("#canvas").scroll_into_view_if_needed()
    box = _element_box(page, count)
    per_mm = page.locator("#canvas").bounding_box()["width"] / 297
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 20 * per_mm, box["y"] + box["height"] / 2 - 40 * per_mm,
                    steps=8)
    page.mouse.up()
    x1, y1 = float(page.locator("#p-x").input_value()), float(page.locator("#p-y").input_value())
    assert abs(x1 - (x0 + 20)) < 1.5 and abs(y1 - (y0 - 40)) < 1.5, (x0, y0, x1, y1)

    # 3. The keyboard: the focused element moves 1 mm per arrow, 10 mm with Shift.
    expect(new).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Shift+ArrowLeft")
    assert abs(float(page.locator("#p-x").input_value()) - (x1 - 10)) < 0.11
    assert abs(float(page.locator("#p-y").input_value()) - (y1 + 1)) < 0.11
    w1 = float(page.locator("#p-w").input_value())
    page.keyboard.press("Alt+ArrowRight")
    assert abs(float(page.locator("#p-w").input_value()) - (w1 + 1)) < 0.11

    # 4. Resize by the corner handle, and by the number inputs.
    handle = new.locator(".el-handle")
    hb = handle.bounding_box()
    page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
    page.mouse.down()
    page.mouse.move(hb["x"] + 10 * per_mm, hb["y"] + 4 * per_mm, steps=4)
    page.mouse.up()
    assert float(page.locator("#p-w").input_value()) > 125
    page.locator("#p-size").fill("18")
    page.locator("#p-color").evaluate(
        "(el) => { el.value = '#b08d57'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    _shot(page, "designer-selected-1366")

    # 5. Overflow is impossible to miss: a holder-name box too narrow for long names turns red and is
    # listed next to the preview before saving; widening it again clears the warning.
    holder_index = page.locator("#canvas .el", has_text="Zoë Ångström-Núñez").first.get_attribute(
        "data-index")
    holder_el = page.locator(f'#canvas .el[data-index="{holder_index}"]')
    holder_el.click()
    original_w = page.locator("#p-w").input_value()
    page.locator("#p-w").fill("60")
    expect(page.locator("#overflow-box")).to_be_visible(timeout=20_000)
    expect(page.locator("#overflow-list")).to_contain_text("does not fit its box")
    expect(holder_el).to_have_class(re.compile(r"\boverflow\b"))
    page.locator("#preview-panel").scroll_into_view_if_needed()
    _shot(page, "designer-overflow-1366")
    page.locator("#p-w").fill(original_w)
    expect(page.locator("#overflow-box")).to_be_hidden(timeout=20_000)
    page.get_by_label("Name", exact=True).fill("Our classic")

    # 6. Save; the design is stored as data and compiled.
    page.get_by_role("button", name="Save design").click()
    expect(page.locator(".alert-success, .toast, [role=status]").first).to_contain_text("Template saved")
    template = db.session.scalar(select(CertificateTemplate).where(CertificateTemplate.name == "Our classic"))
    db.session.refresh(template)
    elements = json.loads(template.design)
    added = elements[count]
    assert added["text"] == "With distinction" and added["color"] == "#b08d57" and added["size"] == 18
    assert "fit_size(" in template.html
    expect(page.locator("#preview-img")).to_be_visible(timeout=20_000)
    assert_clean(page)

    # 7. Assign it to the certification and regenerate the PDFs.
    page.goto(f"{live_server}/admin/certifications/{certification.id}/documents")
    page.get_by_label("Certificate template").select_option(label="Our classic")
    page.get_by_role("button", name="Use this template").click()
    page.get_by_role("button", name="Regenerate all PDFs").click()
    jobs()
    db.session.expire_all()
    cert = db.session.get(Certificate, cert_id)
    assert cert.pdf_status == "ready", cert.pdf_error
    pdf = get_storage().read(cert.pdf_key)

    # 8. The PDF: our text, and the 60-character name inside the page and inside its box.
    document = pypdfium2.PdfDocument(pdf)
    page_pdf = document[0]
    width, height = page_pdf.get_width(), page_pdf.get_height()
    text_page = page_pdf.get_textpage()
    text = text_page.get_text_range()
    assert "With distinction" in text
    start = text.find(LONG_NAME)
    assert start >= 0, text
    boxes = [text_page.get_charbox(i) for i in range(start, start + len(LONG_NAME))]
    holder = next(e for e in elements if e["kind"] == "text" and e["text"] == "{holder_name}")
    for left, bottom, right, top in boxes:
        assert 0 <= left <= right <= width and 0 <= bottom <= top <= height
        assert holder["x"] * MM - 1 <= left and right <= (holder["x"] + holder["w"]) * MM + 1
    document.close()


def test_designer_on_a_phone_and_bad_design_is_refused(new_page, live_server, issued):
    from playwright.sync_api import expect

    page = new_page(**PHONE)
    log_in(page, live_server, "admin@example.com")
    page.goto(f"{live_server}/admin/templates/new")
    _thumbs_loaded(page)
    _shot(page, "designer-chooser-390")
    page.get_by_role("button", name="Use Minimal design").click()
    expect(page.locator("#preview-img")).to_be_visible(timeout=20_000)
    _shot(page, "designer-edit-390")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide"

    # Upload a logo before saving anything: sent in the background, the canvas shows it at once.
    page.locator("#role").select_option("logo")
    page.locator("#file").set_input_files({"name": "logo.png", "mimeType": "image/png", "buffer": _png()})
    page.get_by_role("button", name="Upload image").click()
    expect(page.locator("#asset-status")).to_contain_text("Logo image saved")
    expect(page.locator("#canvas .el-image img")).to_have_count(1)

    # Portrait: the page turns and the design scales with it.
    count = page.locator("#canvas .el").count()
    page.get_by_label("Orientation").select_option("portrait")
    canvas = page.locator("#canvas").bounding_box()
    assert canvas["height"] > canvas["width"] and page.locator("#canvas .el").count() == count
    expect(page.locator("#preview-status")).to_contain_text("Preview", timeout=20_000)
    # A design tampered with in the page is refused with the reason, nothing saved.
    page.locator('input[name="design"]').evaluate("(el) => { el.form.addEventListener('submit', () => "
                                                 "{ el.value = '[{\"kind\": \"rocket\"}]'; }); }")
    page.get_by_role("button", name="Save design").click()
    expect(page.locator("#design-error")).to_contain_text("kind must be one of")
    assert_clean(page)


def test_code_template_switches_to_the_designer(new_page, live_server, issued):
    """A template started as HTML/CSS shows the code; loading a starting design and saving it replaces the
    code with the design (and the Advanced section says that editing code detaches it again)."""
    from playwright.sync_api import expect

    page = new_page(viewport=WIDE, reduced_motion="reduce")
    log_in(page, live_server, "admin@example.com")
    page.goto(f"{live_server}/admin/templates/new")
    page.get_by_role("button", name="Start from HTML/CSS").click()
    expect(page.locator("#designer-empty")).to_be_visible()
    expect(page.locator("#advanced")).to_have_attribute("open", "")
    expect(page.locator("#preview img, #preview iframe")).to_have_count(1, timeout=20_000)
    expect(page.locator("#designer-body")).to_be_hidden()  # no empty canvas: the code is the template
    _shot(page, "designer-code-template-1366")
    page.locator("#starter-select").select_option("modern")
    page.get_by_role("button", name="Load", exact=True).click()
    expect(page.get_by_role("button", name="Save design")).to_be_enabled()
    expect(page.locator("#designer-empty")).to_be_hidden()
    page.get_by_role("button", name="Save design").click()
    expect(page.locator("#detach-note")).to_contain_text("detached from the designer")
    template = db.session.scalar(select(CertificateTemplate))
    db.session.refresh(template)
    assert template.design and "fit_size(" in template.html
    assert_clean(page)
    page.goto(f"{live_server}/admin/templates")
    expect(page.locator("table")).to_contain_text("designer")
    _shot(page, "templates-list-1366")
