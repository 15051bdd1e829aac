"""No dead ends: every page can be reached by clicking, from the dashboard, as an admin and as a learner.

A breadth-first crawl (tests/support/crawl.py) follows only `<a href>` links (and input-less GET forms)
on the demo organisation plus one row of each kind the demo lacks (a template, an integration with a
delivery, a ZIP export, rendered PDFs and their mails). Every GET route the role may open must be
reached: the ones without path parameters, and one instance of each with them. Routes that are rightly
not links are in the allow-lists below, each with the reason; an htmx fragment must at least be
loaded by some crawled page (`hx-get`), so that the allow-list cannot hide a route that lost its caller.
"""

from __future__ import annotations

import pytest

from app import demo
from app.extensions import db
from app.models import Certificate, User
from app.services.documents import rendering
from tests.support.crawl import build_world, crawl
from tests.web.access_rules import LEVELS, level_for

# Not links, on purpose. Each entry: endpoint -> why a person never clicks a link to it.
NOT_LINKS = {
    "static": "assets, loaded by pages",
    "dashboard.healthz": "for load balancers and monitoring",
    "hooks.incoming": "called by other systems (POST only)",
    "accounts.login": "where logged-out people land (the crawl is logged in)",
    "accounts.forgot_password": "linked from the login page (logged out)",
    "accounts.login_verify": "the second login step, where the login form sends people with two-factor on",
    "accounts.reset_password": "token link sent by email",
    "accounts.set_password": "token link sent by email",
    "documents.template_preview_pdf": "a one-time preview token, loaded into the designer's preview frame",
    "messaging.email_preview_html": "the preview's HTML part, loaded into a sandboxed iframe",
    "sharing.public_page": "the old share link (/s/<code>) sent to recipients; kept working",
    "verify.lookup": "the public lookup, linked from the verify pages and the login page",
    "documents.asset_image": "template images, loaded by the designer page as <img>",
    "sharing.linkedin": "the holder's 'Add to LinkedIn' button (off-site redirect)",
    "admin.mail_html": "a mail's HTML part, loaded into the mail detail's sandboxed iframe",
    "branding.logo": "the school's logo, loaded by pages as <img>",
    "branding.stylesheet": "the school's colours, loaded by every page as a stylesheet",
    "documents.designer_font": "the PDF's fonts, loaded by the designer canvas's stylesheet",
    "documents.starter_image": "starting-design thumbnails, loaded by the template chooser as <img>",
    "messaging.live_stream": "the live-update stream every signed-in page opens (EventSource)",
    "verify.picture": "the certificate's picture, loaded by its public page as <img>",
    "credentials.status_list": "a status list credential, fetched by verifiers from a credential's "
                               "credentialStatus",
    "sharing.public_profile": "a learner's public profile (/p/<handle>), linked from their profile settings "
                              "once they switch it on (the demo's learners have none)",
    "sharing.embed_card": "the embeddable card, framed by other sites and by the holder's Embed page",
    "sharing.embed_badge": "the status image, loaded by the Embed page and other sites as <img>",
    "sharing.oembed": "for oEmbed consumers, discovered by <link rel=alternate> on verify pages",
    "sharing.exchange": "the one-time VC-API exchange a wallet app calls (POST); shown as a QR code",
    "documents.public_pdf": "the PDF on the public page of a certificate its holder made public; that "
                            "page is opened from the copied share link (the demo's certificates are private)",
    "credentials.did_document_under_path": "the DID document where did:web looks when BASE_URL has a "
                                           "path (the admin's Credentials page links it then)",
    "credentials.badge_png": "a certification's badge, loaded by pages as <img>",
    "credentials.badge_svg": "an uploaded SVG badge, linked from its card only when one was uploaded",
    "credentials.ob2_assertion": "Open Badges 2.0 Assertion: fetched by badge platforms from the URL baked "
                                 "into the badge PNG",
    "credentials.ob2_badge_class": "Open Badges 2.0 BadgeClass: fetched by badge platforms (linked from "
                                   "the certification page's badge card, which learners do not see)",
    "credentials.ob2_issuer": "Open Badges 2.0 Issuer profile: fetched by badge platforms from a BadgeClass",
    "identity.oidc_start": "a 'Sign in with ...' button of the login page (logged out)",
    "identity.oidc_callback": "where the OpenID provider sends the browser back after sign-in",
    "identity.provider_edit": "an OpenID provider's page, linked from Admin › Sign-in once one is added "
                              "(the demo has none)",
    "identity.saml_login": "the login page's 'Sign in with <label>' button (logged out; the demo has no SAML "
                           "provider)",
    "identity.saml_metadata": "our SAML metadata, fetched by identity providers (linked from a provider's "
                              "page, and the demo has none)",
    "identity.saml_slo": "single logout, reached by redirects to and from the identity provider",
    "training.check_in": "the check-in link a session's QR code encodes: opened by scanning the code the "
                         "trainer shows (linked under the code only during the session window)",
    "privacy.download_export": "a data export's ZIP: mailed to its owner, linked from Profile › Your data "
                               "once the job has built it (the crawl runs no jobs)",
    "identity.saml_provider_edit": "a SAML provider's page, linked from Admin › Sign-in once one "
                                   "exists (the demo has none)",
}
# Pages of a certificate's holder: the learner's crawl must reach them; the demo's admin holds none.
HOLDER_ONLY = {
    "sharing.embed_controls": "the holder's Embed page, from a certificate on My certificates",
    "sharing.wallet_page": "the holder's Add to wallet page, from a certificate on My certificates",
    "lifecycle.request_correction": "the holder's Ask for a correction page, from a certificate on My "
                                    "certificates",
    "payments.mine": "the learner's My payments, from the learner dashboard and the receipt email",
    "lifecycle.my_evidence": "a learner's evidence for a certification, from its step on their dashboard "
                             "(the crawl opens one page per endpoint: maybe one without evidence)",
}
# htmx fragments: loaded into a page by hx-get; the crawl checks some page does load them.
FRAGMENTS = {
    "admin.user_row", "admin.edit_user_row", "lifecycle.course_row", "lifecycle.edit_course",
    "lifecycle.certification_row", "lifecycle.edit_certification", "lifecycle.enrollment_row",
    "lifecycle.edit_enrollment", "lifecycle.enroll_candidates", "documents.pdf_status", "messaging.bell",
    "analytics.figure", "dashboard.tiles", "training.checkin_code_live",
}
# Fragments loaded only in a passing state, so the crawl may not see a page load them.
CONDITIONAL_FRAGMENTS = {
    "analytics.figure": "a chart loads itself only while its figure is not cached yet",
}


def _get_routes(app, role: str) -> set[str]:
    """The GET endpoints (outside /api/) that `role` may open."""
    endpoints = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith("/api/"):
            continue
        if LEVELS[level_for(rule.endpoint, "GET")][role] == "ok":
            endpoints.add(rule.endpoint)
    return endpoints


@pytest.fixture
def organisation(app):
    return build_world(app)


def _report(result, missing) -> str:
    lines = [f"not reached by any link: {sorted(missing)}"]
    lines += [f"broken link {url} ({status}) on {page}" for url, status, page in result.broken]
    return "\n".join(lines)


def test_admin_reaches_every_page_by_links(app, login_as, organisation):
    admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
    # Every PDF being rendered again (no worker runs now): the PDF badges poll documents.pdf_status, and
    # the last ready PDF stays downloadable meanwhile.
    for cert in db.session.scalars(db.select(Certificate).where(Certificate.pdf_key.is_not(None))):
        rendering.regenerate(cert, actor=admin)
    db.session.commit()
    result = crawl(app, login_as(admin, demo.DEMO_PASSWORD))
    expected = _get_routes(app, "admin") - set(NOT_LINKS) - FRAGMENTS - set(HOLDER_ONLY)
    missing = expected - set(result.reached)
    assert not missing and not result.broken, _report(result, missing)
    wired = FRAGMENTS & _get_routes(app, "admin") - set(CONDITIONAL_FRAGMENTS)
    unloaded = {e for e in wired if e not in result.htmx}
    assert not unloaded, f"fragments no crawled page loads with hx-get: {sorted(unloaded)}"


def test_learner_reaches_every_page_by_links(app, login_as, organisation):
    learner = db.session.scalar(db.select(User).where(User.email == "learner@example.com"))
    assert db.session.scalar(db.select(Certificate.id).where(Certificate.user_id == learner.id))
    result = crawl(app, login_as(learner, demo.DEMO_PASSWORD))
    expected = _get_routes(app, "learner") - set(NOT_LINKS) - FRAGMENTS
    missing = expected - set(result.reached)
    assert not missing and not result.broken, _report(result, missing)
