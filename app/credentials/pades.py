"""PAdES signatures on certificate PDFs (pyHanko): sign, embed the credential, inspect what someone sent.

Pure: bytes in, bytes or a `PdfInspection` out; no database, no Flask. The service decides which identity
signs and which files ride along.

- `sign_pdf` adds one incremental update holding the attachments (PDF/A-3 style associated files:
  EmbeddedFiles + the catalog's /AF, AFRelationship /Data) and a CMS signature with SubFilter
  ETSI.CAdES.detached over the whole file, so the signature covers the attachments too. PAdES B-B, or
  B-T when a timestamper is given (its RFC 3161 token sits in the signature's unsigned attributes).
- `inspect_pdf` reads an untrusted PDF within fixed bounds (size, decoded bytes, revisions, signatures,
  attachments) and answers what a verifier wants to know; every failure is a `CredentialError`.
- `EgressTimeStamper` asks a TSA through `app.connectors.http` (the outgoing-address policy), where
  pyHanko's own HTTP clients would connect anywhere.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pyhanko.keys.internal import translate_pyca_cryptography_key_to_asn1
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import DecodeLimits, DocumentDecodeBudget, StreamDecodeLimits
from pyhanko.pdf_utils.embed import EmbeddedFileObject, EmbeddedFileParams, FileSpec, embed_file
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError, set_tsp_headers
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from app.connectors import http
from app.credentials import x509 as identities
from app.credentials.errors import CredentialError
from app.credentials.x509 import SigningIdentity

MiB = 1024 * 1024
#: What we sign: a certificate PDF is a few hundred kilobytes.
MAX_SIGN_BYTES = 50 * MiB
#: What a verifier may upload for inspection.
MAX_INSPECT_BYTES = 20 * MiB
MAX_REVISIONS = 32
MAX_SIGNATURES = 8
MAX_ATTACHMENTS = 16
MAX_ATTACHMENT_BYTES = 2 * MiB
MAX_NAME_TREE_NODES = 64
FIELD_NAME = "Laurel"
TSA_TIMEOUT = 10.0  # seconds; the render job's budget is RENDER_TIME_LIMIT plus a margin
MAX_TSA_REPLY_BYTES = 256 * 1024
TSA_REPLY_TYPE = "application/timestamp-reply"

#: Untrusted input: tighter than pyHanko's defaults (a certificate PDF never needs more).
_LIMITS = DecodeLimits(per_stream=StreamDecodeLimits(max_output_size=64 * MiB),
                       document_budget=DocumentDecodeBudget(base_allowance=128 * MiB, max_ratio=20))

Attachment = tuple[str, bytes, str]  # (file name, bytes, MIME type)
T = TypeVar("T")


class _UntrustedSignerIsAnAnswer(logging.Filter):
    """pyHanko logs a warning with a traceback whenever it cannot chain a signer to a trusted root. Here
    that is an answer ("not signed by us"), given for every foreign PDF someone checks: not a fault."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Failed to build path for")


logging.getLogger("pyhanko.sign.validation.generic_cms").addFilter(_UntrustedSignerIsAnAnswer())


# --------------------------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------------------------


def sign_pdf(pdf: bytes, identity: SigningIdentity, *, attachments: Sequence[Attachment] = (),
             timestamper: TimeStamper | None = None, reason: str | None = None) -> bytes:
    """The PDF with ``attachments`` embedded and a PAdES signature over everything (B-B, or B-T with
    ``timestamper``). Raises CredentialError for a PDF that cannot be signed (too large, encrypted,
    unreadable) and for a failed timestamp request."""
    if len(pdf) > MAX_SIGN_BYTES:
        raise CredentialError(f"PDF too large to sign (at most {MAX_SIGN_BYTES // MiB} MB)")
    key = _reserve_key(identity, timestamper)
    reserved = _reserved.get(key)
    try:
        out = _sign_once(pdf, identity, attachments, timestamper, reason, reserved)
    except CredentialError:
        if reserved is None:
            raise
        # The space kept from an earlier signature was too small (a timestamp server's answer grew):
        # measure again.
        _reserved.pop(key, None)
        reserved = None
        out = _sign_once(pdf, identity, attachments, timestamper, reason, None)
    size = _contents_size(out) if reserved is None else None
    if size:
        _reserved[key] = size
    return out


#: The room for the signature (hex characters of /Contents) per identity and timestamp server, measured
#: by pyHanko's estimate on the first signature: the estimate makes a whole dummy CMS signature, which
#: cost as much as the real one (~20% of a certificate's render job). pyHanko's own 50% margin stays in.
_reserved: dict[tuple[bytes, str], int] = {}


def _reserve_key(identity: SigningIdentity, timestamper: TimeStamper | None) -> tuple[bytes, str]:
    chain = b"".join(c.fingerprint(hashes.SHA256()) for c in (identity.certificate, *identity.chain))
    return chain, "" if timestamper is None else str(getattr(timestamper, "url", type(timestamper).__name__))


def _contents_size(signed: bytes) -> int | None:
    try:
        reader = PdfFileReader(io.BytesIO(signed), strict=False)
        contents = reader.embedded_signatures[-1].sig_object["/Contents"]
    except Exception:  # noqa: BLE001 - only an optimisation: estimate again next time
        return None
    return 2 * len(bytes(contents))


def _sign_once(pdf: bytes, identity: SigningIdentity, attachments: Sequence[Attachment],
               timestamper: TimeStamper | None, reason: str | None, reserved: int | None) -> bytes:
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except Exception as exc:  # noqa: BLE001 - pyHanko's parse errors are many (PdfReadError, ValueError ...)
        raise CredentialError(f"the PDF cannot be read for signing: {exc}") from exc
    if writer.prev.encrypted:
        raise CredentialError("an encrypted PDF cannot be signed")
    try:
        for name, data, mime in attachments:
            _embed(writer, name, data, mime)
        metadata = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason, name=identity.common_name)
        signer = signers.PdfSigner(metadata, _signer(identity), timestamper=timestamper)
        out = _sync(signer.sign_pdf, writer, bytes_reserved=reserved)
    except CredentialError:
        raise
    except TimestampRequestError as exc:
        raise CredentialError(f"the timestamp server did not give a timestamp: {exc}") from exc
    except OSError as exc:
        raise CredentialError(f"the timestamp server could not be reached: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - pyHanko's SigningError, PdfWriteError ... (e.g. a timestamp
        # token larger than the sample it sized the signature with)
        raise CredentialError(f"the PDF could not be signed: {type(exc).__name__}: {exc}") from exc
    return out.getvalue()


def _sync(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Call one of pyHanko's synchronous functions (each runs ``asyncio.run``): in a helper thread when
    this thread already runs an event loop, where ``asyncio.run`` refuses (e.g. under Playwright's sync
    API, or an async server)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyhanko") as pool:
        return pool.submit(function, *args, **kwargs).result()


def probe_timestamper(timestamper: TimeStamper) -> None:
    """Ask the TSA for one sample timestamp (pyHanko keeps it to size signatures). Raises CredentialError
    when the server does not answer as an RFC 3161 timestamp server."""
    try:
        _sync(asyncio.run, timestamper.async_dummy_response("sha256"))
    except Exception as exc:  # noqa: BLE001 - TimestampRequestError (an OSError), ValueError ...
        raise CredentialError(str(exc) or type(exc).__name__) from exc


def _signer(identity: SigningIdentity) -> signers.SimpleSigner:
    leaf = _asn1(identity.certificate)
    chain = [_asn1(c) for c in identity.chain]
    return signers.SimpleSigner(
        signing_cert=leaf, signing_key=translate_pyca_cryptography_key_to_asn1(identity.private_key),
        cert_registry=SimpleCertificateStore.from_certs([leaf, *chain]))


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _embed(writer: IncrementalPdfFileWriter, name: str, data: bytes, mime: str) -> None:
    """One associated file (PDF/A-3 style): in the EmbeddedFiles name tree and the catalog's /AF."""
    stream = EmbeddedFileObject.from_file_data(
        writer, data, mime_type=mime, params=EmbeddedFileParams(embed_checksum=True))
    try:
        embed_file(writer, FileSpec(file_spec_string=_pdfdoc_safe(name), file_name=name, embedded_data=stream,
                                    description=name, af_relationship=generic.pdf_name("/Data")))
    except NotImplementedError as exc:  # a nested EmbeddedFiles tree we cannot extend
        raise CredentialError(f"cannot attach {name!r} to this PDF: {exc}") from exc


def _pdfdoc_safe(name: str) -> str:
    # /F must be PDFDocEncoding-compatible; the exact (Unicode) name goes in /UF.
    return "".join(ch if 32 <= ord(ch) < 127 else "_" for ch in name) or "attachment"


# --------------------------------------------------------------------------------------------
# Timestamps through our egress policy
# --------------------------------------------------------------------------------------------


class EgressTimeStamper(TimeStamper):
    """An RFC 3161 client whose HTTP request goes through `app.connectors.http.safe_request`: public
    addresses only (unless ``allow_private``, tests and development), no redirects, a capped reply."""

    def __init__(self, url: str, *, allow_private: bool = False, timeout: float = TSA_TIMEOUT) -> None:
        super().__init__()
        self.url = url
        self.allow_private = allow_private
        self.timeout = timeout

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return await asyncio.to_thread(self._post, req)

    def _post(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        try:
            response = http.safe_request(
                "POST", self.url, allow_private=self.allow_private, timeout=self.timeout,
                max_body=MAX_TSA_REPLY_BYTES, data=req.dump(), headers=set_tsp_headers({}))
        except http.UnsafeURLError as exc:
            raise TimestampRequestError(f"refused by the outgoing-address policy: {exc}") from exc
        except http.requests.RequestException as exc:
            raise TimestampRequestError(f"could not reach the timestamp server: {exc}") from exc
        if response.status_code != 200:
            raise TimestampRequestError(f"the timestamp server answered HTTP {response.status_code}")
        if getattr(response, "truncated", False):
            raise TimestampRequestError("the timestamp server's answer is too large")
        if response.headers.get("Content-Type", "").split(";")[0].strip() != TSA_REPLY_TYPE:
            raise TimestampRequestError("the timestamp server's answer is not a timestamp reply")
        try:
            reply = tsp.TimeStampResp.load(response.content)
            reply.native  # noqa: B018 - parse it all now: asn1crypto parses lazily
        except Exception as exc:  # noqa: BLE001 - asn1crypto raises ValueError, TypeError ...
            raise TimestampRequestError("the timestamp server's answer is malformed") from exc
        return reply


# --------------------------------------------------------------------------------------------
# Inspecting
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PdfInspection:
    """What a PDF says about itself. ``intact``: the signature's digest and cryptography check out and
    it covers the whole file (nothing was appended or changed after signing)."""

    signed: bool
    intact: bool = False
    signature_valid: bool = False  # the cryptography alone (digest and signature value)
    covers_whole_file: bool = False
    signer_subject: str | None = None
    signer_name: str | None = None
    signer_fingerprint: str | None = None
    signer_certificate: x509.Certificate | None = None
    ours: bool = False  # signed by one of the certificates the caller trusts
    signing_time: dt.datetime | None = None  # as the signer claims it
    timestamp: dt.datetime | None = None  # from an RFC 3161 token, when present and intact
    timestamp_intact: bool | None = None
    signatures: int = 0
    attachments: dict[str, bytes] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def inspect_pdf(data: bytes, trusted: Iterable[x509.Certificate] = ()) -> PdfInspection:
    """Check an untrusted PDF's (last) signature. Raises CredentialError for anything that is not a
    readable PDF within the bounds: too large, encrypted, malformed."""
    if not data:
        raise CredentialError("The file is empty.")
    if len(data) > MAX_INSPECT_BYTES:
        raise CredentialError(f"The PDF is too large to check (at most {MAX_INSPECT_BYTES // MiB} MB).")
    if not data.lstrip()[:5] == b"%PDF-":
        raise CredentialError("This file is not a PDF.")
    try:
        return _inspect(data, list(trusted))
    except CredentialError:
        raise
    except Exception as exc:  # noqa: BLE001 - RecursionError, MemoryError, pyHanko's and asn1crypto's own ...
        raise CredentialError("This PDF could not be read: it is damaged or uses features we cannot "
                              "check.") from exc


def _inspect(data: bytes, trusted: list[x509.Certificate]) -> PdfInspection:
    reader = PdfFileReader(io.BytesIO(data), strict=False, decode_limits=_LIMITS)
    if reader.encrypted:
        raise CredentialError("This PDF is encrypted; an encrypted PDF cannot be checked.")
    if reader.xrefs.total_revisions > MAX_REVISIONS:
        raise CredentialError(f"This PDF has more than {MAX_REVISIONS} revisions; it cannot be checked.")
    try:
        attachments = _attachments(reader)
    except Exception:  # noqa: BLE001 - a damaged file list must not hide what the signature says
        attachments = {}
    try:
        signatures = reader.embedded_regular_signatures
    except Exception:  # noqa: BLE001 - a signature field whose value cannot be parsed
        return _damaged(0, attachments)
    if not signatures:
        return PdfInspection(signed=False, attachments=attachments)
    if len(signatures) > MAX_SIGNATURES:
        raise CredentialError(f"This PDF has more than {MAX_SIGNATURES} signatures; it cannot be checked.")
    last = max(signatures, key=lambda s: s.signed_revision)
    try:
        return _judge(last, len(signatures), trusted, attachments)
    except Exception:  # noqa: BLE001 - a mangled signature value or byte range: an answer, not a crash
        return _damaged(len(signatures), attachments)


def _damaged(count: int, attachments: dict[str, bytes]) -> PdfInspection:
    return PdfInspection(signed=True, signatures=count, attachments=attachments,
                         problems=("The signature in this PDF is damaged: the file was altered or broken "
                                   "after signing.",))


def _judge(signature, count: int, trusted: list[x509.Certificate],  # type: ignore[no-untyped-def]
           attachments: dict[str, bytes]) -> PdfInspection:
    anchors = [_asn1(c) for c in trusted]
    context = ValidationContext(trust_roots=anchors, allow_fetching=False)
    status = _sync(validate_pdf_signature, signature, signer_validation_context=context,
                                    ts_validation_context=ValidationContext(trust_roots=[],
                                                                            allow_fetching=False),
                                    skip_diff=True)
    signer = x509.load_der_x509_certificate(status.signing_cert.dump())
    # ENTIRE_FILE: the byte range starts at 0, skips only /Contents and ends at the end of the file.
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    valid = bool(status.intact and status.valid)
    stamp = status.timestamp_validity
    problems = []
    if not valid:
        problems.append("The signature does not match the document: the file was altered after signing.")
    if valid and not whole:
        problems.append("Content was added or changed after the document was signed.")
    if stamp is not None and not (stamp.intact and stamp.valid):
        problems.append("The timestamp does not match the signature.")
    ours = any(signer == c for c in trusted)
    return PdfInspection(
        signed=True, intact=valid and bool(whole), signature_valid=valid, covers_whole_file=bool(whole),
        signer_subject=signer.subject.rfc4514_string(), signer_name=identities.common_name(signer),
        signer_fingerprint=identities.fingerprint(signer), signer_certificate=signer, ours=ours,
        signing_time=status.signer_reported_dt,
        timestamp=stamp.timestamp if stamp is not None and stamp.intact and stamp.valid else None,
        timestamp_intact=None if stamp is None else bool(stamp.intact and stamp.valid),
        signatures=count, attachments=attachments, problems=tuple(problems))


def _get(container: object, key: str) -> object:
    """``container[key]`` dereferenced, or None (pyHanko's ``get`` leaves indirect references)."""
    if not isinstance(container, generic.DictionaryObject) or key not in container:
        return None
    return container[key]


def _attachments(reader: PdfFileReader) -> dict[str, bytes]:
    """The embedded files by name (the first MAX_ATTACHMENTS, each at most MAX_ATTACHMENT_BYTES)."""
    tree = _get(_get(reader.root, "/Names"), "/EmbeddedFiles")
    found: dict[str, bytes] = {}
    pending, visited = [tree], 0
    while pending and len(found) < MAX_ATTACHMENTS and visited < MAX_NAME_TREE_NODES:
        node = pending.pop()
        visited += 1
        kids = _get(node, "/Kids")
        if isinstance(kids, generic.ArrayObject):  # (pyHanko's arrays cannot be sliced)
            pending.extend(kids[i] for i in range(min(len(kids), MAX_NAME_TREE_NODES)))
        pairs = _get(node, "/Names")
        if not isinstance(pairs, generic.ArrayObject):
            continue
        for i in range(0, min(len(pairs), 2 * MAX_ATTACHMENTS) - 1, 2):
            item = _attachment(pairs[i + 1], pairs[i])
            if item is not None and len(found) < MAX_ATTACHMENTS:
                found.setdefault(*item)
    return found


def _attachment(spec: object, key: object) -> tuple[str, bytes] | None:
    streams = _get(spec, "/EF")
    stream = _get(streams, "/UF") or _get(streams, "/F")
    if not isinstance(stream, generic.StreamObject) or len(stream.encoded_data) > MAX_ATTACHMENT_BYTES:
        return None
    try:
        data = stream.data
    except Exception:  # noqa: BLE001 - a damaged stream (bad deflate data, over the decode limits): skip it
        return None
    if len(data) > MAX_ATTACHMENT_BYTES:
        return None
    name = _get(spec, "/UF") or _get(spec, "/F") or key
    return str(name), data
