""""Check a file" on the verify page in a real browser, as an anonymous visitor: drop a genuine certificate
PDF (rendered and signed by the real pipeline) on the drop zone, choose an altered one with the file
chooser, paste a JWT; each answer appears below the form without a page load, with no console error and no
CSP violation. Screenshots at 1366 and 390 px under test-artifacts/screens/e/."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.services.credentials import open_badges, pdf_signing
from app.services.documents import rendering
from app.services.lifecycle import verification
from tests.credentials.test_verify_anything import (  # noqa: F401 (fixtures)
    cert,
    fresh_storage,
)
from tests.e2e.conftest import assert_clean
from tests.support.certificates import certification, issue  # noqa: F401

pytestmark = pytest.mark.browser
SCREENS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens" / "e"
SIZES = {"desktop": {"viewport": {"width": 1366, "height": 900}},
         "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}}

# Builds a File in the page from the bytes and drops it on the zone, as a person dragging it from a folder.
DROP = """([selector, bytes, name]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([new Uint8Array(bytes)], name, {type: "application/pdf"}));
  const zone = document.querySelector(selector);
  zone.dispatchEvent(new DragEvent("dragenter", {bubbles: true, cancelable: true, dataTransfer: transfer}));
  zone.dispatchEvent(new DragEvent("drop", {bubbles: true, cancelable: true, dataTransfer: transfer}));
}"""


@pytest.fixture
def genuine_pdf(app, cert):  # noqa: F811
    """Rendered and signed as the render job does it (rendering.produce: render, then pdf_signing.sign), in a
    thread of its own: pyHanko signs with asyncio.run, which cannot start inside the event loop Playwright
    keeps in the test's thread (and an RQ worker needs the main thread for its signals)."""
    done: list[bytes] = []
    code = cert.code

    def render() -> None:
        with app.app_context():
            row = verification.lookup(code)
            done.append(pdf_signing.sign(rendering.render(row), row))

    worker = threading.Thread(target=render)
    worker.start()
    worker.join(timeout=120)
    assert done, "the render job did not finish"
    return done[0]


def _verdict(page) -> str:
    status = page.locator("#file-verdict [data-testid=file-verdict-status]")
    status.wait_for()
    return status.get_attribute("data-outcome")


@pytest.mark.parametrize("size", SIZES)
def test_drop_a_genuine_pdf_then_choose_an_altered_one(new_page, live_server, cert, genuine_pdf,  # noqa: F811
                                                       size, tmp_path):
    page = new_page(**SIZES[size])
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{live_server}/verify")
    page.screenshot(path=str(SCREENS / f"verify-file-form-{size}.png"), full_page=True, caret="initial")

    page.evaluate(DROP, ["[data-drop-zone]", list(genuine_pdf), "certificate.pdf"])
    assert _verdict(page) == "valid"
    verdict = page.locator("#file-verdict")
    assert cert.serial in verdict.inner_text() and "Genuine and valid" in verdict.inner_text()
    assert page.url == f"{live_server}/verify"  # answered in place
    page.screenshot(path=str(SCREENS / f"verify-file-genuine-{size}.png"), full_page=True, caret="initial")
    assert_clean(page)

    altered = tmp_path / "edited.pdf"
    altered.write_bytes(genuine_pdf + b"\n% edited after signing\n")
    with page.expect_response(lambda r: r.url.endswith("/verify/file")):
        page.set_input_files("#verify-file", str(altered))  # the file chooser: sent at once
    page.wait_for_selector("#file-verdict [data-outcome=altered]")
    assert "Altered after signing" in page.locator("#file-verdict").inner_text()
    page.screenshot(path=str(SCREENS / f"verify-file-altered-{size}.png"), full_page=True, caret="initial")
    assert_clean(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_paste_a_jwt_and_check_garbage(new_page, live_server, cert):  # noqa: F811
    page = new_page(**SIZES["desktop"])
    page.goto(f"{live_server}/verify")
    page.locator("summary", has_text="paste").click()
    page.fill("#verify-text", open_badges.current_credential(cert, "jwt"))
    page.get_by_role("button", name="Check the file").click()
    assert _verdict(page) == "valid"
    page.fill("#verify-text", "not a credential at all")
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_selector("#file-verdict [data-outcome=unreadable]")
    assert "not a PDF" in page.locator("#file-verdict").inner_text()
    page.screenshot(path=str(SCREENS / "verify-file-unreadable-desktop.png"), full_page=True, caret="initial")
    assert_clean(page)


def test_without_javascript_the_form_still_works(new_page, live_server, cert, genuine_pdf,  # noqa: F811
                                                 tmp_path):
    page = new_page(java_script_enabled=False, **SIZES["phone"])
    page.goto(f"{live_server}/verify")
    chosen = tmp_path / "certificate.pdf"
    chosen.write_bytes(genuine_pdf)
    page.set_input_files("#verify-file", str(chosen))
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_selector("#file-verdict [data-outcome=valid]")
    page.screenshot(path=str(SCREENS / "verify-file-nojs-phone.png"), full_page=True, caret="initial")
