"""Embeddable badges: the framed card, the status image, oEmbed answers and refusals, the holder's page."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET  # parses only the SVG our own code drew
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

from app.extensions import db
from app.services.lifecycle import catalog, revocation
from app.services.sharing import embed
from tests.support import certificates
from tests.support.certificates import at

# The certificate fixtures (no conftest here: tests/credentials is shared with the credential engine's tests).
certification, issue = certificates.certification, certificates.issue

BASE = "http://localhost"


def _oembed(client, url: str, **params):
    query = "&".join([f"url={quote(url, safe='')}", *(f"{k}={quote(str(v))}" for k, v in params.items())])
    return client.get(f"/oembed?{query}")


def test_card_shows_live_status_and_may_be_framed_anywhere(client, learner, issue):
    cert = issue(learner)
    response = client.get(f"/embed/{cert.code}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "First Aid Level 2" in html and "Lena Learner" in html and 'data-testid="embed-status"' in html
    assert f'href="{BASE}/verify/{cert.code}" target="_blank" rel="noopener"' in html
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in csp and "script-src 'self'" in csp
    assert "X-Frame-Options" not in response.headers
    assert "<script" not in html and "style=" not in html
    assert response.headers["Cache-Control"] == "public, max-age=60" and "Set-Cookie" not in response.headers
    # Every other page keeps the strict policy.
    verify = client.get(f"/verify/{cert.code}")
    assert "frame-ancestors 'none'" in verify.headers["Content-Security-Policy"]
    assert verify.headers["X-Frame-Options"] == "DENY"
    # Live: revoked shows at once (the ETag follows the answer's version).
    revocation.revoke(cert, "Found to be copied", actor="test")
    db.session.commit()
    html = client.get(f"/embed/{cert.code}").get_data(as_text=True)
    assert "Revoked" in html and "embed-revoked" in html
    # A miss, never a 500 (a NUL in the address is refused before routing).
    for path in ("/embed/" + "x" * 5000, "/embed/x.svg"):
        assert client.get(path).status_code == 404, path[:30]
    for path in ("/embed/%00", "/embed/%00.svg", "/verify/%00"):
        assert client.get(path).status_code == 400, path
    missing = client.get("/embed/NoSuchCode")
    assert missing.status_code == 404 and "Certificate not found" in missing.get_data(as_text=True)


def test_expired_certificate_card(client, learner, issue):
    cert = issue(learner, when=at(2020, 1, 1, 9))
    html = client.get(f"/embed/{cert.code}").get_data(as_text=True)
    assert "Expired" in html and "embed-expired" in html


def test_status_image_escapes_every_text(client, learner, certification):
    from app.services.lifecycle import issuing

    hostile = catalog.create_certification(
        {"name": '<script>alert(1)</script> & "quotes"', "status": "active", "validity_months": 12,
         "course_ids": [certification.courses[0].id]}, actor="test")
    learner.name = "Lena <img src=x onerror=alert(1)>"
    cert = issuing.issue(learner, hostile, actor="test", now=at(2026, 1, 5))
    db.session.commit()
    response = client.get(f"/embed/{cert.code}.svg")
    svg = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert "<script" not in svg and "<img" not in svg
    assert "&lt;script&gt;" in svg
    # Well-formed XML: nothing broke out of a text node or an attribute.
    root = ET.fromstring(svg)  # noqa: S314
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts[1] == "valid" and texts[0].startswith("<script>")
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_status_image_drops_control_characters_and_long_names():
    data = {"certification": "A\x01B" + "x" * 300, "holder": "H\x0bolder", "status": "valid"}
    svg = embed.status_svg(embed.Embed("c", data, "v", 1))
    root = ET.fromstring(svg)  # noqa: S314
    first = next(root.iter("{http://www.w3.org/2000/svg}text")).text
    assert first.startswith("AB") and first.endswith("…") and len(first) == embed.MAX_SVG_TEXT
    assert "\x01" not in svg and "\x0b" not in svg
    missing = ET.fromstring(embed.status_svg(embed.Embed("c", None, "missing", None)))  # noqa: S314
    assert [t.text for t in missing.iter("{http://www.w3.org/2000/svg}text")] == ["Certificate", "not found"]


@pytest.mark.parametrize("path", ["/verify/{code}", "/verify/{code}.json", "/s/{code}", "/embed/{code}"])
def test_oembed_for_our_certificate_addresses(client, learner, issue, path):
    cert = issue(learner)
    response = _oembed(client, BASE + path.format(code=cert.code), format="json")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["version"] == "1.0" and body["type"] == "rich"
    assert body["width"] == embed.CARD_WIDTH and body["height"] == embed.CARD_HEIGHT
    assert body["title"] == "First Aid Level 2 — Lena Learner"
    assert body["provider_name"] and body["provider_url"] == BASE + "/"
    assert f'src="{BASE}/embed/{cert.code}"' in body["html"] and body["html"].startswith("<iframe")
    assert response.headers["Cache-Control"].startswith("public")


def test_oembed_sizes_honour_the_consumer(client, learner, issue):
    cert = issue(learner)
    url = f"{BASE}/verify/{cert.code}"
    small = _oembed(client, url, maxwidth=200, maxheight=100).get_json()
    assert (small["width"], small["height"]) == (200, 100) and 'width="200" height="100"' in small["html"]
    huge = _oembed(client, url, maxwidth="9" * 12, maxheight=10**9).get_json()
    assert (huge["width"], huge["height"]) == (embed.CARD_WIDTH, embed.CARD_HEIGHT)
    for bad in ("-5", "1e9", "abc", "9" * 13, "٣٠٠", "300.5"):
        assert _oembed(client, url, maxwidth=bad).status_code == 400, bad
    assert _oembed(client, url, maxwidth=10).status_code == 404  # nothing fits in 10 pixels


def test_oembed_refusals(client, learner, issue):
    cert = issue(learner)
    ours = f"{BASE}/verify/{cert.code}"
    xml = _oembed(client, ours, format="xml")
    assert xml.status_code == 501 and xml.mimetype == "application/problem+json"
    assert _oembed(client, ours, format="yaml").status_code == 501
    for url in (f"https://evil.example/verify/{cert.code}", f"http://127.0.0.1/verify/{cert.code}",
                f"http://localhost:8080/verify/{cert.code}", f"http://user:pw@localhost/verify/{cert.code}",
                f"http://[::1]/verify/{cert.code}", "http://[::1", "file:///etc/passwd",
                f"javascript:alert(1)//localhost/verify/{cert.code}", f"{BASE}/verify/NoSuchCode",
                f"{BASE}/me/certificates", f"{BASE}/p/nobody", "", "x" * 5000,
                f"{BASE}/verify/{cert.code}\x00",
                f"{BASE}/" + "a/" * 2000):
        response = _oembed(client, url)
        assert response.status_code in (400, 404), (url[:80], response.status_code)
        if "\x00" not in url:  # NUL: the app-wide 400 before any view
            assert response.status_code == 404 and response.mimetype == "application/problem+json", url[:80]
    assert client.get("/oembed").status_code == 404


def test_oembed_for_a_public_profile_is_a_link(client, learner, issue):
    from app.services.sharing import profiles

    profiles.save_profile(learner, "lena")
    db.session.commit()
    body = _oembed(client, f"{BASE}/p/lena").get_json()
    assert body["type"] == "link" and body["url"] == f"{BASE}/p/lena" and "html" not in body


def test_verify_page_advertises_oembed(client, learner, issue):
    cert = issue(learner)
    html = client.get(f"/verify/{cert.code}").get_data(as_text=True)
    link = re.search(r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)"', html)
    href = urlsplit(link.group(1).replace("&amp;", "&"))
    assert f"{href.scheme}://{href.netloc}{href.path}" == f"{BASE}/oembed"
    assert dict(parse_qsl(href.query)) == {"url": f"{BASE}/verify/{cert.code}", "format": "json"}
    assert client.get(f"/oembed?{href.query}").get_json()["type"] == "rich"


def test_embed_page_is_the_holders_only(client, login_as, learner, make_user, issue, admin):
    cert = issue(learner)
    holder = login_as(learner)
    cards = holder.get("/me/certificates").get_data(as_text=True)
    assert f'href="/me/certificates/{cert.id}/embed"' in cards
    page = holder.get(f"/me/certificates/{cert.id}/embed")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"{BASE}/embed/{cert.code}.svg" in html and f"&lt;iframe src=\"{BASE}/embed/{cert.code}\"" in html
    assert 'data-copy-target="#snippet-badge"' in html and "<script>" not in html
    # Another learner, and even an admin (who may toggle visibility), get no embed controls for it.
    other = login_as(make_user("learner", email="other@example.com"))
    assert other.get(f"/me/certificates/{cert.id}/embed").status_code == 404
    assert login_as(admin).get(f"/me/certificates/{cert.id}/embed").status_code == 404
    assert f"/me/certificates/{cert.id}/embed" not in other.get("/me/certificates").get_data(as_text=True)
    assert client.get(f"/me/certificates/{cert.id}/embed").status_code == 302


def test_oembed_answer_is_json_with_escaped_title(client, learner, certification):
    from app.services.lifecycle import issuing

    hostile = catalog.create_certification(
        {"name": '"><script>x</script>', "status": "active", "validity_months": 12,
         "course_ids": [certification.courses[0].id]}, actor="test")
    cert = issuing.issue(learner, hostile, actor="test", now=at(2026, 1, 5))
    db.session.commit()
    body = json.loads(_oembed(client, f"{BASE}/verify/{cert.code}").get_data())
    assert "<script>" not in body["html"] and "&lt;script&gt;" in body["html"]
    assert body["title"].startswith('"><script>')  # JSON carries the text itself; the consumer escapes it
