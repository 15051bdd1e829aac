"""The certificate's picture (PNG of the PDF's first page) and the REVOKED / EXPIRED stamp on downloads."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from app.database import utcnow
from app.documents.storage import get_storage
from app.extensions import db
from app.models import Certificate
from app.rules import display
from app.services.documents import pictures, rendering
from app.services.lifecycle import revocation
from app.services.sharing import shares
from tests.documents.conftest import pdf_text

PNG = b"\x89PNG\r\n\x1a\n"
SCREENS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens" / "c"


def _ready(user, issue, jobs) -> Certificate:
    cert = issue(user)
    jobs()
    db.session.expire_all()
    cert = db.session.get(Certificate, cert.id)
    assert cert.pdf_status == "ready"
    return cert


def _picture_link(client, cert) -> str | None:
    html = client.get(f"/verify/{cert.code}").get_data(as_text=True)
    match = re.search(r'<img src="([^"]+)"[^>]*data-testid="cert-picture"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def test_picture_is_made_on_first_view_and_shown_only_while_public(app, learner, issue, jobs):
    cert = _ready(learner, issue, jobs)
    key = pictures.picture_key(cert.pdf_key)
    assert key.endswith(".png") and not get_storage().exists(key)  # the render job draws no picture
    client = app.test_client()
    direct = f"/verify/{cert.code}/certificate.png"
    assert _picture_link(client, cert) is None and client.get(direct).status_code == 404  # not public
    shares.set_public(cert, True, actor=learner)
    db.session.commit()
    link = _picture_link(client, cert)
    assert link and link.startswith(direct + "?v=")
    response = client.get(link)
    assert response.status_code == 200 and response.mimetype == "image/png" and response.data.startswith(PNG)
    assert get_storage().read(key) == response.data  # kept beside the PDF
    assert response.headers["Cache-Control"] == "public, max-age=300" and response.headers["ETag"]
    again = client.get(link, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    # Ids are not accepted, and unknown or mangled codes are simply not found.
    for bad in (f"/verify/{cert.id}/certificate.png", "/verify/nope/certificate.png",
                f"/verify/{cert.code[:-1]}/certificate.png"):
        assert client.get(bad).status_code == 404
    # Regenerated with the PDF: a new version, a new picture URL, the old picture gone.
    rendering.regenerate(cert, actor="test")
    db.session.commit()
    jobs()
    db.session.expire_all()
    cert = db.session.get(Certificate, cert.id)
    new_link = _picture_link(client, cert)
    assert new_link != link and client.get(new_link).status_code == 200
    assert not get_storage().exists(key)
    # Revoked: the picture goes, as does the public PDF.
    revocation.revoke(cert, "Fraud", actor="test")
    db.session.commit()
    assert client.get(new_link).status_code == 404 and _picture_link(client, cert) is None


def test_missing_picture_is_made_on_first_request(app, learner, issue, jobs):
    cert = _ready(learner, issue, jobs)
    get_storage().delete(pictures.picture_key(cert.pdf_key))  # a PDF rendered before pictures existed
    shares.set_public(cert, True, actor=learner)
    db.session.commit()
    response = app.test_client().get(f"/verify/{cert.code}/certificate.png")
    assert response.status_code == 200 and response.data.startswith(PNG)
    assert get_storage().exists(pictures.picture_key(cert.pdf_key))


def test_open_graph_and_twitter_tags_use_the_picture(app, learner, issue, jobs):
    cert = _ready(learner, issue, jobs)
    client = app.test_client()
    html = client.get(f"/verify/{cert.code}").get_data(as_text=True)
    assert 'property="og:image"' not in html and '<meta name="twitter:card" content="summary">' in html
    shares.set_public(cert, True, actor=learner)
    db.session.commit()
    html = client.get(f"/verify/{cert.code}").get_data(as_text=True)
    image = re.search(r'<meta property="og:image" content="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert image.startswith(f"http://localhost/verify/{cert.code}/certificate.png?v=")  # absolute
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    assert f'<meta name="twitter:image" content="{image.replace("&", "&amp;")}">' in html
    assert f'<meta property="og:url" content="http://localhost/verify/{cert.code}">' in html
    assert 'property="og:title" content="Workplace First Aider — ' in html
    # the page's order: status first, then the picture, then the holder, criteria, serial, actions
    markers = ('data-testid="verify-status"', 'data-testid="cert-picture"', 'data-testid="holder"',
               'data-testid="criteria"', 'data-testid="serial"', 'data-testid="public-pdf"',
               "Add to LinkedIn", f"/verify/{cert.code}.json")
    assert not [m for m in markers if m not in html]
    order = [html.index(marker) for marker in markers]
    assert order == sorted(order)


def test_revoked_pdf_downloads_stamped_and_the_stored_original_is_untouched(learner, admin, issue, jobs,
                                                                             login_as):
    cert = _ready(learner, issue, jobs)
    original = get_storage().read(cert.pdf_key)
    holder = login_as(learner)
    assert "REVOKED" not in pdf_text(holder.get(f"/certificates/{cert.id}/pdf").data)
    revocation.revoke(cert, "Issued by mistake", actor="test")
    db.session.commit()
    for client in (holder, login_as(admin)):
        response = client.get(f"/certificates/{cert.id}/pdf")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        text = pdf_text(response.data)
        assert "REVOKED" in text and "see the verify page" in text.lower() and f"/verify/{cert.code}" in text
        assert "Revoked on " + display.day(cert.revoked_at) in text
    SCREENS.mkdir(parents=True, exist_ok=True)  # to look at: the stamp must be impossible to miss
    (SCREENS / "stamped-revoked-pdf.png").write_bytes(pictures.render_picture(response.data, 1000))
    assert get_storage().read(cert.pdf_key) == original  # stamped on the way out only
    revocation.reinstate(cert, actor="test")
    db.session.commit()
    assert "REVOKED" not in pdf_text(holder.get(f"/certificates/{cert.id}/pdf").data)


def test_expired_pdf_downloads_stamped_expired(app, learner, issue, jobs, login_as):
    cert = _ready(learner, issue, jobs)
    cert.expires_at = utcnow() - timedelta(days=3)
    shares.set_public(cert, True, actor=learner)
    db.session.commit()
    public = app.test_client().get(f"/certificates/shared/{cert.code}.pdf")
    assert public.status_code == 200
    text = pdf_text(public.data)
    assert "EXPIRED" in text and "Expired on " + display.day(cert.expires_at) in text
    page = app.test_client().get(f"/verify/{cert.code}").get_data(as_text=True)
    assert "verify-expired" in page and 'data-void="EXPIRED"' in page  # the picture is marked too
