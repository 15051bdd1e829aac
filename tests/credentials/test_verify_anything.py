"""Verify anything: a certificate PDF, an Open Badges 3.0 credential (JSON-LD) or a VC-JWT, uploaded on the
verify page or to POST /api/v1/verify, answered with a verdict (app/services/credentials/verifying.py).

Real inputs only: certificates issued through the services, PDFs rendered and signed by the real pipeline
(the render job run by a real RQ worker), credentials signed by the organisation's key ring; "another
issuer" is a key or an X.509 certificate made here.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import gzip
import io
import json
import random
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from sqlalchemy import func, select

from app.credentials import data_integrity, multikey, pades, vc_jwt
from app.credentials import x509 as identities
from app.database import utcnow
from app.documents.storage import get_storage
from app.extensions import db
from app.models import AuditEvent, Certificate
from app.services.credentials import keyring, open_badges, pdf_signing, verifying
from app.services.credentials.verifying import Unreadable, verify_upload
from app.services.documents import rendering
from app.services.lifecycle import revocation
from tests.api.conftest import api_as, documented, token_for  # noqa: F401
from tests.conftest import csrf_token_from
from tests.support.certificates import at, certification, issue  # noqa: F401

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def fresh_storage(app, tmp_path):
    """PDFs go to this test's own folder (local backend)."""
    saved = {k: app.config.get(k) for k in ("STORAGE_BACKEND", "STORAGE_ROOT")}
    app.config.update(STORAGE_BACKEND="local", STORAGE_ROOT=str(tmp_path / "files"))
    app.extensions.pop("laurel_storage", None)
    yield tmp_path / "files"
    app.config.update(saved)
    app.extensions.pop("laurel_storage", None)


@pytest.fixture
def cert(issue, learner):  # noqa: F811 (the imported fixture)
    return issue(learner, when=utcnow() - timedelta(days=30))


def ldp(cert) -> dict:
    return open_badges.current_credential(cert, "ldp")


def as_bytes(document: dict | str) -> bytes:
    return open_badges.serialized(document)


def rendered_pdf(cert, jobs) -> bytes:
    """The certificate's stored PDF, rendered and signed by the render job."""
    jobs()
    db.session.expire_all()
    row = db.session.get(Certificate, cert.id)
    assert row.pdf_key, "the render job stored no PDF"
    return get_storage().read(row.pdf_key)


@pytest.fixture
def genuine_pdf(cert, jobs) -> bytes:
    """Signed by the render job, with its credential.json inside (pdf_signing.embedded_files)."""
    return rendered_pdf(cert, jobs)


# --------------------------------------------------------------------------------------------
# PDFs
# --------------------------------------------------------------------------------------------


def test_a_genuine_pdf_is_valid_and_names_its_certificate(cert, genuine_pdf, learner):
    verdict = verify_upload(genuine_pdf, "certificate.pdf")
    assert verdict.outcome == "valid", verdict
    assert verdict.kind == "pdf"
    assert verdict.signature.valid and verdict.signature.ours and verdict.signature.key_state == "current"
    assert verdict.content.unaltered is True
    assert verdict.credential.holder == learner.name
    assert verdict.credential.serial == cert.serial
    assert verdict.credential.certification == "First Aid Level 2"
    assert verdict.status.state == "valid"
    assert verdict.verify_code == cert.code
    assert verdict.stored is False


def test_a_genuine_pdf_without_a_credential_inside_is_genuine_but_not_identified(cert, jobs, monkeypatch):
    monkeypatch.setattr(pdf_signing, "embedded_files", lambda cert: [])  # as PDFs signed before issue 14
    verdict = verify_upload(rendered_pdf(cert, jobs))
    assert verdict.outcome == "unknown"
    assert verdict.headline == "Genuine PDF, certificate not identified"
    assert verdict.signature.valid and verdict.signature.ours
    assert verdict.content.unaltered is True


def test_a_pdf_with_one_byte_changed_after_signing_is_altered(genuine_pdf):
    # The binary comment on the second line: the file still parses, but the signed bytes differ.
    position = genuine_pdf.index(b"\n") + 3
    edited = bytearray(genuine_pdf)
    edited[position] ^= 0x01
    verdict = verify_upload(bytes(edited))
    assert verdict.outcome == "altered"
    assert verdict.content.unaltered is False
    assert any("altered after signing" in p for p in verdict.content.problems)


def test_a_pdf_with_an_incremental_update_appended_is_altered(genuine_pdf):
    writer = IncrementalPdfFileWriter(io.BytesIO(genuine_pdf), strict=False)
    writer.root["/Lang"] = generic.TextStringObject("fr")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    verdict = verify_upload(out.getvalue())
    assert verdict.outcome == "altered"
    assert verdict.signature.valid  # the signature itself still holds ...
    assert any("added or changed after" in p for p in verdict.content.problems)  # ... but not over the file


def test_a_pdf_signed_by_another_issuer_is_not_ours(cert):
    other = identities.make_self_issued("Other School")
    signed = pades.sign_pdf(rendering.render(cert), other)
    verdict = verify_upload(signed)
    assert verdict.outcome == "not_ours"
    assert verdict.signature.valid and not verdict.signature.ours
    assert "Other School" in verdict.signature.signer


def test_an_unsigned_pdf_is_not_signed(cert):
    verdict = verify_upload(rendering.render(cert))
    assert verdict.outcome == "unsigned"
    assert verdict.signature.present is False and verdict.content.unaltered is None


def test_a_pdf_signed_with_a_replaced_certificate_is_still_ours(app, cert, jobs, admin):
    pdf = rendered_pdf(cert, jobs)
    # An uploaded PKCS#12 becomes the signing identity: the self-issued one that signed `pdf` is replaced.
    new = identities.make_self_issued("Laurel Academy (2027)")
    bundle = pkcs12.serialize_key_and_certificates(b"new", new.private_key, new.certificate, None,
                                                   BestAvailableEncryption(b"secret"))
    pdf_signing.upload_pkcs12(bundle, "secret", actor=admin)
    db.session.commit()
    verdict = verify_upload(pdf)
    assert verdict.outcome == "valid"
    assert verdict.signature.ours and verdict.signature.key_state == "replaced"


# --------------------------------------------------------------------------------------------
# Credentials: JSON-LD and JWT
# --------------------------------------------------------------------------------------------


def test_a_genuine_credential_and_its_jwt_are_valid(cert, learner):
    for data, kind in ((as_bytes(ldp(cert)), "credential"),
                       (as_bytes(open_badges.current_credential(cert, "jwt")), "jwt")):
        verdict = verify_upload(data)
        assert (verdict.outcome, verdict.kind) == ("valid", kind), verdict
        assert verdict.signature.issuer_id == keyring.issuer_did()
        assert verdict.signature.key_id == keyring.signer().verification_method
        assert verdict.credential.holder == learner.name and verdict.credential.serial == cert.serial
        assert verdict.status.status_list_revoked is False


def test_a_credential_with_a_changed_name_is_altered_and_says_what_changed(cert, learner):
    document = ldp(cert)
    document["credentialSubject"]["identifier"][1]["identityHash"] = "Mallory Impostor"
    verdict = verify_upload(as_bytes(document))
    assert verdict.outcome == "altered"
    assert "changed after signing" in verdict.content.problems[0]
    assert any("Holder's name" in p and "Mallory Impostor" in p and learner.name in p
               for p in verdict.content.problems)


def test_a_jwt_with_a_changed_payload_is_altered(cert):
    header, payload, signature = open_badges.current_credential(cert, "jwt").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["achievement"]["name"] = "Brain Surgery"
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    verdict = verify_upload(f"{header}.{body}.{signature}".encode())
    assert verdict.outcome == "altered"
    assert verdict.credential.certification == "Brain Surgery"  # what the file claims, flagged as such
    assert any("Certification" in p and "Brain Surgery" in p for p in verdict.content.problems)


def _signed_with_unpublished_key(cert, fmt: str):
    stranger = Ed25519PrivateKey.generate()
    method = f"{keyring.issuer_did()}#{multikey.public_multikey(stranger.public_key())}"
    document = open_badges.credential_document(cert)
    if fmt == "jwt":
        return vc_jwt.sign_jwt(document, stranger, method)
    return data_integrity.add_proof(document, stranger, method, created=cert.issued_at)


@pytest.mark.parametrize("fmt", ["ldp", "jwt"])
def test_a_credential_signed_by_a_key_we_never_published_is_forged(cert, fmt):
    verdict = verify_upload(as_bytes(_signed_with_unpublished_key(cert, fmt)))
    assert verdict.outcome == "forged"
    assert verdict.headline == "Not signed by us"
    assert verdict.status.state == "unknown"  # nothing looked up for a forgery


def test_a_key_rotated_out_but_still_published_still_verifies(cert, admin):
    document, token = ldp(cert), open_badges.current_credential(cert, "jwt")
    keyring.rotate(admin)
    db.session.commit()
    for data in (as_bytes(document), token.encode()):
        verdict = verify_upload(data)
        assert verdict.outcome == "valid"
        assert verdict.signature.key_state == "rotated"
        assert "earlier key" in verdict.signature.detail


def test_a_revoked_certificate_says_revoked_with_the_reason(cert, client):
    document = ldp(cert)
    revocation.revoke(cert, "Exam fraud", actor="test")
    db.session.commit()
    verdict = verify_upload(as_bytes(document))
    assert verdict.outcome == "revoked" and verdict.headline == "Genuine, but revoked"
    assert verdict.status.reason == "Exam fraud" and "Exam fraud" in verdict.status.detail
    assert document["credentialStatus"]["type"] == "BitstringStatusListEntry"
    assert verdict.status.status_list_revoked is True  # the status list bit agrees ...
    entry = document["credentialStatus"]  # ... with the published list, decoded here with the stdlib
    listed = json.loads(client.get(entry["statusListCredential"].removeprefix("http://localhost")).data)
    encoded = listed["credentialSubject"]["encodedList"][1:]
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    index = int(entry["statusListIndex"])
    assert bits[index // 8] >> (7 - index % 8) & 1 == 1
    assert verdict.signature.valid  # the signature is still genuine: the status is what changed


def test_an_expired_certificate_says_expired(issue, learner):  # noqa: F811
    old = issue(learner, when=utcnow() - timedelta(days=3 * 365))
    verdict = verify_upload(as_bytes(ldp(old)))
    assert verdict.outcome == "expired"
    assert verdict.status.state == "expired"


def test_a_credential_of_ours_for_a_code_we_do_not_know(app):
    document = open_badges.sign(open_badges.document_from(open_badges.STAND_IN), "ldp",
                                created=open_badges.STAND_IN.issued_at)
    verdict = verify_upload(as_bytes(document))
    assert verdict.outcome == "unknown" and verdict.headline == "Signed by us, but not in our records"
    assert verdict.signature.valid and verdict.signature.ours
    assert verdict.status.state == "unknown"


def test_a_credential_from_another_issuer_is_not_ours(cert):
    document = open_badges.credential_document(cert)
    stranger = Ed25519PrivateKey.generate()
    document["issuer"] = {"id": "did:web:other.example", "type": ["Profile"], "name": "Other School"}
    signed = data_integrity.add_proof(document, stranger,
                                      f"did:web:other.example#{multikey.public_multikey(stranger.public_key())}")
    verdict = verify_upload(as_bytes(signed))
    assert verdict.outcome == "not_ours"
    assert "Other School" in verdict.summary


def test_a_credential_without_a_proof_is_unsigned(cert):
    verdict = verify_upload(as_bytes(open_badges.credential_document(cert)))
    assert verdict.outcome == "unsigned"


# --------------------------------------------------------------------------------------------
# Hostile and broken input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "status", "words"), [
    (b"", 400, "empty"),
    (b"   \n", 400, "empty"),
    (b"hello, world", 400, "not a PDF"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, 400, "image cannot be read"),
    (b"GIF89a" + b"\0" * 100, 400, "not a PDF"),
    (b"[1, 2, 3]", 400, "not a credential"),
    (b'{"type": ["VerifiableCredential"], "type": ["x"]}', 400, "Duplicate key"),
    (b"[" * 100 + b"]" * 100, 400, "Nested deeper"),
    (b'{"a": 1}', 400, "not a Verifiable Credential"),
    (b"%PDF-1.7\n garbage", 400, "PDF"),
    (b"eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.", 400, "not a PDF"),  # "alg": "none", no signature part
    (b"e30.e30.AAAA", 400, "cannot be read"),
    (b"eyJhbGciOiJFZERTQSJ9.WzFd.AAAA", 400, "does not carry a credential"),
    (b"%PDF-" + b"x" * verifying.MAX_PDF, 413, "too large"),
    (b"{" + b" " * verifying.MAX_TEXT + b"}", 413, "at most 256 KB"),
])
def test_what_cannot_be_checked_is_refused_with_a_reason(app, data, status, words):
    with pytest.raises(Unreadable) as refused:
        verify_upload(data)
    assert refused.value.status == status
    assert words.lower() in str(refused.value).lower()


def test_a_hostile_json_ld_graph_is_refused_before_canonicalization(cert, monkeypatch):
    document = ldp(cert)
    # A "poison" graph: many interlinked unnamed nodes is what makes RDFC-1.0 slow.
    document["credentialSubject"]["extra"] = [{"type": "Thing", "knows": [{"type": "Thing"}] * 3}] * 40
    canonicalized = []
    monkeypatch.setattr(verifying.data_integrity, "canonize", lambda *a, **k: canonicalized.append(1))
    with pytest.raises(Unreadable, match="too many unnamed nodes"):
        verify_upload(as_bytes(document))
    assert canonicalized == []  # refused before any RDFC-1.0 work


def test_unknown_contexts_and_embedded_keywords_are_refused(cert):
    for change in ({"@context": [*ldp(cert)["@context"], "https://evil.example/context.jsonld"]},
                   {"credentialSubject": {**ldp(cert)["credentialSubject"], "@context": {"x": "http://x/"}}}):
        document = {**ldp(cert), **change}
        with pytest.raises(Unreadable, match="cannot be checked"):
            verify_upload(as_bytes(document))


def test_the_largest_graph_we_accept_still_gets_an_answer(cert):
    """The largest graph we accept: MAX_BLANK_NODES unnamed nodes, all alike (the hard case for RDFC-1.0).
    Its cost is a benchmark's business, not a timed assertion here (about 15 ms to canonicalize)."""
    document = copy.deepcopy(ldp(cert))
    document["credentialSubject"]["achievement"]["alignment"] = [
        {"type": ["Alignment"], "targetName": "same", "targetUrl": "https://example.org/x"}
        for _ in range(verifying.MAX_BLANK_NODES - 8)]
    verdict = verify_upload(as_bytes(document))
    assert verdict.outcome == "altered"  # added after signing


def test_any_value_of_a_credential_replaced_by_a_wrong_type_is_an_answer_never_a_crash(cert):
    """Each value of a genuine credential replaced in turn by a value of another shape: always a verdict
    or Unreadable (a 400), never another exception (a 500). 4 shapes per value keep it near a second."""
    document = ldp(cert)
    paths = [path for path, _ in verifying._walk(document) if path]
    for number, path in enumerate(paths):
        for weird in (None, {"id": "x"}, [[]], "é" * 300)[number % 2::2]:
            changed = copy.deepcopy(document)
            target = changed
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = weird
            with contextlib.suppress(Unreadable):  # a 400: fine
                assert verify_upload(as_bytes(changed)).outcome in verifying.OUTCOMES


def test_random_damage_to_a_signed_pdf_is_altered_or_unreadable(genuine_pdf):
    rng = random.Random(14)
    for number in range(24):
        cut = rng.randrange(len(genuine_pdf)) if number % 6 == 0 else len(genuine_pdf)
        damaged = bytearray(genuine_pdf[:cut])
        for _ in range(rng.choice((1, 3, 20))):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        with contextlib.suppress(Unreadable):  # a 400: fine
            # Damage inside the signature's own dictionary leaves no signature to find: "unsigned" is
            # then the truthful answer. Never "valid", never a crash.
            assert verify_upload(bytes(damaged)).outcome in ("altered", "unsigned")


# --------------------------------------------------------------------------------------------
# The page: POST /verify/file
# --------------------------------------------------------------------------------------------


def _form(client) -> str:
    page = client.get("/verify")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'action="/verify/file"' in html and "never stored" in html
    return csrf_token_from(html)


def _upload(client, data: bytes, name: str = "certificate.pdf", headers: dict | None = None):
    token = _form(client)
    return client.post("/verify/file", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", headers=headers or {})


def test_anyone_can_check_a_genuine_pdf_on_the_verify_page(client, cert, genuine_pdf):
    answer = _upload(client, genuine_pdf, headers=HX)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert 'data-outcome="valid"' in html and "Genuine and valid" in html
    assert answer.headers["Cache-Control"] == "no-store"
    assert cert.serial in html and f'href="/verify/{cert.code}"' in html
    assert "<html" not in html  # htmx gets the fragment


def test_without_javascript_the_page_answers_whole(client, genuine_pdf):
    edited = genuine_pdf + b"\n% appended\n"
    answer = _upload(client, edited)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "<html" in html and 'data-outcome="altered"' in html


def test_a_pasted_jwt_is_checked(client, cert):
    token = _form(client)
    jwt = open_badges.current_credential(cert, "jwt")
    answer = client.post("/verify/file", data={"csrf_token": token, "text": jwt}, headers=HX)
    assert answer.status_code == 200 and 'data-outcome="valid"' in answer.get_data(as_text=True)


def test_what_cannot_be_checked_is_a_422_in_place(client):
    answer = _upload(client, b"just some words", "notes.txt", headers=HX)
    assert answer.status_code == 422
    assert 'data-outcome="unreadable"' in answer.get_data(as_text=True)
    empty = client.post("/verify/file", data={"csrf_token": _form(client)}, headers=HX)
    assert empty.status_code == 422 and "empty" in empty.get_data(as_text=True)


def test_the_form_needs_its_csrf_token(client, cert):
    answer = client.post("/verify/file", data={"text": open_badges.current_credential(cert, "jwt")})
    assert answer.status_code == 400


def _multipart(token: str, data: bytes, name: str) -> tuple[bytes, str]:
    """A multipart body built by hand: the test client's own encoder spools bodies over 500 KB to a
    temporary file (and never closes it)."""
    boundary = "verify-boundary-7c1f"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/pdf\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_nothing_is_stored_or_recorded(client, cert, genuine_pdf, fresh_storage, monkeypatch):
    """No row, no file: uploads are read in memory (never spooled to a temporary file) and dropped."""
    from werkzeug import formparser

    def no_temporary_files(*args, **kwargs):
        raise AssertionError("an upload was spooled to a temporary file")

    monkeypatch.setattr(formparser, "SpooledTemporaryFile", no_temporary_files)
    files_before = sorted(p for p in fresh_storage.rglob("*") if p.is_file())
    audit_before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    assert _upload(client, genuine_pdf).status_code == 200
    big = genuine_pdf + b"\n%" + b"x" * 600_000 + b"\n"  # over werkzeug's 500 KB in-memory default
    body, content_type = _multipart(_form(client), big, "big.pdf")
    answer = client.post("/verify/file", data=body, content_type=content_type)
    assert answer.status_code == 422  # unreadable (no trailer at its end), yet read in memory
    assert sorted(p for p in fresh_storage.rglob("*") if p.is_file()) == files_before
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == audit_before


def test_spooling_is_still_the_default_elsewhere(app):
    """Only the endpoints that promise not to store uploads read them in memory."""
    with app.test_request_context("/courses", method="POST"):
        from flask import request

        assert request.max_content_length == app.config["MAX_CONTENT_LENGTH"]
        with request._get_file_stream(600_000, "application/pdf") as stream:
            assert not isinstance(stream, io.BytesIO)


def test_the_page_is_rate_limited_like_the_verify_page(app, client):
    token = _form(client)
    app.config["VERIFY_RATE_LIMIT"] = "2 per minute"
    try:
        codes = [client.post("/verify/file", data={"csrf_token": token, "text": "x"}, headers=HX).status_code
                 for _ in range(3)]
    finally:
        app.config.pop("VERIFY_RATE_LIMIT")
    assert codes == [422, 422, 429]


# --------------------------------------------------------------------------------------------
# The API: POST /api/v1/verify
# --------------------------------------------------------------------------------------------


@pytest.fixture
def api(api_as):  # noqa: F811 (the imported fixture)
    return api_as(None)  # public: no token, no session, no CSRF


def test_the_api_verifies_raw_bodies_of_each_type(api, cert, genuine_pdf):
    jwt = open_badges.current_credential(cert, "jwt")
    for data, media in ((genuine_pdf, "application/pdf"), (as_bytes(ldp(cert)), "application/json"),
                        (as_bytes(ldp(cert)), "application/ld+json"), (as_bytes(ldp(cert)), "application/vc"),
                        (jwt.encode(), "application/vc+jwt"),
                        (jwt.encode(), "text/plain")):
        answer = api.post("/verify", data=data, content_type=media)
        assert answer.status_code == 200, (media, answer.get_json())
        body = answer.get_json()
        assert body["outcome"] == "valid" and body["stored"] is False
        assert body["credential"]["serial"] == cert.serial
    assert answer.headers["Cache-Control"] == "no-store"


def test_the_api_takes_a_multipart_file(api, cert):
    document = ldp(cert)
    revocation.revoke(cert, "Exam fraud", actor="test")
    db.session.commit()
    answer = api.post("/verify", data={"file": (io.BytesIO(as_bytes(document)), "credential.json")},
                      content_type="multipart/form-data")
    body = answer.get_json()
    assert answer.status_code == 200 and body["outcome"] == "revoked"
    assert body["status"] == {**body["status"], "state": "revoked", "reason": "Exam fraud"}


def test_the_api_refuses_with_the_right_status(api, app):
    assert api.post("/verify", data=b"GIF89a", content_type="image/gif").status_code == 415
    assert api.post("/verify", data=b"what is this", content_type="text/plain").status_code == 400
    assert api.post("/verify", data=b"", content_type="application/pdf").status_code == 400
    assert api.post("/verify", data={"other": "x"}, content_type="multipart/form-data").status_code == 400
    over_cap = b"%PDF-" + b"x" * verifying.MAX_PDF
    assert api.post("/verify", data=over_cap, content_type="application/pdf").status_code == 413
    way_over = b"%PDF-" + b"x" * (verifying.MAX_PDF + 200_000)  # refused before it is read
    assert api.post("/verify", data=way_over, content_type="application/pdf").status_code == 413
    bad_json = api.post("/verify", data=b'{"a": 1, "a": 2}', content_type="application/json")
    assert bad_json.status_code == 400 and "Duplicate key" in bad_json.get_json()["detail"]


def test_a_signed_in_browser_session_needs_no_csrf_header_for_a_check(login_as, learner, cert):
    client = login_as(learner)
    answer = client.post("/api/v1/verify", data=open_badges.current_credential(cert, "jwt"),
                         content_type="application/vc+jwt")
    assert answer.status_code == 200 and answer.get_json()["outcome"] == "valid"


def test_the_api_is_rate_limited_per_address(app, api):
    app.config["VERIFY_RATE_LIMIT"] = "2 per minute"
    try:
        codes = [api.post("/verify", data=b"x", content_type="text/plain").status_code for _ in range(3)]
    finally:
        app.config.pop("VERIFY_RATE_LIMIT")
    assert codes == [400, 400, 429]


def test_an_open_badges_3_baked_badge_is_checked_like_its_credential(cert, client):
    """The badge PNG from /credentials/<code>/badge.png carries the JWT: dropping the image is enough."""
    baked = client.get(f"/credentials/{cert.code}/badge.png").get_data()
    verdict = verifying.verify_upload(baked, "badge.png")
    assert verdict.outcome == "valid" and verdict.kind == "jwt"
    ob2_badge = client.get(f"/ob2/assertions/{cert.code}/badge.png").get_data()
    with pytest.raises(verifying.Unreadable, match="Open Badges 2 badge"):
        verifying.verify_upload(ob2_badge, "badge.png")
    with pytest.raises(verifying.Unreadable, match="cannot be read"):
        verifying.verify_upload(baked[:40], "broken.png")


def test_the_api_takes_a_baked_badge(cert, client):
    baked = client.get(f"/credentials/{cert.code}/badge.png").get_data()
    response = client.post("/api/v1/verify", data=baked, content_type="image/png")
    assert response.status_code == 200 and response.get_json()["outcome"] == "valid"
