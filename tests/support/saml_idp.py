"""A real SAML 2 identity provider on loopback (pysaml2's saml2.server.Server), as its own process.

    with SamlIdentityProvider() as idp:
        idp.trust(sp_metadata_xml)                         # the SP's metadata: its ACS, SLO, certificate
        idp.configure(user={"name_id": "ada", "attributes": {"mail": ["ada@example.org"]}}, mode="normal")
        ... our SP redirects the browser to idp.url + "sso?SAMLRequest=..." ...

The child (`python -m tests.support.saml_idp`) makes its own key and self-signed certificate, prints its
port on the first line of stdout and serves:
  GET  /metadata       its IdP metadata (entity id = this URL; SSO and SLO with the Redirect binding)
  GET  /sso            a (signed) AuthnRequest in, the POST binding out: an HTML page whose form carries
                       SAMLResponse/RelayState to the SP's ACS and submits itself (a requests client reads
                       the form; Chromium follows it). The configured user is signed in without a prompt.
  GET  /slo            the SP's signed LogoutRequest (answered with a signed LogoutResponse, redirect) or
                       the SP's LogoutResponse to our own request (recorded)
  GET  /logout-user    IdP-initiated logout: a redirect to the SP's SLO with our signed LogoutRequest
                       for the last user we signed in there
  POST /control        JSON: {"sp_metadata": xml} trusts an SP (instead of the previous one);
                       {"user": {...}, "mode": ...} sets the next answers. Modes: normal, unsigned
                       (no signature at all), response_signed_only (the Response signed, not the
                       assertion), wrong_audience, expired (NotOnOrAfter 30 minutes ago),
                       wrong_recipient (Destination/Recipient elsewhere), replay (a new response that
                       reuses the previous assertion's ID)
  GET  /state          JSON: what happened (logins, logout requests/responses seen, last SAMLResponse)
Nothing is shared with the parent process: our SP talks to it as to any IdP on the internet.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.support.peer_process import PeerProcess

MODES = ("normal", "unsigned", "response_signed_only", "wrong_audience", "expired", "wrong_recipient",
         "replay")


class SamlIdentityProvider(PeerProcess):
    """Start the IdP child process; ``url`` ends with "/", ``metadata_url`` is its entity id."""

    module = "tests.support.saml_idp"
    description = "the SAML IdP process"

    @property
    def metadata_url(self) -> str:
        return self.url + "metadata"

    def metadata(self) -> str:
        with urllib.request.urlopen(self.metadata_url, timeout=10) as response:  # noqa: S310 - loopback
            return response.read().decode()

    def _control(self, payload: dict) -> None:
        request = urllib.request.Request(self.url + "control", data=json.dumps(payload).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - loopback
            response.read()

    def trust(self, sp_metadata: str) -> None:
        self._control({"sp_metadata": sp_metadata})

    def configure(self, *, user: dict | None = None, mode: str = "normal") -> None:
        assert mode in MODES, mode
        self._control({"user": user, "mode": mode} if user is not None else {"mode": mode})

    def state(self) -> dict:
        with urllib.request.urlopen(self.url + "state", timeout=10) as response:  # noqa: S310 - loopback
            return json.loads(response.read())


# --------------------------------------------------------------------------------------------
# The child process
# --------------------------------------------------------------------------------------------

DEFAULT_USER = {"name_id": "ada.lovelace", "attributes": {
    "mail": ["ada@example.org"], "displayName": ["Ada Lovelace"], "groups": ["staff"],
    "department": ["Mathematics"]}}


def _key_pair(folder: Path) -> tuple[str, str]:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test SAML IdP")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    key_file, cert_file = folder / "idp.key", folder / "idp.crt"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_file), str(cert_file)


class _Idp:
    """The pysaml2 server and what the test asked for; rebuilt when an SP's metadata is trusted."""

    def __init__(self, base: str, key_file: str, cert_file: str) -> None:
        self.base, self.key_file, self.cert_file = base, key_file, cert_file
        self.sp_metadata: list[str] = []
        self.user = dict(DEFAULT_USER)
        self.mode = "normal"
        self.seen: dict = {"logins": 0, "logout_requests": 0, "logout_responses": [], "last_response": None,
                           "last_assertion_id": None}
        self.sessions: dict[str, dict] = {}  # sp entity id -> the name id and session index we issued
        self.lock = threading.Lock()
        self.server = self._build()

    def _build(self):  # type: ignore[no-untyped-def]
        import shutil

        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.config import IdPConfig
        from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT
        from saml2.server import Server

        config = IdPConfig()
        config.load({
            "entityid": self.base + "metadata",
            "xmlsec_binary": shutil.which("xmlsec1"),
            "key_file": self.key_file, "cert_file": self.cert_file,
            "metadata": {"inline": list(self.sp_metadata)},
            "accepted_time_diff": 60,
            "service": {"idp": {
                "endpoints": {
                    "single_sign_on_service": [(self.base + "sso", BINDING_HTTP_REDIRECT)],
                    "single_logout_service": [(self.base + "slo", BINDING_HTTP_REDIRECT)],
                },
                "policy": {"default": {"lifetime": {"minutes": 15}, "name_form": NAME_FORMAT_URI}},
                "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                "want_authn_requests_signed": True,  # our SP signs them: check that it does
            }},
        })
        return Server(config=config)

    # -- SSO -----------------------------------------------------------------------------------

    def sso(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, s_utils, samlp
        from saml2.assertion import Policy
        from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID

        request = self.server.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT,
                                                  **_signature_args(query))
        args = self.server.response_args(request.message, [BINDING_HTTP_POST])
        acs = args["destination"]
        sp_entity_id = args["sp_entity_id"]
        name_id = NameID(text=self.user["name_id"], format=NAMEID_FORMAT_PERSISTENT,
                         sp_name_qualifier=sp_entity_id)
        options: dict = {"sign_assertion": True, "sign_response": False}
        if self.mode in ("unsigned", "response_signed_only"):
            options["sign_assertion"] = False
        if self.mode == "response_signed_only":
            options["sign_response"] = True
        if self.mode == "wrong_audience":
            args["sp_entity_id"] = "https://elsewhere.example/saml/metadata"
        if self.mode == "wrong_recipient":
            args["destination"] = "https://elsewhere.example/saml/acs"
        if self.mode == "expired":
            options["release_policy"] = Policy({"default": {"lifetime": {"minutes": -30}}},
                                               mds=self.server.metadata)
        real_sid = s_utils.sid
        if self.mode == "replay" and self.seen["last_assertion_id"]:
            reused = self.seen["last_assertion_id"]
            s_utils.sid = lambda: reused  # assertion_factory draws the assertion's ID from here
        try:
            response = self.server.create_authn_response(
                identity=self.user["attributes"], userid=self.user["name_id"], name_id=name_id,
                authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
                session_not_on_or_after=None, **args, **options)
        finally:
            s_utils.sid = real_sid
        response_text = str(response)
        parsed = samlp.response_from_string(response_text)
        assertion = parsed.assertion[0] if isinstance(parsed.assertion, list) else parsed.assertion
        session_index = assertion.authn_statement[0].session_index
        self.sessions[sp_entity_id] = {"name_id": self.user["name_id"], "session_index": session_index}
        self.seen["last_assertion_id"] = assertion.id
        http = self.server.apply_binding(BINDING_HTTP_POST, response_text, acs, query.get("RelayState") or "",
                                         response=True)
        self.seen["logins"] += 1
        self.seen["last_response"] = _form_value(http["data"], "SAMLResponse")
        return 200, {"Content-Type": "text/html; charset=utf-8"}, http["data"].encode()

    # -- SLO -----------------------------------------------------------------------------------

    def slo(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.sigver import SIG_RSA_SHA256

        if "SAMLResponse" in query:  # the SP answers our IdP-initiated LogoutRequest
            response = self.server.parse_logout_request_response(query["SAMLResponse"], BINDING_HTTP_REDIRECT)
            self.seen["logout_responses"].append(response.status_ok() if response else None)
            return 200, {"Content-Type": "text/plain"}, b"logged out at the IdP"
        request = self.server.parse_logout_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT,
                                                   **_signature_args(query))
        self.seen["logout_requests"] += 1
        response = self.server.create_logout_response(request.message, [BINDING_HTTP_REDIRECT], sign=False)
        args = self.server.response_args(request.message, [BINDING_HTTP_REDIRECT])
        http = self.server.apply_binding(BINDING_HTTP_REDIRECT, str(response), args["destination"],
                                         query.get("RelayState") or "", response=True, sign=True,
                                         sigalg=SIG_RSA_SHA256)
        return 302, {"Location": dict(http["headers"])["Location"]}, b""

    def logout_user(self) -> tuple[int, dict[str, str], bytes]:
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
        from saml2.sigver import SIG_RSA_SHA256

        sp_entity_id, session = next(iter(self.sessions.items()))
        destination = self.server.metadata.single_logout_service(
            sp_entity_id, BINDING_HTTP_REDIRECT, "spsso")[0]["location"]
        _, request = self.server.create_logout_request(
            destination, sp_entity_id,
            name_id=NameID(text=session["name_id"], format=NAMEID_FORMAT_PERSISTENT,
                           sp_name_qualifier=sp_entity_id),
            session_indexes=[session["session_index"]], expire=None)
        http = self.server.apply_binding(BINDING_HTTP_REDIRECT, str(request), destination, "",
                                         sign=True, sigalg=SIG_RSA_SHA256)
        return 302, {"Location": dict(http["headers"])["Location"]}, b""

    def control(self, payload: dict) -> None:
        if "sp_metadata" in payload:
            self.sp_metadata = [payload["sp_metadata"]]  # one SP at a time: each test has its own key
            self.sessions.clear()
            self.server = self._build()
        if payload.get("user") is not None:
            self.user = payload["user"]
        if "mode" in payload:
            self.mode = payload["mode"]


def _signature_args(query: dict[str, str]) -> dict[str, str | None]:
    return {"relay_state": query.get("RelayState"), "sigalg": query.get("SigAlg"),
            "signature": query.get("Signature")}


def _form_value(html: str, name: str) -> str | None:
    import re

    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    return match.group(1) if match else None


def serve() -> None:
    import tempfile
    import traceback

    folder = Path(tempfile.mkdtemp(prefix="saml-idp-"))
    key_file, cert_file = _key_pair(folder)
    http_server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    base = f"http://127.0.0.1:{http_server.server_address[1]}/"
    idp = _Idp(base, key_file, cert_file)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _answer(self, work) -> None:  # type: ignore[no-untyped-def]
            try:
                with idp.lock:
                    self._send(*work())
            except Exception:  # noqa: BLE001 - a refused message is a 400, as from a real IdP
                traceback.print_exc(file=sys.stderr)
                self._send(400, {"Content-Type": "text/plain"}, b"refused")

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            if parts.path == "/metadata":
                from saml2.metadata import create_metadata_string

                self._answer(lambda: (200, {"Content-Type": "application/samlmetadata+xml"},
                                      create_metadata_string(None, config=idp.server.config)))
            elif parts.path == "/sso":
                self._answer(lambda: idp.sso(query))
            elif parts.path == "/slo":
                self._answer(lambda: idp.slo(query))
            elif parts.path == "/logout-user":
                self._answer(idp.logout_user)
            elif parts.path == "/state":
                self._answer(lambda: (200, {"Content-Type": "application/json"},
                                      json.dumps(idp.seen).encode()))
            else:
                self._send(404, {"Content-Type": "text/plain"}, b"")

        def do_POST(self) -> None:
            if self.path != "/control":
                self._send(404, {"Content-Type": "text/plain"}, b"")
                return
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            self._answer(lambda: (idp.control(payload), (200, {"Content-Type": "text/plain"}, b"ok"))[1])

    http_server.RequestHandlerClass = Handler
    print(http_server.server_address[1], flush=True)
    http_server.serve_forever()


if __name__ == "__main__":
    serve()
