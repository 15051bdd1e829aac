# ruff: noqa: F811 - the documents fixtures (certification, issue) are imported, then used by name
"""Signed PDFs: every stored certificate PDF carries a PAdES signature by the organisation's certificate.

Checked by independent verifiers: pyHanko's validator, poppler's `pdfsig` (a C implementation on NSS;
skipped with the reason when it is not installed) and pypdf for the embedded file. The timestamp server is
a real RFC 3161 TSA in its own process on loopback (tests/support/tsa.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import shutil
import subprocess
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor

import pypdf
import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import keys as asn1_keys
from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import func, select

from app.credentials import pades
from app.credentials import x509 as identities
from app.credentials.errors import CredentialError
from app.documents.storage import get_storage
from app.extensions import db
from app.models import AuditEvent, Certificate, PdfSigningIdentity
from app.services.credentials import pdf_signing
from app.services.documents import rendering
from app.services.lifecycle import revocation
from tests.documents.conftest import certification, fresh_storage, issue, pdf_text  # noqa: F401 (fixtures)
from tests.support.tsa import TimestampAuthority

PDFSIG = shutil.which("pdfsig")
needs_pdfsig = pytest.mark.skipif(
    PDFSIG is None, reason="pdfsig is not installed (apt-get install poppler-utils)"
)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _ready(user, issue, jobs) -> Certificate:
    cert = issue(user)
    jobs()
    db.session.expire_all()
    cert = db.session.get(Certificate, cert.id)
    assert cert.pdf_status == "ready", cert.pdf_error
    return cert


def _stored(cert: Certificate) -> bytes:
    return get_storage().read(cert.pdf_key)


def _pdfsig(data: bytes, tmp_path) -> str:
    path = tmp_path / "checked.pdf"
    path.write_bytes(data)
    return subprocess.run([PDFSIG, str(path)], capture_output=True, text=True, timeout=60).stdout


def _pyhanko_status(data: bytes, trusted: list[x509.Certificate]):
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    (signature,) = reader.embedded_signatures
    roots = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in trusted]
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    return _off_any_loop(validate_pdf_signature, signature, context)


def _off_any_loop(function, *args):
    """pyHanko's sync API runs asyncio.run, which refuses where a loop runs (the browser tests' Playwright
    leaves one in this thread when they ran first): the check itself runs in a thread of its own."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


SIGNING_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=True,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


def _certificate(
    subject: str,
    key,
    *,
    issuer=None,
    issuer_key=None,
    ca: bool = False,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    usage: x509.KeyUsage | None = None,
):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or _now() - dt.timedelta(days=1))
        .not_valid_after(not_after or _now() + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    return builder.sign(issuer_key or key, hashes.SHA256())


def _pkcs12(key, certificate, chain=(), password: bytes | None = b"s3cret!") -> bytes:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return pkcs12.serialize_key_and_certificates(
        b"signing", key, certificate, list(chain) or None, encryption
    )


def _ca_issued():
    """A test CA and a document-signing certificate it issued (RSA 3072), as a commercial CA would."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Test Document CA", ca_key, ca=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    leaf = _certificate(
        "Laurel Academy Document Signing", key, issuer=ca, issuer_key=ca_key, usage=SIGNING_USAGE
    )
    return key, leaf, ca


def _upload(client, data: bytes, password: str = "s3cret!"):  # noqa: S107 - a test file's password
    return client.post(
        "/admin/pdf-signing/certificate",
        data={
            "csrf_token": client.csrf_token,
            "password": password,
            "pkcs12": (io.BytesIO(data), "signing.p12"),
        },
        content_type="multipart/form-data",
    )


def _identity_count() -> int:
    return db.session.scalar(select(func.count()).select_from(PdfSigningIdentity))


# --------------------------------------------------------------------------------------------
# Every rendered PDF is signed, and independent verifiers agree
# --------------------------------------------------------------------------------------------


def test_rendered_certificate_pdf_is_signed_and_pyhanko_validates_it(learner, issue, jobs):
    cert = _ready(learner, issue, jobs)
    data = _stored(cert)
    trusted = pdf_signing.trusted_certificates()
    assert len(trusted) == 1 and _identity_count() == 1  # made on first use
    seen = pades.inspect_pdf(data, trusted)
    assert seen.signed and seen.intact and seen.ours and seen.covers_whole_file and seen.signatures == 1
    assert (
        seen.signer_name == "Laurel Academy (self-issued)" and "self-issued by Laurel" in seen.signer_subject
    )
    assert seen.timestamp is None and abs(seen.signing_time - _now()) < dt.timedelta(minutes=5)
    # pyHanko's validator on its own, trusting our certificate as the root: everything checks out.
    status = _pyhanko_status(data, trusted)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage.name == "ENTIRE_FILE"
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    assert reader.embedded_signatures[0].sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "pdf_signing.identity_created"))
    assert audit is not None and audit.actor_label == "system"


@needs_pdfsig
def test_pdfsig_validates_the_signature_and_sees_a_changed_byte(learner, issue, jobs, tmp_path):
    data = _stored(_ready(learner, issue, jobs))
    report = _pdfsig(data, tmp_path)
    assert "Signature Validation: Signature is Valid." in report, report
    assert "Total document signed" in report and "ETSI.CAdES.detached" in report
    assert "Signer Certificate Common Name: Laurel Academy (self-issued)" in report
    changed = bytearray(data)
    changed[300] ^= 0x01  # inside the first signed range
    report = _pdfsig(bytes(changed), tmp_path)
    assert "Signature is Valid." not in report


def test_one_byte_changed_is_not_intact(learner, issue, jobs):
    data = _stored(_ready(learner, issue, jobs))
    for position in (300, len(data) - 200):  # in the first and in the second signed range
        changed = bytearray(data)
        changed[position] = ord("A") if changed[position] != ord("A") else ord("B")
        try:
            seen = pades.inspect_pdf(bytes(changed), pdf_signing.trusted_certificates())
        except CredentialError:
            continue  # the byte broke the file's structure: refused outright, never "genuine"
        assert seen.signed and not seen.intact and not seen.signature_valid
        assert seen.problems


def test_incremental_update_after_signing_is_detected(learner, issue, jobs):
    data = _stored(_ready(learner, issue, jobs))
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    page = writer.root["/Pages"]["/Kids"][0]
    forged = generic.StreamObject(stream_data=b"BT /F1 48 Tf 100 300 Td (FORGED) Tj ET")
    page_dict = page.get_object()
    page_dict["/Contents"] = writer.add_object(forged)  # the page now shows other content
    writer.update_container(page_dict)
    out = io.BytesIO()
    writer.write(out)
    seen = pades.inspect_pdf(out.getvalue(), pdf_signing.trusted_certificates())
    assert seen.signed and seen.signature_valid  # the signed revision itself is untouched ...
    assert not seen.covers_whole_file and not seen.intact  # ... but it no longer covers the file
    assert any("after the document was signed" in p for p in seen.problems)


def test_pdf_signed_by_another_certificate_is_not_ours(learner, issue, jobs):
    data = _stored(_ready(learner, issue, jobs))
    stranger = identities.make_self_issued("Laurel Academy")  # same name, another key
    foreign = pades.sign_pdf(pdf_text_free(data), stranger)
    seen = pades.inspect_pdf(foreign, pdf_signing.trusted_certificates())
    assert seen.signed and seen.intact and not seen.ours
    assert seen.signer_fingerprint == stranger.fingerprint
    assert pades.inspect_pdf(data, [stranger.certificate]).ours is False


def pdf_text_free(data: bytes) -> bytes:
    """An unsigned PDF with the same look (pypdf rewrites it without the signature)."""
    writer = pypdf.PdfWriter()
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# Uploaded PKCS#12
# --------------------------------------------------------------------------------------------


def test_uploaded_pkcs12_signs_the_next_pdf_and_old_pdfs_stay_ours(
    admin,
    learner,
    issue,
    jobs,
    login_as,
    tmp_path,
):
    cert = _ready(learner, issue, jobs)
    before = _stored(cert)
    key, leaf, ca = _ca_issued()
    client = login_as(admin)
    response = _upload(client, _pkcs12(key, leaf, [ca]))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    current = pdf_signing.current_row()
    assert current.kind == "uploaded" and current.fingerprint == identities.fingerprint(leaf)
    assert current.chain_pem.count("BEGIN CERTIFICATE") == 1
    assert "PRIVATE KEY" not in current.private_key  # encrypted at rest
    rendering.regenerate(cert, actor="test")
    db.session.commit()
    jobs()
    db.session.expire_all()
    after = _stored(db.session.get(Certificate, cert.id))
    trusted = pdf_signing.trusted_certificates()
    seen = pades.inspect_pdf(after, trusted)
    assert seen.intact and seen.ours and seen.signer_name == "Laurel Academy Document Signing"
    # pyHanko builds the chain to the CA from the certificates embedded in the signature.
    status = _pyhanko_status(after, [ca])
    assert status.bottom_line and [c.subject.native["common_name"] for c in status.validation_path] == [
        "Test Document CA",
        "Laurel Academy Document Signing",
    ]
    assert pades.inspect_pdf(before, trusted).ours  # signed by the replaced self-issued certificate
    page = client.get("/admin/pdf-signing").get_data(as_text=True)
    assert "Uploaded" in page and "Test Document CA" in page and "Earlier certificates" in page
    if PDFSIG:
        assert "Signature is Valid." in _pdfsig(after, tmp_path)
    assert (
        db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "pdf_signing.certificate_uploaded")
        ).actor_id
        == admin.id
    )
    # Back to self-issued: a new certificate; the uploaded one is kept as replaced.
    assert (
        client.post("/admin/pdf-signing/self-issued", data={"csrf_token": client.csrf_token}).status_code
        == 302
    )
    db.session.expire_all()
    assert pdf_signing.current_row().kind == "self_issued" and _identity_count() == 3
    again = client.post("/admin/pdf-signing/self-issued", data={"csrf_token": client.csrf_token})
    assert again.status_code == 409 and "already signed" in again.get_data(as_text=True)


def _expired():
    key = ec.generate_private_key(ec.SECP256R1())
    long_ago = _now() - dt.timedelta(days=800)
    return _pkcs12(
        key, _certificate("Old", key, not_before=long_ago, not_after=long_ago + dt.timedelta(days=365))
    )


def _mismatched():
    """A PKCS#12 whose key and certificate do not belong together (cryptography refuses to write one, so
    the bags are put together with asn1crypto, unencrypted and without a MAC, as some tools export)."""
    key = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    certificate = _certificate("Someone else", other)
    key_info = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_bag = asn1_pkcs12.CertBag(
        {
            "cert_id": "x509",
            "cert_value": asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER)),
        }
    )
    bags = asn1_pkcs12.SafeContents(
        [
            asn1_pkcs12.SafeBag({"bag_id": "key_bag", "bag_value": key_info}),
            asn1_pkcs12.SafeBag({"bag_id": "cert_bag", "bag_value": cert_bag}),
        ]
    )
    safe = asn1_pkcs12.AuthenticatedSafe(
        [asn1_cms.ContentInfo({"content_type": "data", "content": bags.dump()})]
    )
    return asn1_pkcs12.Pfx(
        {"version": "v3", "auth_safe": asn1_cms.ContentInfo({"content_type": "data", "content": safe.dump()})}
    ).dump()


def _weak_rsa():
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - must be refused
    return _pkcs12(key, _certificate("Weak", key))


def _key_only():
    key = ec.generate_private_key(ec.SECP256R1())
    return pkcs12.serialize_key_and_certificates(
        b"k", key, None, None, serialization.BestAvailableEncryption(b"s3cret!")
    )


def _no_key():
    key = ec.generate_private_key(ec.SECP256R1())
    return pkcs12.serialize_key_and_certificates(
        b"c", None, _certificate("Cert only", key), None, serialization.BestAvailableEncryption(b"s3cret!")
    )


def _ca_certificate():
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA")]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA")]))
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(_now() - dt.timedelta(days=1))
        .not_valid_after(_now() + dt.timedelta(days=30))
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return _pkcs12(key, cert)


@pytest.mark.parametrize(
    ("make", "password", "field", "message"),
    [
        (lambda: _pkcs12(*_ca_issued()[:2]), "wrong", "password", "Wrong password"),
        (lambda: _pkcs12(*_ca_issued()[:2]), "", "password", "Wrong password"),
        (_expired, "s3cret!", "pkcs12", "expired on"),
        (_mismatched, "", "pkcs12", "does not belong"),
        (_weak_rsa, "s3cret!", "pkcs12", "too short"),
        (_key_only, "s3cret!", "pkcs12", "no certificate"),
        (_no_key, "s3cret!", "pkcs12", "no private key"),
        (_ca_certificate, "s3cret!", "pkcs12", "may not be used for signatures"),
        (lambda: b"MIIB" + b"\x00garbage" * 50, "s3cret!", "pkcs12", "not a readable PKCS#12"),
        (lambda: b"0" * (70 * 1024), "s3cret!", "pkcs12", "too large"),
        (lambda: b"", "s3cret!", "pkcs12", "Choose a PKCS#12 file"),
    ],
)
def test_bad_uploads_are_422_and_change_nothing(admin, login_as, make, password, field, message):
    client = login_as(admin)
    pdf_signing.current_row()  # the self-issued identity exists
    db.session.commit()
    before = (_identity_count(), pdf_signing.current_row().fingerprint)
    audits = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = _upload(client, make(), password)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and f'id="{field}-error"' in html
    db.session.expire_all()
    assert (_identity_count(), pdf_signing.current_row().fingerprint) == before
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == audits


def test_pkcs12_with_absurd_key_derivation_work_is_refused_before_opening(monkeypatch):
    # Writing a file over the real limit costs as much work as reading it; lower the limit instead.
    monkeypatch.setattr(identities, "MAX_KDF_ITERATIONS", 10_000)
    key = ec.generate_private_key(ec.SECP256R1())
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(10_001)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(b"pw")
    )
    data = pkcs12.serialize_key_and_certificates(b"n", key, _certificate("Slow", key), None, encryption)
    with pytest.raises(CredentialError, match="unreasonable amount of key-derivation work"):
        identities.load_pkcs12(data, "pw")
    monkeypatch.setattr(identities, "MAX_KDF_ITERATIONS", 10_001)
    assert identities.load_pkcs12(data, "pw").common_name == "Slow"


# --------------------------------------------------------------------------------------------
# Timestamps (PAdES B-T) from a real TSA process
# --------------------------------------------------------------------------------------------


def test_b_t_with_a_real_timestamp_authority(
    app,
    admin,
    learner,
    issue,
    jobs,
    login_as,
    monkeypatch,
    tmp_path,
):
    monkeypatch.setitem(app.config, "OUTGOING_ALLOW_PRIVATE", True)  # the TSA listens on loopback
    client = login_as(admin)
    with TimestampAuthority() as tsa:
        response = client.post(
            "/admin/pdf-signing/timestamps", data={"csrf_token": client.csrf_token, "tsa_url": tsa.url}
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        assert tsa.requests() == 1  # the check on save asked it for a real timestamp
        cert = _ready(learner, issue, jobs)
        data = _stored(cert)
        issued = tsa.requests()
        tsa_certificate = x509.load_der_x509_certificate(tsa.certificate())
    assert issued >= 2
    seen = pades.inspect_pdf(data, pdf_signing.trusted_certificates())
    assert seen.intact and seen.ours and seen.timestamp_intact is True
    assert abs(seen.timestamp - _now()) < dt.timedelta(minutes=5)
    status = _pyhanko_status(data, pdf_signing.trusted_certificates())
    stamp = status.timestamp_validity
    assert stamp is not None and stamp.intact and stamp.valid
    assert stamp.signing_cert.dump() == tsa_certificate.public_bytes(serialization.Encoding.DER)
    if PDFSIG:
        assert "Signature is Valid." in _pdfsig(data, tmp_path)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "pdf_signing.tsa_changed"))


def test_a_timestamp_server_that_is_down_leaves_the_pdf_signed_without_timestamp(
    app, learner, issue, jobs, monkeypatch, admin
):
    monkeypatch.setitem(app.config, "OUTGOING_ALLOW_PRIVATE", True)
    with TimestampAuthority() as tsa:
        pdf_signing.set_tsa_url(tsa.url, actor=admin)
        db.session.commit()
    # The TSA process is gone now: nothing listens on its port.
    seen = pades.inspect_pdf(_stored(_ready(learner, issue, jobs)), pdf_signing.trusted_certificates())
    assert seen.intact and seen.ours and seen.timestamp is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ftp://tsa.example.com/", "http:// or https://"),
        ("http://127.0.0.1:9/", "non-public address"),
        ("http://10.0.0.8/tsa", "non-public address"),
        ("https://tsa.example.com/\x07", "control character"),
        ("https://" + "a" * 600 + ".example/", "500"),
    ],
)
def test_bad_tsa_urls_are_422(admin, login_as, value, message):
    client = login_as(admin)
    response = client.post(
        "/admin/pdf-signing/timestamps", data={"csrf_token": client.csrf_token, "tsa_url": value}
    )
    assert response.status_code == 422
    assert message.lower() in response.get_data(as_text=True).lower()
    assert pdf_signing.tsa_url() == ""


def test_a_server_that_is_not_a_tsa_is_refused_on_save(app, admin, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "OUTGOING_ALLOW_PRIVATE", True)
    client = login_as(admin)
    with TimestampAuthority() as tsa:
        not_tsa = tsa.url + "count"  # answers, but not a timestamp reply
        closed = tsa.url
    for url in (closed,):  # the process is gone: nothing answers
        response = client.post(
            "/admin/pdf-signing/timestamps", data={"csrf_token": client.csrf_token, "tsa_url": url}
        )
        assert response.status_code == 422 and "did not answer as a timestamp server" in response.get_data(
            as_text=True
        )
    assert not_tsa and pdf_signing.tsa_url() == ""


# --------------------------------------------------------------------------------------------
# Embedded files, stamped copies
# --------------------------------------------------------------------------------------------


def test_embedded_attachment_round_trips_and_is_covered_by_the_signature(learner, issue, jobs):
    plain = pdf_text_free(_stored(_ready(learner, issue, jobs)))
    credential = b'{"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"]}'
    signed = pdf_signing.sign_pdf(plain, attachments=[("credential.json", credential, "application/ld+json")])
    reader = pypdf.PdfReader(io.BytesIO(signed.data))  # an independent reader
    assert reader.attachments == {"credential.json": [credential]}
    (spec,) = [s.get_object() for s in reader.trailer["/Root"]["/AF"]]
    assert spec["/AFRelationship"] == "/Data" and spec["/UF"] == "credential.json"
    seen = pades.inspect_pdf(signed.data, pdf_signing.trusted_certificates())
    assert seen.intact and seen.attachments == {"credential.json": credential}
    # The attachment is inside the signed bytes: one byte of its stream changed breaks the signature.
    start = signed.data.index(b"stream", signed.data.index(b"/EmbeddedFile")) + len(b"stream\n") + 4
    tampered = bytearray(signed.data)
    tampered[start] ^= 0x01
    seen = pades.inspect_pdf(bytes(tampered), pdf_signing.trusted_certificates())
    assert not seen.intact and not seen.signature_valid


def test_stamped_revoked_copy_is_signed_by_us(learner, issue, jobs, login_as, tmp_path):
    cert = _ready(learner, issue, jobs)
    revocation.revoke(cert, "Issued by mistake", actor="test")
    db.session.commit()
    response = login_as(learner).get(f"/certificates/{cert.id}/pdf")
    assert response.status_code == 200 and "REVOKED" in pdf_text(response.data)
    seen = pades.inspect_pdf(response.data, pdf_signing.trusted_certificates())
    assert seen.intact and seen.ours and seen.signatures == 1  # the original's signature was taken off
    reader = PdfFileReader(io.BytesIO(response.data), strict=False)
    assert reader.embedded_signatures[0].sig_object["/Reason"] == "Marked REVOKED by Laurel Academy"
    if PDFSIG:
        report = _pdfsig(response.data, tmp_path)
        assert "Signature is Valid." in report and "Signature #2" not in report


# --------------------------------------------------------------------------------------------
# Inspecting hostile PDFs: a CredentialError, never anything else
# --------------------------------------------------------------------------------------------


def _encrypted_pdf() -> bytes:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt("secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _deep_pdf() -> bytes:
    body = b"[" * 100_000 + b"]" * 100_000
    return (
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Deep " + body + b" >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def _bomb_pdf() -> bytes:
    bomb = zlib.compress(b"\x00" * (80 * 1024 * 1024), 9)  # 80 MB of zeros in 80 KB
    return (
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R "
        b"/Names << /EmbeddedFiles << /Names [(x) 3 0 R] >> >> >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
        b"3 0 obj\n<< /Type /Filespec /F (x) /EF << /F 4 0 R >> >>\nendobj\n"
        b"4 0 obj\n<< /Type /EmbeddedFile /Filter /FlateDecode /Length "
        + str(len(bomb)).encode()
        + b" >>\nstream\n"
        + bomb
        + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: b"", "empty"),
        (lambda: b"GIF89a not a pdf", "not a PDF"),
        (lambda: b"%PDF-1.7\n" + b" " * (pades.MAX_INSPECT_BYTES + 1), "too large"),
        (_encrypted_pdf, "encrypted"),
        (lambda: b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", "could not be read"),
        (_deep_pdf, ""),
        (_bomb_pdf, ""),
    ],
)
def test_hostile_pdfs_are_a_credential_error(make, message):
    try:
        seen = pades.inspect_pdf(make(), [])
    except CredentialError as exc:
        assert message.lower() in str(exc).lower()
        return
    assert not message and not seen.signed and not seen.attachments  # read, but nothing usable in it


def test_truncated_signed_pdf_is_refused_or_not_intact(learner, issue, jobs):
    data = _stored(_ready(learner, issue, jobs))
    for cut in (len(data) // 2, len(data) - 40):
        try:
            seen = pades.inspect_pdf(data[:cut], pdf_signing.trusted_certificates())
        except CredentialError:
            continue
        assert not seen.intact


def test_an_unsigned_pdf_is_reported_unsigned():
    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    seen = pades.inspect_pdf(out.getvalue(), [])
    assert not seen.signed and not seen.intact and not seen.ours


# --------------------------------------------------------------------------------------------
# The identity: one, even when two processes sign their first PDF at once
# --------------------------------------------------------------------------------------------


def test_first_identity_is_made_once_under_concurrency(app):
    barrier = threading.Barrier(4)
    fingerprints: list[str] = []
    errors: list[BaseException] = []

    def first_use() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                fingerprints.append(pdf_signing.current_row().fingerprint)
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=first_use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(fingerprints) == 4 and len(set(fingerprints)) == 1
    assert _identity_count() == 1


def test_admin_page_shows_the_certificate_and_is_linked_from_settings(admin, login_as):
    client = login_as(admin)
    assert 'href="/admin/pdf-signing"' in client.get("/admin/settings").get_data(as_text=True)
    page = client.get("/admin/pdf-signing").get_data(as_text=True)
    assert "a self-issued one is made when the first PDF is signed" in page  # a GET writes nothing
    assert _identity_count() == 0
    row = pdf_signing.current_row()
    db.session.commit()
    page = client.get("/admin/pdf-signing").get_data(as_text=True)
    assert row.fingerprint in page and "Self-issued" in page and "green tick" in page


def test_an_expiring_self_issued_certificate_is_replaced_and_old_pdfs_stay_ours(learner, issue, jobs):
    first = _ready(learner, issue, jobs)
    old = pdf_signing.current_row()
    old.not_after = _now() + dt.timedelta(days=10)  # within the renewal margin
    db.session.commit()
    rendering.regenerate(first, actor="test")
    db.session.commit()
    jobs()
    db.session.expire_all()
    new = pdf_signing.current_row()
    assert new.id != old.id and new.kind == "self_issued" and _identity_count() == 2
    stored = _stored(db.session.get(Certificate, first.id))
    seen = pades.inspect_pdf(stored, pdf_signing.trusted_certificates())
    assert seen.ours and seen.signer_fingerprint == new.fingerprint
    assert db.session.get(PdfSigningIdentity, old.id).replaced_at is not None


def test_an_expired_uploaded_certificate_never_signs(admin, login_as):
    key, leaf, ca = _ca_issued()
    assert _upload(login_as(admin), _pkcs12(key, leaf, [ca])).status_code == 302
    db.session.expire_all()
    uploaded = pdf_signing.current_row()
    assert uploaded.kind == "uploaded"
    page = login_as(admin).get("/admin/pdf-signing").get_data(as_text=True)
    assert "signing-expires-soon" not in page
    uploaded.not_after = _now() + dt.timedelta(days=5)
    db.session.commit()
    page = login_as(admin).get("/admin/pdf-signing").get_data(as_text=True)
    assert 'data-testid="signing-expires-soon"' in page  # warned, still signing
    assert pdf_signing.current_row().id == uploaded.id
    uploaded.not_after = _now() - dt.timedelta(minutes=1)
    db.session.commit()
    signed = pdf_signing.sign_pdf(pdf_text_free(_blank_pdf()))
    db.session.commit()
    db.session.expire_all()
    current = pdf_signing.current_row()
    assert current.kind == "self_issued" and signed.identity_id == current.id
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "pdf_signing.identity_created"))
    assert any("expired on" in a.summary for a in audit)


def _blank_pdf() -> bytes:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_upload_form_refuses_text_instead_of_a_file_and_oversize_bodies(app, admin, login_as, monkeypatch):
    client = login_as(admin)
    response = client.post(
        "/admin/pdf-signing/certificate",
        data={"csrf_token": client.csrf_token, "pkcs12": "not a file", "password": "x"},
    )
    assert response.status_code == 422 and "Choose a PKCS#12 file" in response.get_data(as_text=True)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100 * 1024)
    huge = _upload(client, b"0" * (200 * 1024))
    assert huge.status_code == 413
    no_csrf = client.post("/admin/pdf-signing/timestamps", data={"tsa_url": ""})
    assert no_csrf.status_code in (400, 403) and pdf_signing.tsa_url() == ""


def _pdf(*objects: bytes) -> bytes:
    """A small PDF with a correct cross-reference table (object 1 is the catalog)."""
    out, offsets = b"%PDF-1.7\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


PAGES = b"<< /Type /Pages /Kids [] /Count 0 >>"


@pytest.mark.parametrize(
    ("pdf", "signed"),
    [
        (
            _pdf(
                b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [3 0 R] >> >>",
                PAGES,
                b"<< /FT /Sig /Kids [3 0 R] >>",
            ),
            False,
        ),  # a field that is its own child
        (
            _pdf(
                b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 3 0 R >> >>",
                PAGES,
                b"<< /Kids [3 0 R 3 0 R] >>",
            ),
            False,
        ),  # a name tree that loops
        (_pdf(b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"), False),
        (
            _pdf(
                b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [3 0 R] >> >>",
                PAGES,
                b"<< /FT /Sig /T (x) /V << /Type /Sig /ByteRange [0 10 20 30] /Contents <00> "
                b"/SubFilter /ETSI.CAdES.detached >> >>",
            ),
            True,
        ),  # a signature value that is not CMS
    ],
)
def test_looping_and_mangled_structures_get_an_answer(pdf, signed):
    seen = pades.inspect_pdf(pdf, [])
    assert seen.signed is signed and not seen.intact and not seen.ours
    assert not signed or "damaged" in seen.problems[0]


def test_signing_and_checking_work_inside_a_running_event_loop():
    """pyHanko's sync API runs asyncio.run, which refuses inside a running loop (Playwright's sync API in
    the browser tests, an async server): the engine then uses a helper thread."""
    identity = identities.make_self_issued("Loop School")

    async def inside() -> pades.PdfInspection:
        signed = pades.sign_pdf(_blank_pdf(), identity)
        return pades.inspect_pdf(signed, [identity.certificate])

    seen = _off_any_loop(asyncio.run, inside())
    assert seen.intact and seen.ours
