"""A breadth-first link crawler for the Flask test client: what can a person reach by clicking?

    result = crawl(app, client)                 # from the dashboard ("/")
    result.reached                               # endpoint -> first URL that answered it
    result.broken                                # [(url, status, found_on)]: links that 4xx/5xx
    result.htmx                                  # endpoint -> an hx-get URL seen on a page (not followed)

It follows only what a person can follow without typing: `<a href>` links, and GET forms that have no
inputs to fill in (their action is the whole request). Redirects to a local page are followed (that
is where the click lands); off-site links, `#` anchors, static files and `mailto:` are not. To stay
fast on list pages with many filter/page links, at most `per_endpoint` URLs of one endpoint are
visited; the first one is enough to show the endpoint is reachable.

`hx-get` URLs are fetched as htmx would (with HX-Request) and recorded in `result.htmx`, not in
`reached`: they are fragments a page loads into itself (table rows, inline editors, polling badges),
not pages of their own. Their links and hx-gets are followed like a page's (that is what the person
sees). Tests use `htmx` to check that an allow-listed fragment route is really wired to a page.

Reused by tests/web/test_no_dead_ends.py and the browser crawl tests/e2e/test_csp_crawl.py (which
visits `result.pages` in Chromium).
"""

from __future__ import annotations

import tempfile
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

SKIP_PREFIXES = ("/static/",)


def _fillable(tag: str, attrs: dict[str, str]) -> bool:
    """An input a person would fill in (a GET form with one is a search, not a link)."""
    if tag in ("select", "textarea"):
        return True
    return tag == "input" and attrs.get("type", "text") not in ("hidden", "submit", "button")


class _Links(HTMLParser):
    """Collects <a href>, input-less GET forms and hx-get attributes of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.htmx: list[str] = []
        self._form: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if a.get("hx-get"):
            self.htmx.append(a["hx-get"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            method = (a.get("method") or "get").lower()
            self._form = {"action": a.get("action", ""), "get": method == "get", "inputs": 0}
        elif self._form is not None and _fillable(tag, a):
            self._form["inputs"] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            if self._form["get"] and not self._form["inputs"] and self._form["action"]:
                self.links.append(self._form["action"])
            self._form = None


@dataclass
class CrawlResult:
    reached: dict[str, str] = field(default_factory=dict)        # endpoint -> first URL
    pages: list[str] = field(default_factory=list)               # HTML pages visited, in BFS order
    broken: list[tuple[str, int, str]] = field(default_factory=list)  # (url, status, found on)
    htmx: dict[str, str] = field(default_factory=dict)           # endpoint -> an hx-get URL
    found_on: dict[str, str] = field(default_factory=dict)       # url -> the page that linked it


def endpoint_for(app, url: str, method: str = "GET") -> str | None:
    """The endpoint a local URL routes to (None for unknown paths)."""
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(urlsplit(url).path, method=method)
    except RequestRedirect as redirect:  # a missing trailing slash: where the redirect goes
        return endpoint_for(app, redirect.new_url, method)
    except HTTPException:
        return None
    return endpoint


def _local(url: str, base: str) -> str | None:
    """The local path?query of a link, or None for off-site, anchors, mailto:, static files."""
    if url.startswith("#"):  # this page itself (a fragment's "#" would otherwise become a page)
        return None
    absolute, _ = urldefrag(urljoin(base, url))
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or parts.netloc not in ("localhost", ""):
        return None
    path = parts.path or "/"
    if path.startswith(SKIP_PREFIXES):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def crawl(app, client, start: str = "/", per_endpoint: int = 3, max_pages: int = 2000,
          on_page=None) -> CrawlResult:
    """Walk breadth-first from `start` with `client` (logged in as the person whose view it is).

    `on_page(url, endpoint, html, htmx)`, when given, sees every HTML page and fragment as it is read
    (the pseudo-locale test checks each one's visible text)."""
    result = CrawlResult()
    queue: deque[tuple[str, str, bool]] = deque([(start, "(start)", False)])  # (url, found on, htmx?)
    seen = {(start, False)}
    visits: dict[tuple[str, bool], int] = {}
    while queue and len(seen) <= max_pages:
        url, found_on, htmx = queue.popleft()
        endpoint = endpoint_for(app, url)
        if endpoint is not None:
            if visits.get((endpoint, htmx), 0) >= per_endpoint:
                continue
            visits[(endpoint, htmx)] = visits.get((endpoint, htmx), 0) + 1
        headers = {"HX-Request": "true"} if htmx else {}
        response = client.get(url, base_url="http://localhost", headers=headers)
        body = response.get_data()  # drain streamed answers (CSV) inside the request
        response.close()
        status = response.status_code
        if status >= 400:
            result.broken.append((url, status, found_on))
            continue
        if htmx:
            result.htmx.setdefault(endpoint or url, url)
        else:
            result.found_on.setdefault(url, found_on)
            if endpoint is not None:
                result.reached.setdefault(endpoint, url)
        if 300 <= status < 400:
            links, fragments = [response.headers.get("Location", "")], []
        elif response.mimetype == "text/html":
            parser = _Links()
            html = body.decode("utf-8", "replace")
            parser.feed(html)
            if on_page is not None:
                on_page(url, endpoint, html, htmx)
            if not htmx:
                result.pages.append(url)
            links, fragments = parser.links, parser.htmx
        else:
            continue
        for targets, as_htmx in ((links, False), (fragments, True)):
            for target in targets:
                local = _local(target, "http://localhost" + url)
                if local and (local, as_htmx) not in seen:
                    seen.add((local, as_htmx))
                    queue.append((local, url, as_htmx))
    return result


def build_world(app):
    """The demo organisation, rendered (PDFs, issued mails), plus one row of each kind the demo lacks: a
    template, an active webhook with a delivery, a PDF-export integration and a ZIP export. Returns the
    First Aid certification. Log in as demo.LOGINS (password demo.DEMO_PASSWORD)."""
    from app import demo
    from app.extensions import db
    from app.models import Certification, User
    from app.services.documents import designer, downloads
    from app.services.integrations import registry, webhooks
    from tests.conftest import run_jobs

    demo.seed()
    db.session.commit()
    run_jobs(app)
    designer.create_template({"name": "Crawl template", "html": "<p>{{ holder_name }}</p>"}, actor="test")
    app.config["OUTGOING_ALLOW_PRIVATE"] = True  # a closed loopback port: deliveries fail, reach no one
    try:
        webhook, _ = registry.create("generic_webhook", {"name": "Crawl hook", "url": "http://127.0.0.1:9/",
                                                         "event_types": ["ping"]}, actor="test")
    finally:
        app.config["OUTGOING_ALLOW_PRIVATE"] = False
    registry.set_active(webhook, True, actor="test")
    webhooks.send_test(webhook, actor="test")
    folder = Path(tempfile.mkdtemp(prefix="laurel-crawl-"))
    registry.create("pdf_export", {"name": "Crawl export", "folder": str(folder)}, actor="test")
    first_aid = db.session.scalar(db.select(Certification).where(Certification.name == "First Aid Level 2"))
    admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
    downloads.start_export(first_aid, actor=admin)
    db.session.commit()
    run_jobs(app)
    return first_aid
