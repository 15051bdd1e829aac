"""A real RFC 3161 timestamp authority on loopback, running as its own process.

    with TimestampAuthority() as tsa:
        signed = pades.sign_pdf(pdf, identity, timestamper=EgressTimeStamper(tsa.url, allow_private=True))
        assert tsa.requests() >= 1

The child process (`python -m tests.support.tsa`) makes its own TSA certificate (a test root and a
leaf with the critical timeStamping extended key usage), answers `POST /` with
`application/timestamp-reply` built by pyHanko's DummyTimeStamper (asn1crypto tsp: the real token
format, signed by the TSA key, the requested imprint and nonce echoed; RSA keys, the only kind it signs
with), and prints its port on the first line of stdout. `GET /count` answers how many timestamps it
issued; `GET /certificate` its certificate (DER). Nothing in the parent process is shared with it:
our client talks HTTP to it exactly as to a TSA on the internet.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.peer_process import PeerProcess

MAX_REQUEST = 64 * 1024


class TimestampAuthority(PeerProcess):
    """Start the TSA child process; ``url`` is its address, ``certificate`` its DER certificate."""

    module = "tests.support.tsa"
    description = "the TSA process"

    def _get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:  # noqa: S310 - loopback
            return response.read()

    def requests(self) -> int:
        return int(self._get("count"))

    def certificate(self) -> bytes:
        return self._get("certificate")


# --------------------------------------------------------------------------------------------
# The child process
# --------------------------------------------------------------------------------------------


def _make_tsa():  # type: ignore[no-untyped-def]
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    now = dt.datetime.now(dt.UTC)
    root_key, tsa_key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA Root")])
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(root_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Timestamp Authority")]))
            .issuer_name(root_name).public_key(tsa_key.public_key()).serial_number(2)
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .sign(root_key, hashes.SHA256()))

    def der(certificate: x509.Certificate) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))

    key = asn1_keys.PrivateKeyInfo.load(tsa_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    stamper = DummyTimeStamper(tsa_cert=der(leaf), tsa_key=key, certs_to_embed=[der(root)])
    return stamper, leaf.public_bytes(serialization.Encoding.DER)


def serve() -> None:
    from asn1crypto import tsp

    stamper, certificate = _make_tsa()
    issued = {"count": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/count":
                self._send(200, str(issued["count"]).encode(), "text/plain")
            elif self.path == "/certificate":
                self._send(200, certificate, "application/pkix-cert")
            else:
                self._send(404, b"", "text/plain")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            query = self.headers.get("Content-Type") == "application/timestamp-query"
            if not query or not 0 < length <= MAX_REQUEST:
                self._send(400, b"", "text/plain")
                return
            try:
                request = tsp.TimeStampReq.load(self.rfile.read(length))
                reply = stamper.request_tsa_response(request)
            except Exception as exc:  # noqa: BLE001 - a malformed query gets a 400, as from a real TSA
                print(f"TSA: refused a query: {exc!r}", file=sys.stderr, flush=True)
                self._send(400, b"", "text/plain")
                return
            with lock:
                issued["count"] += 1
            self._send(200, reply.dump(), "application/timestamp-reply")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve()
