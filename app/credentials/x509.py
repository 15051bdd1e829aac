"""The organisation's X.509 signing identity for PDFs: a self-issued certificate, or an uploaded PKCS#12.

Pure (cryptography + asn1crypto): no database, no Flask. The service stores what these functions return
(PEM text, the key encrypted) and hands the identity back to `app.credentials.pades` to sign.

Self-issued certificates use ECDSA P-256: pyHanko, poppler's `pdfsig` (NSS) and Acrobat all validate it,
and a signature costs well under a millisecond. An uploaded PKCS#12 may hold RSA (2048 bits or more) or
EC (P-256/384/521) keys, the ones PDF readers accept.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from app.credentials.errors import CredentialError

#: An uploaded PKCS#12 is a few kilobytes (a key and a short chain); more is not a key file.
MAX_PKCS12_BYTES = 64 * 1024
MAX_PASSWORD_CHARS = 1024
MAX_CHAIN = 10
#: Password-based key derivation rounds we accept: OpenSSL 3 writes 2,048, Windows 2,000, some tools
#: 600,000. A file asking for billions would tie up a worker for hours before failing.
MAX_KDF_ITERATIONS = 2_000_000
SELF_ISSUED_DAYS = 3 * 365 + 1
SELF_ISSUED_NOTE = "PDF signing (self-issued by Laurel)"
_CN_LIMIT = 64  # RFC 5280 ub-common-name
_SUFFIX = " (self-issued)"

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)


@dataclass(frozen=True)
class SigningIdentity:
    """A certificate, its private key and the rest of its chain (leaf first, without the leaf)."""

    certificate: x509.Certificate
    private_key: SigningKey
    chain: list[x509.Certificate] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def common_name(self) -> str:
        return common_name(self.certificate)

    @property
    def issuer(self) -> str:
        return self.certificate.issuer.rfc4514_string()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.certificate)

    @property
    def not_before(self) -> dt.datetime:
        return self.certificate.not_valid_before_utc

    @property
    def not_after(self) -> dt.datetime:
        return self.certificate.not_valid_after_utc

    @property
    def self_issued(self) -> bool:
        return self.certificate.subject == self.certificate.issuer


def fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, as colon-separated upper-case hex (what viewers show)."""
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def common_name(certificate: x509.Certificate) -> str:
    """The subject's CN (what PDF readers show as "signed by"), else the whole subject."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else certificate.subject.rfc4514_string()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------------------------
# Self-issued
# --------------------------------------------------------------------------------------------


def self_issued_name(org_name: str) -> x509.Name:
    """``CN=<Org> (self-issued), OU=PDF signing (self-issued by Laurel), O=<Org>`` within the X.509 limits."""
    org = " ".join(org_name.split()) or "Laurel"
    common = org[: _CN_LIMIT - len(_SUFFIX)].rstrip() + _SUFFIX
    return x509.Name([  # most general first, as X.509 names go (printed the other way round)
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org[:_CN_LIMIT].rstrip()),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, SELF_ISSUED_NOTE),
        x509.NameAttribute(NameOID.COMMON_NAME, common),
    ])


def make_self_issued(org_name: str, *, now: dt.datetime | None = None,
                     days: int = SELF_ISSUED_DAYS) -> SigningIdentity:
    """A new ECDSA P-256 key and a self-signed certificate for signing documents (not a CA)."""
    now = now or _utcnow()
    key = ec.generate_private_key(ec.SECP256R1())
    name = self_issued_name(org_name)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(secrets.randbits(127) | 1)
        .not_valid_before(now - dt.timedelta(minutes=5))  # a verifier's clock a little behind ours
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return SigningIdentity(certificate, key)


# --------------------------------------------------------------------------------------------
# PEM round trip (what the service stores)
# --------------------------------------------------------------------------------------------


def certificate_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def chain_pem(chain: list[x509.Certificate]) -> str:
    return "".join(certificate_pem(c) for c in chain)


def private_key_pem(key: SigningKey) -> str:
    """PKCS#8 PEM, unencrypted: the caller encrypts it at rest (the app's SecretBox)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def load_certificates(pem: str) -> list[x509.Certificate]:
    if not pem or not pem.strip():
        return []
    try:
        return x509.load_pem_x509_certificates(pem.encode("ascii"))
    except (ValueError, UnicodeError) as exc:
        raise CredentialError("stored certificate is not valid PEM") from exc


def identity_from_pem(key_pem: str, cert_pem: str, chain: str = "") -> SigningIdentity:
    """The identity as the service stored it (PKCS#8 key, leaf certificate, the rest of the chain)."""
    try:
        key = serialization.load_pem_private_key(key_pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeError) as exc:
        raise CredentialError("stored private key is not valid PEM") from exc
    certificates = load_certificates(cert_pem)
    if len(certificates) != 1:
        raise CredentialError("stored certificate is not one PEM certificate")
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CredentialError("stored private key is of an unsupported type")
    return SigningIdentity(certificates[0], key, load_certificates(chain))


# --------------------------------------------------------------------------------------------
# Uploaded PKCS#12
# --------------------------------------------------------------------------------------------


def load_pkcs12(data: bytes, password: str, *, now: dt.datetime | None = None) -> SigningIdentity:
    """Open an uploaded PKCS#12 (.p12/.pfx) and check it can sign PDFs now.

    Refuses, with a message for the admin: oversize or garbage, a wrong password, no private key or no
    certificate, a key that does not belong to the certificate, an unsupported or weak key, a
    certificate whose key usage forbids signing, and one that is expired or not yet valid.
    """
    if not data:
        raise CredentialError("Choose a PKCS#12 file (.p12 or .pfx).")
    if len(data) > MAX_PKCS12_BYTES:
        raise CredentialError(f"This file is too large for a PKCS#12 key file (at most "
                              f"{MAX_PKCS12_BYTES // 1024} KB).")
    if len(password) > MAX_PASSWORD_CHARS:
        raise CredentialError("The password is too long.")
    _check_work_factor(data)
    key, certificate, extra = _open(data, password)
    if key is None:
        raise CredentialError("This PKCS#12 file holds no private key: export it with its private key.")
    if certificate is None and extra:  # OpenSSL pairs the key with the certificate that matches it
        raise CredentialError("The private key in this file does not belong to any of its certificates.")
    if certificate is None:
        raise CredentialError("This PKCS#12 file holds no certificate.")
    _check_key(key, certificate)
    _check_usage(certificate)
    _check_dates(certificate, now or _utcnow())
    chain = [c for c in extra if c != certificate][:MAX_CHAIN]
    return SigningIdentity(certificate, key, chain)


def _open(data: bytes, password: str):  # type: ignore[no-untyped-def]
    # An empty password may mean "no password" or "the empty password": PKCS#12 tools write both.
    attempts = [password.encode("utf-8")] if password else [None, b""]
    wrong_password = False
    for secret in attempts:
        try:
            return pkcs12.load_key_and_certificates(data, secret)
        except ValueError as exc:
            wrong_password = wrong_password or "password" in str(exc).lower()
        except Exception as exc:  # noqa: BLE001 - OpenSSL has many ways to say "not a PKCS#12"
            raise CredentialError("This file is not a readable PKCS#12 (.p12/.pfx) file.") from exc
    if wrong_password:
        raise CredentialError("Wrong password for this PKCS#12 file.")
    raise CredentialError("This file is not a readable PKCS#12 (.p12/.pfx) file, or the password is wrong.")


def _check_work_factor(data: bytes) -> None:
    """Refuse a file whose MAC or key encryption asks for absurd key-derivation work (before OpenSSL
    spends it)."""
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        mac = pfx["mac_data"]
        counts = [mac["iterations"].native] if mac.native is not None else []
        if pfx["auth_safe"]["content_type"].native == "data":
            for info in pfx.authenticated_safe:
                counts.extend(_iterations(info))
    except CredentialError:
        raise
    except Exception as exc:  # noqa: BLE001 - asn1crypto raises ValueError, TypeError, KeyError ...
        raise CredentialError("This file is not a readable PKCS#12 (.p12/.pfx) file.") from exc
    if any(isinstance(n, int) and n > MAX_KDF_ITERATIONS for n in counts):
        raise CredentialError("This PKCS#12 file asks for an unreasonable amount of key-derivation work; "
                              "export it again with standard settings.")


def _iterations(info) -> list[int]:  # type: ignore[no-untyped-def]
    """The KDF rounds of one ContentInfo of the authenticated safe: an encrypted one, or the shrouded
    key bags of a plain one."""
    kind = info["content_type"].native
    if kind == "encrypted_data":
        return [info["content"]["encrypted_content_info"]["content_encryption_algorithm"].kdf_iterations]
    if kind != "data":
        return []
    bags = asn1_pkcs12.SafeContents.load(info["content"].native)
    return [bag["bag_value"]["encryption_algorithm"].kdf_iterations
            for bag in bags if bag["bag_id"].native == "pkcs8_shrouded_key_bag"]


def _check_key(key: object, certificate: x509.Certificate) -> None:
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise CredentialError("This RSA key is too short to sign with (at least 2048 bits).")
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, _CURVES):
            raise CredentialError("This elliptic-curve key uses a curve PDF readers do not accept "
                                  "(P-256, P-384 or P-521).")
    else:
        raise CredentialError("This key type cannot sign PDFs here (RSA or ECDSA keys only).")
    own = key.public_key().public_bytes(serialization.Encoding.DER,  # type: ignore[attr-defined]
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    stated = certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    if own != stated:
        raise CredentialError("The private key in this file does not belong to its certificate.")


def _check_usage(certificate: x509.Certificate) -> None:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    except ValueError as exc:
        raise CredentialError("This certificate's extensions cannot be read.") from exc
    if not (usage.digital_signature or usage.content_commitment):
        raise CredentialError("This certificate may not be used for signatures (its key usage forbids it).")


def _check_dates(certificate: x509.Certificate, now: dt.datetime) -> None:
    if certificate.not_valid_after_utc <= now:
        raise CredentialError(f"This certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}.")
    if certificate.not_valid_before_utc > now:
        raise CredentialError(f"This certificate is not valid before "
                              f"{certificate.not_valid_before_utc:%Y-%m-%d}.")
