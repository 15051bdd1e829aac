"""Browser fixtures: the session app served on a free loopback port, and Playwright pages in Chromium.

- `live_server`: base URL ("http://127.0.0.1:<port>") of the session `app` served by werkzeug in a
  background thread. It shares the test database and Redis, so rows made in a test (make_user,
  app.demo.seed(), ...) are visible to the browser once committed.
- `browser`: one headless Chromium (Debian's /usr/bin/chromium) per run; skipped with the reason when
  it is missing.
- `page`: a fresh context + page per test (desktop viewport). `page.errors` (also the `page_errors`
  fixture) collects console errors (not Chromium's note on 4xx answers), uncaught exceptions and 5xx
  responses; `assert_clean(page)` checks those and the CSP violations of the current document.
- `new_page(**context_options)`: more pages, e.g. new_page(viewport={"width": 390, "height": 844},
  is_mobile=True) for a phone.
- `screenshot(page, name)`: saves test-artifacts/<name>.png (full page) and returns the path.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"width": 1280, "height": 900}

# Runs before any page script (through the DevTools protocol, so the CSP does not block it).
_CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


@pytest.fixture(scope="session")
def live_server(app):
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log noise in test output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                              headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    """new_page(**context_options) -> a page in its own context (cookies), watched for errors."""
    contexts = []

    def make(**options):
        options.setdefault("viewport", DESKTOP)
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.add_init_script(_CSP_LISTENER)
        page.on("console", lambda msg: _console(page, msg))
        page.on("pageerror", lambda exc: page.errors.append(f"pageerror: {exc}"))
        page.on("response", lambda r: r.status >= 500 and page.errors.append(f"HTTP {r.status} {r.url}"))
        return page

    yield make
    for context in contexts:
        context.close()


# Chromium logs every 4xx answer as "Failed to load resource"; a 422 swap or a 404 page is intended.
_EXPECTED_STATUS = re.compile(r"Failed to load resource: the server responded with a status of 4\d\d")


def _console(page, msg) -> None:
    if msg.type == "error" and not _EXPECTED_STATUS.search(msg.text) and not _stream_reconnect(msg):
        page.errors.append(f"console: {msg.text}")


def _stream_reconnect(msg) -> bool:
    """The live stream ends after LIVE_STREAM_SECONDS (5 s in tests) and the browser reconnects; the SSE
    extension reports every EventSource `error` event through htmx, which console.errors the bare Event.
    That one message, from htmx itself, is the reconnect working; any other error still fails the test."""
    return msg.text == "Event" and "/htmx.min.js" in (msg.location or {}).get("url", "")


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def page_errors(page):
    return page.errors


def csp_violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def assert_clean(page) -> None:
    """No console errors, no uncaught exceptions, no CSP violations on the current document."""
    problems = list(page.errors) + [f"CSP: {v}" for v in csp_violations(page)]
    assert not problems, "\n".join(problems)


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        # caret="initial": hiding the caret leaves style="" on inputs, which htmx copies into swaps.
        page.screenshot(path=str(path), full_page=True, caret="initial")
        return path

    return take


@pytest.fixture
def demo_data(app):
    """The demo organisation of `make run` (app/demo.py), committed (pages open it in another thread)."""
    from app import demo
    from app.extensions import db

    demo.seed()
    db.session.commit()
