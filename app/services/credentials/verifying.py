"""Verify anything: a certificate PDF, an Open Badges 3.0 credential (JSON-LD with a Data Integrity proof)
or a VC-JWT that someone uploads, answered as a `Verdict`.

A verdict answers four questions, in plain words and as data:
- **signature**: is it signed, by whom (the issuer's name and DID, the key; for a PDF the certificate's
  subject), and is that one of ours (current key, or rotated out but still published)?
- **content**: unaltered, or exactly what is wrong (the signature does not match; what was appended; which
  fields differ from our record);
- **credential**: what it carries (certification, holder, issued, expires, serial);
- **status**: what our database says now (valid / expiring / expired / revoked with the reason / unknown),
  looked up by the verification code in the credential's id, and the status list bit when there is one.

Nothing is stored: the bytes live in this request's memory only (no file, no row, no log of the content).
Every path is bounded before parsing: the size per kind, JSON depth and duplicate keys (app.strict_json),
and the JSON-LD graph (values, blank nodes, keywords) before RDF canonicalization, whose cost grows fast
with hostile blank-node graphs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from joserfc import jws
from joserfc.errors import JoseError

from app.credentials import baking, data_integrity, pades, vc_jwt
from app.credentials.errors import CHANGED, CredentialError
from app.credentials.jsonld import KNOWN_CONTEXTS
from app.rules.display import day
from app.services import organisation
from app.services.credentials import keyring, open_badges, pdf_signing
from app.services.credentials import status as status_lists
from app.services.lifecycle import verification
from app.strict_json import JSONInputError
from app.strict_json import loads as strict_loads

KiB, MiB = 1024, 1024 * 1024
MAX_PDF = 5 * MiB  # a certificate PDF is a few hundred kilobytes
MAX_TEXT = 256 * KiB  # a credential is a few kilobytes, as JSON or as a JWT
MAX_UPLOAD = MAX_PDF  # the most any upload may be (checked before reading the rest)
# The JSON-LD graph a credential may be before we canonicalize it. Ours have ~60 values and ~8 blank nodes.
MAX_VALUES = 2000
MAX_BLANK_NODES = 32
# Attached files a signed PDF may carry: the credential, as JSON-LD or as a JWT.
CREDENTIAL_ATTACHMENT = pdf_signing.CREDENTIAL_FILE  # "credential.json"
MAX_DIFFERENCES = 6

_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")

OUTCOMES = ("valid", "expiring", "expired", "revoked", "unknown", "altered", "forged", "not_ours", "unsigned")
KINDS = ("pdf", "credential", "jwt")


class Unreadable(Exception):
    """The upload cannot be checked at all: empty, too large, or not a PDF, a credential or a JWT.
    `status` is the HTTP status to answer with (400, 413 or 415); the message is safe to show."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------------------------
# The verdict
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """Who signed, and whether it checks out. `ours`: one of this organisation's keys or certificates."""

    present: bool
    valid: bool = False
    ours: bool = False
    signer: str | None = None  # the issuer's name, or the PDF certificate's subject
    issuer_id: str | None = None  # the issuer's DID as the credential states it
    key_id: str | None = None  # the verification method / kid, or the PDF certificate's fingerprint
    # "current"; "rotated" (a retired key, still published); "replaced" (an earlier PDF signing certificate)
    key_state: str | None = None
    signed_at: str | None = None  # ISO 8601: the proof's `created`, or the PDF's timestamp / signing time
    detail: str = ""


@dataclass(frozen=True)
class Content:
    unaltered: bool | None  # None: could not be told (nothing signed it)
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Carried:
    """The credential the file carries, as it states it (trust it only as far as the verdict goes)."""

    id: str | None = None
    code: str | None = None
    certification: str | None = None
    holder: str | None = None
    issuer: str | None = None
    issued: str | None = None
    expires: str | None = None
    serial: str | None = None  # from our record (credentials do not carry it)


@dataclass(frozen=True)
class LiveStatus:
    state: str  # "valid" | "expiring" | "expired" | "revoked" | "unknown"
    detail: str
    revoked_at: str | None = None
    reason: str | None = None
    status_list_revoked: bool | None = None  # the status list bit, when the credential names our list


@dataclass(frozen=True)
class Verdict:
    outcome: str  # one of OUTCOMES
    headline: str
    summary: str
    kind: str  # one of KINDS
    signature: Signature
    content: Content
    status: LiveStatus
    credential: Carried | None = None
    reasons: tuple[str, ...] = ()
    verify_code: str | None = None  # the certificate's verification code, when it is in our records
    stored: bool = False  # always False: uploads are never kept

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        data["content"]["problems"] = list(self.content.problems)
        return data


HEADLINES = {
    "valid": "Genuine and valid", "expiring": "Genuine and valid, expiring soon",
    "expired": "Genuine, but expired",
    "revoked": "Genuine, but revoked", "unknown": "Signed by us, but not in our records",
    "altered": "Altered after signing", "forged": "Not signed by us", "not_ours": "Not issued by us",
    "unsigned": "Not signed",
}


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def verify_upload(data: bytes, filename: str | None = None) -> Verdict:
    """Check an uploaded file; raises Unreadable when there is nothing we can check."""
    if data.startswith(PNG_SIGNATURE):
        data = baked_credential(data)
    kind = sniff(data, filename)
    if kind == "pdf":
        return verify_pdf(data)
    text = _text(data)
    if kind == "jwt":
        return verify_jwt_text(text)
    return verify_credential_text(text)


def sniff(data: bytes, filename: str | None = None) -> str:
    """"pdf", "jwt" or "credential" from the bytes (never from the name alone); the size cap of that kind."""
    if not data or not data.strip():
        raise Unreadable("The file is empty.")
    if len(data) > MAX_UPLOAD:
        raise Unreadable(f"The file is too large to check (at most {MAX_UPLOAD // MiB} MB).", 413)
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF-"):
        return "pdf"
    if len(data) > MAX_TEXT:
        raise Unreadable(f"A credential or a JWT is at most {MAX_TEXT // KiB} KB; this file is larger.", 413)
    stripped = data.strip().lstrip(b"\xef\xbb\xbf")
    if _JWS.fullmatch(stripped.decode("ascii", "replace")):
        return "jwt"
    if stripped[:1] in (b"{", b"["):
        return "credential"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) > 1 and b"\0" in head[:4]):
        return "credential"  # JSON in UTF-16/32: strict_json reads it
    named = f" ({filename[:80]})" if filename else ""
    raise Unreadable(f"This file{named} is not a PDF, an Open Badges credential (JSON) or a VC-JWT.")


def baked_credential(png: bytes) -> bytes:
    """The credential an Open Badges 3.0 baked badge carries (its `openbadgecredential` iTXt chunk)."""
    if len(png) > MAX_UPLOAD:
        raise Unreadable(f"The file is too large to check (at most {MAX_UPLOAD // MiB} MB).", 413)
    try:
        text = baking.read_baked(png, "openbadgecredential")
        hosted = None if text else baking.read_baked(png, "openbadges")
    except CredentialError as exc:
        raise Unreadable(f"This image cannot be read: {exc}") from exc
    if text:
        return text.encode("utf-8")
    if hosted:
        raise Unreadable("This is an Open Badges 2 badge: it carries a link, not a signed credential. "
                         "Open the link it names, or check its certificate's PDF or credential instead.")
    raise Unreadable("This image carries no Open Badges credential.")


def _text(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-32", "replace")
    return text.strip()


# --------------------------------------------------------------------------------------------
# PDFs
# --------------------------------------------------------------------------------------------


def verify_pdf(data: bytes) -> Verdict:
    if len(data) > MAX_PDF:
        raise Unreadable(f"The PDF is too large to check (at most {MAX_PDF // MiB} MB).", 413)
    trusted = pdf_signing.trusted_certificates()
    try:
        inspection = pades.inspect_pdf(data, trusted)
    except CredentialError as exc:
        raise Unreadable(str(exc)) from exc
    carried = _attached_credential(inspection.attachments)
    if not inspection.signed:
        return _unsigned_pdf(carried)
    signature = _pdf_signature(inspection)
    if not inspection.intact:
        problems = inspection.problems or ("The signature does not cover the file as it is now.",)
        return _verdict("altered", "pdf", signature, Content(False, tuple(problems)), _claims_only(carried),
                        summary="The PDF was changed after it was signed: do not trust what it shows.")
    if not inspection.ours:
        return _verdict("not_ours", "pdf", signature, Content(True), _claims_only(carried),
                        summary=f"The PDF is signed by “{signature.signer}”, which is not one of "
                                f"{_org()}’s signing certificates.")
    if carried is None:
        return _verdict("unknown", "pdf", signature, Content(True), None,
                        headline="Genuine PDF, certificate not identified",
                        summary=f"{_org()} signed this PDF and it is unaltered, but it carries no credential "
                                "that says which certificate it is: open the link or QR code printed on it "
                                "for its current status.")
    # The PDF is ours and intact: the credential inside says which certificate it is and what it states.
    return replace(carried, kind="pdf", signature=signature,
                   reasons=(f"The PDF is signed by {_org()} and unaltered.", *carried.reasons))


def _pdf_signature(inspection: pades.PdfInspection) -> Signature:
    moment = inspection.timestamp or inspection.signing_time
    state = _identity_state(inspection.signer_fingerprint) if inspection.ours else None
    which = "its current" if state == "current" else "an earlier"
    detail = (f"Signed by {inspection.signer_name or inspection.signer_subject}, "
              + (f"with {which} PDF signing certificate" if inspection.ours
                 else f"a certificate that is not one of {_org()}'s"))
    return Signature(present=True, valid=inspection.signature_valid, ours=inspection.ours,
                     signer=inspection.signer_subject, key_id=inspection.signer_fingerprint, key_state=state,
                     signed_at=moment.isoformat() if moment else None, detail=detail + ".")


def _claims_only(carried: Verdict | None) -> Carried | None:
    """What a PDF we do not vouch for claims: its credential's statements, nothing from our records."""
    if carried is None or carried.credential is None:
        return None
    return replace(carried.credential, serial=None)


def _identity_state(fingerprint: str | None) -> str | None:
    """"current" when the PDF was signed with today's signing certificate, "replaced" with an earlier one."""
    current = pdf_signing.current_or_none()
    if current is not None and current.fingerprint == fingerprint:
        return "current"
    return "replaced" if any(row.fingerprint == fingerprint for row in pdf_signing.replaced()) else None


def _unsigned_pdf(carried: Verdict | None) -> Verdict:
    signature = Signature(present=False, detail="The PDF carries no digital signature.")
    return _verdict("unsigned", "pdf", signature, Content(None), _claims_only(carried),
                    summary="Anyone could have made this PDF: it has no digital signature. Look the "
                            "certificate up by its serial number, or check the credential file instead.")


def _attached_credential(attachments: dict[str, bytes]) -> Verdict | None:
    """The verdict on the credential a PDF carries (credential.json, or any *.json / *.jwt attached)."""
    ordered = sorted(attachments.items(), key=lambda item: item[0] != CREDENTIAL_ATTACHMENT)
    for name, content in ordered:
        lowered = name.lower()
        if not lowered.endswith((".json", ".jwt", ".jsonld")) or len(content) > MAX_TEXT:
            continue
        try:
            text = _text(content)
            return verify_jwt_text(text) if lowered.endswith(".jwt") else verify_credential_text(text)
        except Unreadable:
            continue
    return None


# --------------------------------------------------------------------------------------------
# Credentials: JSON-LD with a Data Integrity proof
# --------------------------------------------------------------------------------------------


def verify_credential_text(text: str) -> Verdict:
    try:
        document = strict_loads(text)
    except JSONInputError as exc:
        raise Unreadable(f"This is not JSON we can read: {exc}") from exc
    _require_credential(document)
    claimed = _carried(document)
    issuer_id = _issuer_id(document)
    if "proof" not in document:
        return _verdict("unsigned", "credential", Signature(present=False, issuer_id=issuer_id,
                                                            detail="The credential carries no proof."),
                        Content(None), claimed,
                        summary="Anyone could have written this credential: it has no proof (signature).")
    if issuer_id != keyring.issuer_did():
        return _not_ours("credential", claimed, issuer_id)
    try:
        _check_graph(document)
    except CredentialError as exc:
        raise Unreadable(f"This credential cannot be checked: {exc}.") from exc
    proof = document["proof"] if isinstance(document["proof"], dict) else {}
    method = proof.get("verificationMethod") if isinstance(proof.get("verificationMethod"), str) else None
    public_key = _our_key(method)
    if public_key is None:
        return _forged("credential", claimed, issuer_id, method)
    try:
        data_integrity.verify_proof(document, lambda _method: public_key)
    except CredentialError as exc:
        return _altered("credential", claimed, issuer_id, method, str(exc), document)
    signed_at = proof.get("created") if isinstance(proof.get("created"), str) else None
    return _genuine("credential", claimed, issuer_id, method, signed_at, document)


def _require_credential(document: object) -> None:
    if not isinstance(document, dict):
        raise Unreadable("This JSON is not a credential (expected an object).")
    types = document.get("type")
    types = [types] if isinstance(types, str) else types
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise Unreadable("This JSON is not a Verifiable Credential (its type does not say so).")


def _check_graph(document: dict) -> None:
    """Refuse what canonicalization could choke on, before it runs: unknown contexts (never fetched),
    JSON-LD keywords beyond the top-level @context, too many values or blank nodes."""
    contexts = document.get("@context")
    contexts = [contexts] if isinstance(contexts, str) else contexts
    known = isinstance(contexts, list) and all(isinstance(c, str) and c in KNOWN_CONTEXTS for c in contexts)
    if not known:
        raise CredentialError("the credential uses JSON-LD contexts we do not know")
    blank = 0
    for values, (path, value) in enumerate(_walk(document), start=1):
        if values > MAX_VALUES:
            raise CredentialError(f"the credential is too large to check (more than {MAX_VALUES} values)")
        if isinstance(value, dict):
            keywords = [k for k in value if k.startswith("@") and not (k == "@context" and not path)]
            if keywords:
                raise CredentialError(f"the credential uses JSON-LD keywords we do not check "
                                      f"({keywords[0][:40]})")
            if "id" not in value:
                blank += 1
                if blank > MAX_BLANK_NODES:
                    raise CredentialError("the credential has too many unnamed nodes to check")


def _walk(document: Any) -> Iterator[tuple[tuple, Any]]:
    """Every value with its path, without recursion (strict_json already bounds the depth)."""
    pending: list[tuple[tuple, Any]] = [((), document)]
    while pending:
        path, value = pending.pop()
        yield path, value
        if isinstance(value, dict):
            pending.extend((path + (key,), item) for key, item in value.items())
        elif isinstance(value, list):
            pending.extend((path + (index,), item) for index, item in enumerate(value))


# --------------------------------------------------------------------------------------------
# Credentials as VC-JWT
# --------------------------------------------------------------------------------------------


def verify_jwt_text(text: str) -> Verdict:
    token = text.strip()
    header, claims = _unverified(token)
    claimed = _carried(claims)
    issuer_id = _issuer_id(claims)
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    if issuer_id != keyring.issuer_did() and not (kid or "").startswith(keyring.issuer_did() + "#"):
        return _not_ours("jwt", claimed, issuer_id)
    public_key = _our_key(kid)
    if public_key is None:
        return _forged("jwt", claimed, issuer_id, kid)
    try:
        payload, kid = vc_jwt.verify_jwt(token, lambda _kid: public_key)
    except CredentialError as exc:
        return _altered("jwt", claimed, issuer_id, kid, str(exc), claims)
    if _issuer_id(payload) != keyring.issuer_did():  # our key, another issuer's name: never signed by us so
        return _altered("jwt", claimed, issuer_id, kid, "the issuer is not the key's owner", payload)
    return _genuine("jwt", _carried(payload), issuer_id, kid, None, payload)


def _unverified(token: str) -> tuple[dict, dict]:
    """The header and the claims, read before any check (to tell whose it claims to be)."""
    if len(token) > MAX_TEXT or not _JWS.fullmatch(token):
        raise Unreadable("This is not a compact JWT (three base64url parts separated by dots).")
    try:
        compact = jws.extract_compact(token.encode("ascii"))
        claims = strict_loads(compact.payload)
    except (JoseError, ValueError, UnicodeError) as exc:  # JSONInputError is a ValueError
        raise Unreadable("This JWT cannot be read: its header or payload is not valid JSON.") from exc
    if not isinstance(compact.protected, dict) or not isinstance(claims, dict):
        raise Unreadable("This JWT does not carry a credential.")
    if "vc" in claims and isinstance(claims["vc"], dict) and "credentialSubject" not in claims:
        claims = claims["vc"]  # the older VC-JWT profile: the credential under "vc"
    _require_credential(claims)
    return compact.protected, claims


# --------------------------------------------------------------------------------------------
# Shared steps
# --------------------------------------------------------------------------------------------


def _our_key(method: str | None) -> Ed25519PublicKey | None:
    return keyring.resolve(method) if method else None


def _key_state(method: str | None) -> str | None:
    fragment = (method or "").partition("#")[2]
    for key in keyring.published_keys():
        if key.multikey == fragment:
            return "current" if key.active else "rotated"
    return None


def _issuer_id(document: dict) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer[:300] if isinstance(issuer, str) else None


def _issuer_name(document: dict) -> str | None:
    issuer = document.get("issuer")
    name = issuer.get("name") if isinstance(issuer, dict) else None
    return _short(name)


def _short(value: object, limit: int = 300) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _carried(document: dict) -> Carried:
    """What the credential states: id, certification (the achievement), holder, dates, issuer."""
    subject = document.get("credentialSubject")
    subject = subject if isinstance(subject, dict) else {}
    achievement = subject.get("achievement") if isinstance(subject.get("achievement"), dict) else {}
    holder = _short(subject.get("name"))
    identifiers = subject.get("identifier")
    for identity in identifiers if isinstance(identifiers, list) else []:
        named = isinstance(identity, dict) and identity.get("identityType") == "name"
        if named and not identity.get("hashed"):
            holder = _short(identity.get("identityHash"))
    credential_id = _short(document.get("id"), 500)
    return Carried(id=credential_id, code=_code_of(credential_id),
                   certification=_short(achievement.get("name")) or _short(document.get("name")),
                   holder=holder, issuer=_issuer_name(document),
                   issued=_short(document.get("validFrom"), 40) or _short(document.get("issuanceDate"), 40),
                   expires=(_short(document.get("validUntil"), 40)
                            or _short(document.get("expirationDate"), 40)))


def _code_of(credential_id: str | None) -> str | None:
    """The verification code in one of our credential ids (`<BASE_URL>/credentials/<code>`), else None."""
    prefix = open_badges.credential_url("")
    if not credential_id or not credential_id.startswith(prefix):
        return None
    code = credential_id[len(prefix):]
    return code if _CODE.fullmatch(code) else None


def _org() -> str:
    return organisation.branding().name


def _not_ours(kind: str, claimed: Carried, issuer_id: str | None) -> Verdict:
    who = claimed.issuer or issuer_id or "someone else"
    signature = Signature(present=True, issuer_id=issuer_id, signer=claimed.issuer,
                          detail=f"It names {who} as its issuer, not {_org()}.")
    return _verdict("not_ours", kind, signature, Content(None), claimed,
                    summary=f"This credential says it was issued by {who}. {_org()} can only vouch for "
                            "credentials it issued: check it with its issuer.")


def _forged(kind: str, claimed: Carried, issuer_id: str | None, method: str | None) -> Verdict:
    signature = Signature(present=True, issuer_id=issuer_id, signer=claimed.issuer,
                          key_id=_short(method, 200),
                          detail=f"It was signed with a key {_org()} never published.")
    problem = "The signature was not made with any of our keys, current or past."
    return _verdict("forged", kind, signature, Content(False, (problem,)), claimed,
                    summary=f"This credential names {_org()} as its issuer, but {_org()} did not sign it.")


def _altered(kind: str, claimed: Carried, issuer_id: str | None, method: str | None, reason: str,
             document: dict) -> Verdict:
    problems = [_sentence(reason)]
    problems += differences(document, claimed.code) if reason == CHANGED else []
    signature = Signature(present=True, ours=True, issuer_id=issuer_id, signer=claimed.issuer,
                          key_id=_short(method, 200), key_state=_key_state(method),
                          detail=f"The signature names a key of {_org()}, but does not match the content.")
    return _verdict("altered", kind, signature, Content(False, tuple(problems)), claimed,
                    summary="This credential was changed after it was signed: do not trust what it says.")


def _genuine(kind: str, claimed: Carried, issuer_id: str | None, method: str | None, signed_at: str | None,
             document: dict) -> Verdict:
    state = _key_state(method)
    key_words = "its current signing key" if state == "current" else "an earlier key (still published)"
    signature = Signature(present=True, valid=True, ours=True, issuer_id=issuer_id,
                          signer=claimed.issuer or _org(), key_id=method, key_state=state,
                          signed_at=signed_at,
                          detail=f"Signed by {_org()} with {key_words}.")
    status, record = live_status(claimed.code, document)
    if record is None:
        return _verdict("unknown", kind, signature, Content(True), claimed, status=status,
                        summary=f"{_org()} signed this credential and it is unaltered, but no certificate "
                                "in our records matches it (it may have been deleted).")
    carried = replace(claimed, serial=record["serial"])
    outcome = status.state
    return _verdict(outcome, kind, signature, Content(True), carried, status=status, verify_code=claimed.code,
                    summary=status.detail)


def live_status(code: str | None, document: dict | None = None) -> tuple[LiveStatus, dict | None]:
    """Our record's status for a verification code (and the status list bit, when the credential has one)."""
    answer = verification.verify(code) if code else None
    data = answer.data if answer is not None else None
    if data is None:
        return LiveStatus("unknown", "No certificate in our records has this credential's code."), None
    state = data["status"]
    bit = status_list_bit(document) if document else None
    until = f" until {day(data['expires_at'])}." if data["expires_at"] else ", with no expiry."
    texts = {
        "valid": "Valid" + until,
        "expiring": f"Valid, but it expires on {day(data['expires_at'])}.",
        "expired": f"Expired on {day(data['expires_at'])}.",
        "revoked": f"Revoked on {day(data['revoked_at'])}."
                   + (f" Reason: {data['revoke_reason']}" if data["revoke_reason"] else ""),
    }
    return LiveStatus(state, texts[state], revoked_at=data["revoked_at"], reason=data["revoke_reason"],
                      status_list_revoked=bit), data


def status_list_bit(document: dict) -> bool | None:
    """The revocation bit of our status list for this credential, when it names one of our lists (else
    None): read from the rows the published list is built from, so it agrees with what wallets fetch."""
    return status_lists.revoked_in_our_list(document.get("credentialStatus"))


def differences(document: dict, code: str | None) -> list[str]:
    """What differs between an altered credential and the one we issued for that code (at most a few)."""
    cert = verification.lookup(code) if code else None
    if cert is None:
        return []
    ours = open_badges.credential_document(cert)
    found = []
    for path, label in _COMPARED:
        theirs, mine = _at(document, path), _at(ours, path)
        if theirs != mine:
            found.append(f"{label}: the file says {_quoted(theirs)}, our record says {_quoted(mine)}.")
        if len(found) >= MAX_DIFFERENCES:
            break
    return found


_COMPARED = (
    (("credentialSubject", "achievement", "name"), "Certification"),
    (("name",), "Credential name"),
    (("credentialSubject", "identifier", 1, "identityHash"), "Holder's name"),
    (("credentialSubject", "identifier", 0, "identityHash"), "Holder's email (hashed)"),
    (("validFrom",), "Issued"),
    (("validUntil",), "Expires"),
    (("issuer", "name"), "Issuer's name"),
    (("credentialSubject", "achievement", "criteria", "narrative"), "Criteria"),
    (("credentialSubject", "achievement", "description"), "Description"),
)


def _at(document: Any, path: tuple) -> Any:
    for step in path:
        if isinstance(step, int):
            document = document[step] if isinstance(document, list) and len(document) > step else None
        else:
            document = document.get(step) if isinstance(document, dict) else None
    return document


def _quoted(value: Any) -> str:
    if value is None:
        return "nothing"
    text = value if isinstance(value, str) else str(value)
    return "“" + (text if len(text) <= 80 else text[:79] + "…") + "”"


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def _verdict(outcome: str, kind: str, signature: Signature, content: Content, credential: Carried | None, *,
             summary: str, headline: str | None = None, status: LiveStatus | None = None,
             verify_code: str | None = None) -> Verdict:
    if status is None:
        status = LiveStatus("unknown", "Not looked up: we give the status of genuine files only.")
    reasons = tuple(r for r in (signature.detail, *content.problems) if r)
    return Verdict(outcome=outcome, headline=headline or HEADLINES[outcome], summary=summary, kind=kind,
                   signature=signature, content=content, status=status, credential=credential,
                   reasons=reasons, verify_code=verify_code)


