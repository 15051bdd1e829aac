"""Issue 14, "done means": a certificate issued through the API yields a signed PDF and an Open Badges 3.0
credential that a third party verifies the way docs/credentials.md tells them to, with no Laurel code:

- the PDF's PAdES signature with pyHanko's validator (and poppler's `pdfsig` when installed), trusting the
  organisation's certificate as the signer found it in the file;
- the credential the PDF carries (read with pypdf), its eddsa-rdfc-2022 proof with pyld + cryptography
  against the key published in /.well-known/did.json (tests/support/independent_verifier.py, written from
  the W3C specifications);
- the JWT form with jwcrypto against the same did.json;
- its status: the signed Bitstring Status List, decoded with the standard library, flips when the
  certificate is revoked through the API.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pypdf
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from app.extensions import db
from app.services.lifecycle import catalog
from tests.support import independent_verifier

PDFSIG = shutil.which("pdfsig")


@pytest.fixture
def api(client, admin_token):
    headers = {"Authorization": f"Bearer {admin_token}"}

    class Api:
        def get(self, path: str, **kw):
            return client.get(f"/api/v1{path}", headers=headers, **kw)

        def post(self, path: str, json: dict):
            return client.post(f"/api/v1{path}", headers=headers, json=json)

        def patch(self, path: str, json: dict):
            return client.patch(f"/api/v1{path}", headers=headers, json=json)

    return Api()


def _issue_through_the_api(api, learner) -> dict:
    course = catalog.create_course({"code": "FS-1", "title": "Fire safety"}, actor="test")
    catalog.create_certification({"name": "Fire Safety", "status": "active", "course_ids": [course.id],
                                  "min_score": 70}, actor="test")
    db.session.commit()
    enrolled = api.post("/enrollments", json={"user_id": learner.id, "course_id": course.id})
    assert enrolled.status_code == 201, enrolled.get_json()
    done = api.patch(f"/enrollments/{enrolled.get_json()['id']}", json={"status": "completed", "score": 91})
    assert done.status_code == 200, done.get_json()
    (certificate,) = api.get(f"/certificates?user_id={learner.id}").get_json()["items"]
    return certificate


def _bit(status_list: dict, index: int) -> int:
    encoded = status_list["credentialSubject"]["encodedList"]
    assert encoded.startswith("u")  # multibase base64url, no padding
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(bits) * 8 >= 131_072
    return bits[index // 8] >> (7 - index % 8) & 1


def _path(url: str) -> str:
    return urlsplit(url).path


def test_a_certificate_issued_through_the_api_proves_itself_to_a_third_party(client, api, learner, jobs,
                                                                           tmp_path):
    certificate = _issue_through_the_api(api, learner)
    jobs()
    pdf = api.get(f"/certificates/{certificate['id']}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    data = pdf.get_data()

    # 1. The PDF's signature: intact, over the whole file, by the organisation's certificate.
    (signature,) = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures
    signer = signature.signer_cert
    context = ValidationContext(trust_roots=[signer], allow_fetching=False)
    # pyHanko's validator runs its own event loop: in a thread, whatever loop a browser test left behind.
    with ThreadPoolExecutor(1) as pool:
        status = pool.submit(validate_pdf_signature, signature, context).result()
    assert status.intact and status.valid and status.trusted
    assert status.coverage.name == "ENTIRE_FILE"
    assert "(self-issued)" in signer.subject.human_friendly  # the organisation's default certificate
    if PDFSIG:
        (tmp_path / "certificate.pdf").write_bytes(data)
        report = subprocess.run([PDFSIG, str(tmp_path / "certificate.pdf")], capture_output=True, text=True,
                                timeout=60).stdout
        assert "Signature is Valid." in report and "ETSI.CAdES.detached" in report

    # 2. The credential it carries, checked against the published DID document.
    attachments = pypdf.PdfReader(io.BytesIO(data)).attachments
    (credential_bytes,) = attachments["credential.json"]
    credential = json.loads(credential_bytes)
    did_document = client.get("/.well-known/did.json").get_json()
    method = independent_verifier.verify_ldp(credential, did_document)
    assert method.startswith(did_document["id"] + "#")
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    subject = credential["credentialSubject"]
    assert subject["achievement"]["name"] == "Fire Safety"
    assert learner.email not in credential_bytes.decode()
    assert client.get(_path(subject["achievement"]["image"]["id"])).mimetype == "image/png"

    # The same credential as a JWT, from the API, checked with jwcrypto.
    token = api.get(f"/certificates/{certificate['id']}/credential?format=jwt").get_data(as_text=True)
    _header, payload = independent_verifier.verify_jwt(token, did_document)
    assert payload["id"] == credential["id"]

    # 3. Its status travels: a signed list, bit clear; revoked through the API, the bit is set.
    entry = credential["credentialStatus"]
    assert entry["type"] == "BitstringStatusListEntry" and entry["statusPurpose"] == "revocation"
    list_path, index = _path(entry["statusListCredential"]), int(entry["statusListIndex"])
    status_list = json.loads(client.get(list_path).get_data())  # application/vc
    independent_verifier.verify_ldp(status_list, did_document)
    assert _bit(status_list, index) == 0
    revoked = api.post(f"/certificates/{certificate['id']}/revoke", json={"reason": "Exam irregularity"})
    assert revoked.status_code == 200
    status_list = json.loads(client.get(list_path).get_data())  # application/vc
    independent_verifier.verify_ldp(status_list, did_document)
    assert _bit(status_list, index) == 1
