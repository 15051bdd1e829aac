"""Admin › Settings › PDF signing in Chromium: reached from Settings, a PKCS#12 uploaded through the form,
a wrong password shown next to its field; no console errors or CSP violations; screenshots at 1366 and
390 px wide (test-artifacts/screens/c/)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from app.extensions import db
from app.services.credentials import pdf_signing
from tests.e2e.conftest import assert_clean
from tests.support.browser import log_in

pytestmark = pytest.mark.browser


def _pkcs12_file(tmp_path):
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Laurel Academy"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "Laurel Academy Document Signing")])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Trust Services CA G2")])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer)
                   .public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
                   .not_valid_after(now + dt.timedelta(days=730)).sign(key, hashes.SHA256()))
    path = tmp_path / "signing.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"signing", key, certificate, None, serialization.BestAvailableEncryption(b"correct horse")))
    return path


def test_admin_uploads_a_signing_certificate(live_server, make_user, new_page, screenshot, tmp_path):
    make_user("admin", email="admin@example.com", name="Ada Admin")
    pdf_signing.current_row()  # the self-issued certificate PDFs were signed with so far
    db.session.commit()
    upload = _pkcs12_file(tmp_path)
    for width, height, label in ((1366, 900, "1366"), (390, 844, "390")):
        page = new_page(viewport={"width": width, "height": height}, is_mobile=width < 500)
        log_in(page, live_server, "admin@example.com")
        page.goto(f"{live_server}/admin/settings")
        page.get_by_test_id("pdf-signing-link").click()
        page.wait_for_url(f"{live_server}/admin/pdf-signing")
        if label == "1366":
            assert "Self-issued" in page.get_by_test_id("signing-current").inner_text()
            page.set_input_files("#pkcs12", str(upload))
            page.fill("#password", "wrong")
            page.get_by_role("button", name="Upload and use for new PDFs").click()
            page.wait_for_selector("#password-error")
            assert "Wrong password" in page.inner_text("#password-error")
            screenshot(page, "screens/c/pdf-signing-wrong-password-1366")
            page.set_input_files("#pkcs12", str(upload))
            page.fill("#password", "correct horse")
            page.get_by_role("button", name="Upload and use for new PDFs").click()
            page.wait_for_url(f"{live_server}/admin/pdf-signing")
            assert "Laurel Academy Document Signing" in page.get_by_test_id("signing-current").inner_text()
        assert "Uploaded" in page.get_by_test_id("signing-current").inner_text()
        assert page.get_by_test_id("signing-replaced").is_visible()
        assert_clean(page)
        screenshot(page, f"screens/c/pdf-signing-{label}")
