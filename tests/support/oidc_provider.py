"""A real OpenID provider for the tests, run as its own process on loopback.

    python -m tests.support.oidc_provider --port 0 --client-id laurel --client-secret s3cret

prints "READY <port>" once it listens. Built with authlib's provider components (the Flask
AuthorizationServer, AuthorizationCodeGrant + OpenIDCode + PKCE S256), not a stub of our client:
discovery, JWKS (an RS256 key generated at start), the authorization endpoint (signs the configured
test user in without a form), the token endpoint (client_secret_basic or _post), userinfo, end_session.

Test knobs, as JSON on POST /_test/config:
    {"user": {"sub": ..., "email": ..., "email_verified": ..., "name": ..., "groups": [...], ...},
     "fault": null | "nonce" | "expired" | "audience" | "signature", "rotate": true (a new signing key)}
GET /_test/logouts lists the end_session requests received (their query parameters).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback

import contextlib

from authlib.integrations.flask_oauth2 import AuthorizationServer  # noqa: E402
from authlib.oauth2.rfc6749 import grants  # noqa: E402
from authlib.oauth2.rfc7636 import CodeChallenge  # noqa: E402
from authlib.oidc.core.grants import OpenIDCode  # noqa: E402
from flask import Flask, jsonify, redirect, request  # noqa: E402
from joserfc.jwk import RSAKey  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from tests.support.peer_process import PeerProcess  # noqa: E402

FAULTS = (None, "nonce", "expired", "audience", "signature")


@dataclass
class Client:
    client_id: str
    client_secret: str

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        allowed = {"openid", "email", "profile", "groups"}
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        # Any loopback callback: Laurel's provider id (in the path) is made after this process starts.
        return redirect_uri.startswith(("http://127.0.0.1:", "http://localhost"))

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post") if endpoint == "token" else True

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    user: dict
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return None

    def is_expired(self):
        return time.time() - self.auth_time > 300


class State:
    """Everything the provider remembers, in memory (one process per test module)."""

    def __init__(self, issuer: str, client: Client):
        self.issuer = issuer
        self.client = client
        self.key = RSAKey.generate_key(2048, parameters={"kid": "op-key-1", "use": "sig", "alg": "RS256"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "op-key-1"})  # "bad signature"
        self.rotations = 1
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, dict] = {}
        self.logouts: list[dict] = []
        self.user: dict = {"sub": "op-user-1", "email": "sso.person@example.com", "email_verified": True,
                           "name": "Sso Person", "groups": []}
        self.fault: str | None = None


def build_app(state: State) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = secrets.token_hex(16)

    class OpenIDCodeGrant(OpenIDCode):
        def exists_nonce(self, nonce, request):
            return any(c.nonce == nonce for c in state.codes.values())

        def resolve_client_private_key(self, client):
            return state.other_key if state.fault == "signature" else state.key

        def get_client_algorithm(self, client):
            return "RS256"

        def get_encode_header(self, client):
            return {"alg": "RS256", "kid": state.key.kid}

        def get_client_claims(self, client):
            audience = "someone-else" if state.fault == "audience" else client.get_client_id()
            return {"iss": state.issuer, "aud": [audience]}

        def get_compatible_claims(self, request):
            claims = super().get_compatible_claims(request)
            if state.fault == "expired":
                claims["iat"] = int(time.time()) - 7200
                claims["exp"] = int(time.time()) - 3600
            return claims

        def get_authorization_code_claims(self, authorization_code):
            claims = super().get_authorization_code_claims(authorization_code)
            if state.fault == "nonce":
                claims["nonce"] = "not-the-nonce-you-sent"
            return claims

        def generate_user_info(self, user, scope):
            return {k: v for k, v in user.items() if v is not None}

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        def save_authorization_code(self, code, request):
            payload = request.payload
            state.codes[code] = Code(code=code, client_id=request.client.get_client_id(),
                                     redirect_uri=payload.redirect_uri, scope=payload.scope,
                                     nonce=payload.data.get("nonce"),
                                     code_challenge=payload.data.get("code_challenge"),
                                     code_challenge_method=payload.data.get("code_challenge_method"),
                                     user=dict(state.user))

        def query_authorization_code(self, code, client):
            found = state.codes.get(code)
            if found and found.client_id == client.get_client_id() and not found.is_expired():
                return found
            return None

        def delete_authorization_code(self, authorization_code):
            state.codes.pop(authorization_code.code, None)  # a code works once: a replay is refused

        def authenticate_user(self, authorization_code):
            return authorization_code.user

    def query_client(client_id):
        return state.client if client_id == state.client.client_id else None

    def save_token(token, request):
        state.tokens[token["access_token"]] = dict(request.user)

    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(CodeGrant, [OpenIDCodeGrant(require_nonce=True), CodeChallenge(required=True)])

    @app.get("/.well-known/openid-configuration")
    def discovery():
        base = state.issuer
        return jsonify({
            "issuer": base, "authorization_endpoint": f"{base}/authorize", "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo", "jwks_uri": f"{base}/jwks",
            "end_session_endpoint": f"{base}/logout", "response_types_supported": ["code"],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "groups"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        })

    @app.get("/jwks")
    def jwks():
        return jsonify({"keys": [state.key.as_dict(private=False)]})

    @app.get("/authorize")
    def authorize():
        # The configured test user is signed in at the provider already: no form.
        return server.create_authorization_response(grant_user=dict(state.user))

    @app.post("/token")
    def token():
        return server.create_token_response()

    @app.get("/userinfo")
    def userinfo():
        header = request.headers.get("Authorization", "")
        user = state.tokens.get(header[7:]) if header.startswith("Bearer ") else None
        if user is None:
            return jsonify({"error": "invalid_token"}), 401
        return jsonify(user)

    @app.get("/logout")
    def end_session():
        state.logouts.append(request.args.to_dict())
        target = request.args.get("post_logout_redirect_uri")
        if target and target.startswith(("http://127.0.0.1:", "http://localhost")):
            extra = {"state": request.args["state"]} if "state" in request.args else {}
            return redirect(f"{target}{'&' if '?' in target else '?'}{urlencode(extra)}" if extra else target)
        return "Signed out of the provider."

    @app.post("/_test/config")
    def configure():
        body = request.get_json()
        if "user" in body:
            state.user = body["user"]
        if "fault" in body:
            if body["fault"] not in FAULTS:
                return jsonify({"error": "unknown fault"}), 400
            state.fault = body["fault"]
        if body.get("rotate"):  # a new signing key (new kid) replaces the old one in the JWKS
            state.rotations += 1
            kid = f"op-key-{state.rotations}"
            state.key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})
            state.other_key = RSAKey.generate_key(2048, parameters={"kid": kid})
        return jsonify({"user": state.user, "fault": state.fault})

    @app.get("/_test/logouts")
    def logouts():
        return jsonify(state.logouts)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--client-id", default="laurel")
    parser.add_argument("--client-secret", default="laurel-test-secret")
    args = parser.parse_args(argv)
    holder: dict = {}
    server = make_server("127.0.0.1", args.port, lambda environ, start: holder["app"](environ, start),
                         threaded=True)
    state = State(f"http://127.0.0.1:{server.server_port}", Client(args.client_id, args.client_secret))
    holder["app"] = build_app(state)
    print(f"READY {server.server_port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()


class RunningProvider(PeerProcess):
    """The provider process, from the tests' side: start(), configure(...), logouts(), stop()."""

    module = "tests.support.oidc_provider"
    description = "the OpenID provider"
    quiet = True

    def __init__(self, client_id: str = "laurel", client_secret: str = "laurel-test-secret"):  # noqa: S107
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.issuer = ""

    def arguments(self) -> list[str]:
        return ["--port", "0", "--client-id", self.client_id, "--client-secret", self.client_secret]

    def start(self) -> RunningProvider:
        super().start()
        self.issuer = self.url.rstrip("/")
        return self

    def configure(self, *, user: dict | None = None, fault: str | None = None, rotate: bool = False) -> None:
        import requests

        body: dict = {"fault": fault, "rotate": rotate}
        if user is not None:
            body["user"] = user
        requests.post(f"{self.issuer}/_test/config", json=body, timeout=10).raise_for_status()

    def logouts(self) -> list[dict]:
        import requests

        return requests.get(f"{self.issuer}/_test/logouts", timeout=10).json()
