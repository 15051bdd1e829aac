"""Unit tests for app.connectors primitives: signing, SSRF-safe HTTP, crypto, OAuth2, retry.

Network tests use the real loopback receiver from tests/support/receiver.py; nothing leaves the
machine (public-address cases are checked by resolution only, with getaddrinfo stubbed).
"""

from __future__ import annotations

import base64
import random
import socket
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
import requests
from cryptography.fernet import Fernet
from standardwebhooks import Webhook, WebhookVerificationError

from app.connectors import crypto, http, oauth2, retry, signing
from app.connectors.crypto import CryptoError, SecretBox
from app.connectors.http import UnsafeURLError
from app.connectors.oauth2 import AuthConfigError, ClientCredentials, OAuth2Error, TokenCache
from app.connectors.signing import SignatureError
from tests.support.receiver import Receiver, Recorded, Reply

BODY = b'{"type":"certificate.issued","timestamp":"2026-01-01T00:00:00Z","data":{"serial":"LAU-2026-000001"}}'


@pytest.fixture
def rx():
    with Receiver() as receiver:
        yield receiver


def loopback_session() -> requests.Session:
    return http.make_session(allow_private=True)


# ---------------------------------------------------------------------------------------- signing
class TestSigning:
    def test_generate_secret_is_whsec_base64_of_32_bytes(self):
        secret = signing.generate_secret()
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
        assert secret != signing.generate_secret()

    def test_known_vector_from_the_reference_implementations(self):
        sig = signing.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}',
            ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        )
        assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

    def test_build_headers(self):
        secret = signing.generate_secret()
        headers = signing.build_headers("msg_1", 1700000000, BODY, [secret])
        assert headers["webhook-id"] == "msg_1"
        assert headers["webhook-timestamp"] == "1700000000"
        assert headers["webhook-signature"].startswith("v1,")
        assert headers["content-type"] == "application/json"

    def test_roundtrip(self):
        secret = signing.generate_secret()
        now = int(time.time())
        headers = signing.build_headers("msg_1", now, BODY, [secret])
        signing.verify(headers, BODY, [secret], now=now)

    def test_standardwebhooks_accepts_ours(self):
        secret = signing.generate_secret()
        headers = signing.build_headers("msg_2", int(time.time()), BODY, [secret])
        assert Webhook(secret).verify(BODY, headers)["data"]["serial"] == "LAU-2026-000001"

    def test_we_accept_standardwebhooks(self):
        secret = signing.generate_secret()
        stamp = datetime.now(tz=UTC)
        theirs = Webhook(secret).sign("msg_3", stamp, BODY.decode())
        headers = {"Webhook-Id": "msg_3", "Webhook-Timestamp": str(int(stamp.timestamp())),
                   "Webhook-Signature": theirs}
        signing.verify(headers, BODY, [secret])

    def test_rotation_signs_with_every_secret(self):
        old, new = signing.generate_secret(), signing.generate_secret()
        headers = signing.build_headers("msg_4", int(time.time()), BODY, [old, new])
        assert len(headers["webhook-signature"].split(" ")) == 2
        for secret in (old, new):
            signing.verify(headers, BODY, [secret])
            Webhook(secret).verify(BODY, headers)
        with pytest.raises(SignatureError, match="no matching"):
            signing.verify(headers, BODY, [signing.generate_secret()])
        with pytest.raises(WebhookVerificationError):
            Webhook(signing.generate_secret()).verify(BODY, headers)

    def test_verify_accepts_any_configured_secret(self):
        old, new = signing.generate_secret(), signing.generate_secret()
        headers = signing.build_headers("msg_5", int(time.time()), BODY, [old])
        signing.verify(headers, BODY, [new, old])

    @pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
    def test_missing_header(self, missing):
        secret = signing.generate_secret()
        headers = signing.build_headers("msg_6", int(time.time()), BODY, [secret])
        del headers[missing]
        with pytest.raises(SignatureError, match=f"missing header.*{missing}"):
            signing.verify(headers, BODY, [secret])

    def test_stale_and_future_timestamps(self):
        secret = signing.generate_secret()
        now = 1_700_000_000
        old = signing.build_headers("m", now - 301, BODY, [secret])
        with pytest.raises(SignatureError, match="too old"):
            signing.verify(old, BODY, [secret], now=now)
        future = signing.build_headers("m", now + 301, BODY, [secret])
        with pytest.raises(SignatureError, match="future"):
            signing.verify(future, BODY, [secret], now=now)
        # Inside the window both ways, and a custom tolerance.
        signing.verify(signing.build_headers("m", now - 299, BODY, [secret]), BODY, [secret], now=now)
        signing.verify(old, BODY, [secret], now=now, tolerance=600)

    def test_bad_timestamp(self):
        secret = signing.generate_secret()
        headers = signing.build_headers("m", int(time.time()), BODY, [secret])
        headers["webhook-timestamp"] = "yesterday"
        with pytest.raises(SignatureError, match="invalid webhook-timestamp"):
            signing.verify(headers, BODY, [secret])

    def test_tampered_body_and_id(self):
        secret = signing.generate_secret()
        headers = signing.build_headers("msg_7", int(time.time()), BODY, [secret])
        with pytest.raises(SignatureError, match="no matching"):
            signing.verify(headers, BODY + b" ", [secret])
        with pytest.raises(SignatureError):
            signing.verify({**headers, "webhook-id": "msg_8"}, BODY, [secret])

    def test_ignores_other_versions_and_garbage(self):
        secret = signing.generate_secret()
        now = int(time.time())
        good = signing.sign("m", now, BODY, [secret]).split(",", 1)[1]
        headers = {"webhook-id": "m", "webhook-timestamp": str(now), "webhook-signature": f"v1a,{good}"}
        with pytest.raises(SignatureError):
            signing.verify(headers, BODY, [secret])
        headers["webhook-signature"] = f"garbage v1,!!! v1,{good}"
        signing.verify(headers, BODY, [secret])

    def test_invalid_secret_is_a_config_error(self):
        with pytest.raises(ValueError, match="base64"):
            signing.sign("m", 1, BODY, ["whsec_not base64!"])
        with pytest.raises(ValueError):
            signing.sign("m", 1, BODY, [])

    def test_github_signature(self):
        # Example from GitHub's "Validating webhook deliveries" documentation.
        secret, body = "It's a Secret to Everybody", b"Hello, World!"
        header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        assert signing.sign_github(body, secret) == header
        signing.verify_github(body, secret, header)
        signing.verify_github(body, secret, header.upper().replace("SHA256", "sha256"))
        with pytest.raises(SignatureError, match="does not match"):
            signing.verify_github(body + b"!", secret, header)
        with pytest.raises(SignatureError, match="missing"):
            signing.verify_github(body, secret, None)
        with pytest.raises(SignatureError, match="sha256="):
            signing.verify_github(body, secret, "sha1=abc")


# ------------------------------------------------------------------------------------------- http
BLOCKED_URLS = [
    "http://127.0.0.1/",
    "http://127.1/",
    "http://10.0.0.1/hook",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[fd00::1]/",
    "http://localhost/",
    "http://localhost:8080/admin",
    "http://0.0.0.0/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f000001/",
    "https://127.0.0.1/",
    "http://224.0.0.1/",
]


class TestSSRF:
    @pytest.mark.parametrize("url", BLOCKED_URLS)
    def test_private_targets_refused(self, url):
        with pytest.raises(UnsafeURLError, match="non-public"):
            http.safe_request("POST", url, data=b"{}")

    @pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "gopher://x/", "http:///nohost"])
    def test_bad_scheme_or_host(self, url):
        with pytest.raises(UnsafeURLError):
            http.safe_request("GET", url)

    def test_unsafe_url_error_is_a_requests_error(self):
        assert issubclass(UnsafeURLError, requests.RequestException)

    def test_every_resolved_address_must_be_public(self, monkeypatch):
        def fake(host, port, *args, **kwargs):
            ips = ("93.184.215.14", "10.1.2.3")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in ips]

        monkeypatch.setattr(socket, "getaddrinfo", fake)
        with pytest.raises(UnsafeURLError, match="10.1.2.3"):
            http.check_url("https://mixed.example/hook")

    def test_public_name_passes_the_check(self, monkeypatch):
        def fake(host, port, *args, **kwargs):
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2606:4700::6810:84e5", port, 0, 0)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

        monkeypatch.setattr(socket, "getaddrinfo", fake)
        assert [str(a) for a in http.check_url("https://public.example/")] == ["2606:4700::6810:84e5",
                                                                             "93.184.215.14"]

    def test_dns_rebinding_is_caught_by_the_pinned_address(self, rx, monkeypatch):
        # First answer public (passes the check), second answer loopback (what we'd connect to).
        real, calls = socket.getaddrinfo, []

        def rebinding(host, port, *args, **kwargs):
            calls.append(host)
            ip = "93.184.215.14" if len(calls) == 1 else "127.0.0.1"
            return real(ip, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        with pytest.raises(UnsafeURLError, match="127.0.0.1"):
            http.safe_request("GET", f"http://rebind.example:{rx.port}/")
        assert len(calls) == 2
        assert rx.requests == []

    def test_session_refuses_loopback_by_default(self, rx):
        with http.make_session() as session, pytest.raises(UnsafeURLError):
            session.get(rx.url)
        assert rx.requests == []

    def test_allow_private_reaches_loopback_receiver(self, rx):
        rx.script(Reply(202, b"accepted"))
        response = http.safe_request("POST", rx.url_for("/hook"), allow_private=True, data=BODY,
                                     headers={"webhook-id": "msg_1", "content-type": "application/json"})
        assert response.status_code == 202
        assert response.text == "accepted"
        assert response.truncated is False
        (request,) = rx.wait_for(1)
        assert (request.method, request.path, request.body) == ("POST", "/hook", BODY)
        assert request.headers["webhook-id"] == "msg_1"
        assert request.headers["user-agent"] == http.USER_AGENT

    def test_redirect_is_not_followed(self, rx):
        rx.script(Reply(302, headers={"Location": rx.url_for("/elsewhere")}))
        response = http.safe_request("POST", rx.url_for("/hook"), allow_private=True, data=b"{}")
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/elsewhere")
        time.sleep(0.1)
        assert [r.path for r in rx.requests] == ["/hook"]

    def test_session_never_follows_redirects_even_when_asked(self, rx):
        rx.script(Reply(307, headers={"Location": rx.url_for("/elsewhere")}))
        with loopback_session() as session:
            response = session.post(rx.url_for("/hook"), data=b"{}", allow_redirects=True)
        assert response.status_code == 307
        assert len(rx.requests) == 1

    def test_body_is_capped(self, rx):
        rx.script(Reply(200, b"x" * (1024 * 1024)))
        response = http.safe_request("GET", rx.url, allow_private=True)
        assert len(response.content) == http.MAX_BODY_BYTES
        assert response.truncated is True
        rx.script(Reply(200, b"y" * 100))
        small = http.safe_request("GET", rx.url, allow_private=True, max_body=10)
        assert small.content == b"y" * 10

    def test_timeout(self, rx):
        rx.script(Reply(200, delay=1.0))
        started = time.monotonic()
        with pytest.raises(requests.Timeout):
            http.safe_request("POST", rx.url, allow_private=True, timeout=0.2)
        assert time.monotonic() - started < 0.9

    def test_proxy_environment_is_ignored(self, rx, monkeypatch):
        # A proxy would connect to the target for us and defeat the address check.
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
        assert http.safe_request("GET", rx.url, allow_private=True).status_code == 200


# ----------------------------------------------------------------------------------------- crypto
class TestCrypto:
    def test_roundtrip(self):
        box = SecretBox([crypto.generate_key()])
        token = box.encrypt("s3cret-ünïcode")
        assert "s3cret" not in token
        assert box.decrypt(token) == "s3cret-ünïcode"

    def test_rotation(self):
        old, new = crypto.generate_key(), crypto.generate_key()
        token = SecretBox([old]).encrypt("api-key")
        rotating = SecretBox([new, old])
        assert rotating.decrypt(token) == "api-key"
        rotated = rotating.rotate(token)
        assert SecretBox([new]).decrypt(rotated) == "api-key"
        with pytest.raises(CryptoError):
            SecretBox([old]).decrypt(rotated)

    def test_new_tokens_use_the_first_key(self):
        old, new = crypto.generate_key(), crypto.generate_key()
        assert SecretBox([new]).decrypt(SecretBox([new, old]).encrypt("x")) == "x"

    def test_wrong_key_is_a_clear_error(self):
        token = SecretBox([crypto.generate_key()]).encrypt("x")
        with pytest.raises(CryptoError, match="no longer configured"):
            SecretBox([crypto.generate_key()]).decrypt(token)
        with pytest.raises(CryptoError):
            SecretBox([crypto.generate_key()]).decrypt("not a token")
        with pytest.raises(CryptoError):
            SecretBox([crypto.generate_key()]).rotate(token)

    def test_malformed_key_does_not_leak(self):
        with pytest.raises(CryptoError, match="#2") as info:
            SecretBox([crypto.generate_key(), "hunter2-not-a-key"])
        assert "hunter2" not in str(info.value)
        with pytest.raises(CryptoError):
            SecretBox([])

    def test_derived_key_is_stable_and_valid(self):
        key = crypto.derive_key("flask-secret")
        assert key == crypto.derive_key("flask-secret")
        assert key != crypto.derive_key("other-secret")
        Fernet(key)  # valid Fernet key
        with pytest.raises(CryptoError):
            crypto.derive_key("")

    def test_box_from_config_falls_back_to_secret_key(self):
        box = crypto.box_from_config(None, "flask-secret")
        token = box.encrypt("x")
        assert SecretBox([crypto.derive_key("flask-secret")]).decrypt(token) == "x"
        with pytest.raises(CryptoError, match="no encryption key"):
            crypto.box_from_config(None, None)

    def test_switching_to_dedicated_keys_keeps_old_tokens_readable(self):
        before = crypto.box_from_config("", "flask-secret").encrypt("legacy")
        k1, k2 = crypto.generate_key(), crypto.generate_key()
        box = crypto.box_from_config(f" {k1} , {k2} ", "flask-secret")
        assert box.decrypt(before) == "legacy"
        assert SecretBox([k1]).decrypt(box.encrypt("fresh")) == "fresh"

    @pytest.mark.parametrize(("secret", "masked"), [
        ("whsec_abcdefghWXYZ", "••••WXYZ"), ("12345678", "••••5678"), ("short", "••••"), ("", ""), (None, ""),
    ])
    def test_mask(self, secret, masked):
        assert crypto.mask(secret) == masked


# ----------------------------------------------------------------------------------------- oauth2
class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(url: str, clock: FakeClock, cache: TokenCache | None = None, **kw) -> ClientCredentials:
    kw.setdefault("scope", "webhooks")
    return ClientCredentials(url, kw.pop("client_id", "laurel"), kw.pop("client_secret", "s3c:r+t/é"),
                             cache=cache or TokenCache(), clock=clock, **kw)


class TestOAuth2:
    def test_fetches_with_basic_auth_and_caches(self, rx):
        url = rx.token_endpoint(client_id="laurel", client_secret="s3c:r+t/é", expires_in=3600)
        clock = FakeClock()
        creds = client(url, clock)
        assert creds.get_token(loopback_session) == "token-1"
        assert creds.get_token(loopback_session) == "token-1"
        assert rx.token_calls == 1
        (request,) = rx.requests
        assert request.headers["Authorization"].startswith("Basic ")
        assert request.form() == {"grant_type": "client_credentials", "scope": "webhooks"}

    def test_refreshes_shortly_before_expiry(self, rx):
        url = rx.token_endpoint(expires_in=3600)
        clock, cache = FakeClock(), TokenCache()
        assert client(url, clock, cache).get_token(loopback_session) == "token-1"
        clock.now += 3600 - oauth2.LEEWAY - 1
        # A new instance (as a new delivery job would build) still hits the shared cache.
        assert client(url, clock, cache).get_token(loopback_session) == "token-1"
        clock.now += 2
        assert client(url, clock, cache).get_token(loopback_session) == "token-2"
        assert rx.token_calls == 2

    def test_short_lived_token_refreshes_at_half_life(self, rx):
        url = rx.token_endpoint(expires_in=10)
        clock = FakeClock()
        creds = client(url, clock)
        creds.get_token(loopback_session)
        clock.now += 4.9
        assert creds.get_token(loopback_session) == "token-1"
        clock.now += 0.2
        assert creds.get_token(loopback_session) == "token-2"

    def test_missing_expires_in_uses_default_ttl(self, rx):
        url = rx.token_endpoint(expires_in=None)
        clock = FakeClock()
        creds = client(url, clock)
        creds.get_token(loopback_session)
        clock.now += oauth2.DEFAULT_TTL - oauth2.LEEWAY - 1
        assert creds.get_token(loopback_session) == "token-1"
        clock.now += 2
        assert creds.get_token(loopback_session) == "token-2"

    def test_cache_is_per_url_client_and_scope(self, rx):
        url = rx.token_endpoint()
        clock, cache = FakeClock(), TokenCache()
        tokens = {
            client(url, clock, cache, scope="a").get_token(loopback_session),
            client(url, clock, cache, scope="b").get_token(loopback_session),
            client(url, clock, cache, scope="a", client_id="other").get_token(loopback_session),
            client(url, clock, cache, scope="a").get_token(loopback_session),
        }
        assert len(tokens) == 3
        assert rx.token_calls == 3

    def test_invalidate(self, rx):
        url = rx.token_endpoint()
        creds = client(url, FakeClock())
        creds.get_token(loopback_session)
        creds.invalidate()
        assert creds.get_token(loopback_session) == "token-2"

    def test_concurrent_callers_share_one_fetch(self, rx):
        url = rx.token_endpoint(delay=0.3)
        clock, cache = FakeClock(), TokenCache()
        results: list[str] = []
        threads = [threading.Thread(target=lambda: results.append(client(url, clock, cache)
                                                                 .get_token(loopback_session)))
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        assert results == ["token-1"] * 8
        assert rx.token_calls == 1

    def test_client_secret_post(self, rx):
        url = rx.token_endpoint(client_id="laurel", client_secret="pw")
        creds = client(url, FakeClock(), client_secret="pw", auth_method="post")
        assert creds.get_token(loopback_session) == "token-1"
        assert "Authorization" not in rx.requests[0].headers
        assert rx.requests[0].form()["client_id"] == "laurel"

    def test_wrong_credentials(self, rx):
        url = rx.token_endpoint(client_id="laurel", client_secret="right")
        with pytest.raises(OAuth2Error, match="HTTP 401.*invalid_client"):
            client(url, FakeClock(), client_secret="wrong").get_token(loopback_session)

    def test_server_error(self, rx):
        url = rx.token_endpoint(status=500)
        with pytest.raises(OAuth2Error, match="HTTP 500"):
            client(url, FakeClock()).get_token(loopback_session)

    @pytest.mark.parametrize("reply", [Reply(200, {"token_type": "Bearer"}), Reply(200, "<html>"),
                                       Reply(200, {"access_token": ""})])
    def test_missing_access_token(self, rx, reply):
        rx.script(reply)
        with pytest.raises(OAuth2Error, match="access_token|JSON"):
            client(rx.url_for("/token"), FakeClock()).get_token(loopback_session)

    def test_default_session_is_ssrf_safe(self, rx):
        url = rx.token_endpoint()
        with pytest.raises(OAuth2Error, match="non-public"):
            client(url, FakeClock()).get_token()
        assert rx.token_calls == 0

    def test_incomplete_config(self):
        with pytest.raises(AuthConfigError):
            ClientCredentials("https://idp.example/token", "", "secret")
        with pytest.raises(AuthConfigError):
            ClientCredentials("https://idp.example/token", "id", "secret", auth_method="jwt")


class TestAuthHeaders:
    def test_none(self):
        assert oauth2.auth_headers("none", {}, {}) == {}

    def test_api_key(self):
        assert oauth2.auth_headers("api_key", {}, {"api_key": "k"}) == {"X-API-Key": "k"}
        custom = oauth2.auth_headers("api_key", {"header_name": "X-Token"}, {"api_key": "k"})
        assert custom == {"X-Token": "k"}
        with pytest.raises(AuthConfigError, match="header name"):
            oauth2.auth_headers("api_key", {"header_name": "Bad Header:"}, {"api_key": "k"})
        with pytest.raises(AuthConfigError, match="API key"):
            oauth2.auth_headers("api_key", {}, {})

    def test_bearer(self):
        assert oauth2.auth_headers("bearer", {}, {"token": "t"}) == {"Authorization": "Bearer t"}
        with pytest.raises(AuthConfigError, match="line breaks"):
            oauth2.auth_headers("bearer", {}, {"token": "t\r\nX-Evil: 1"})

    def test_basic(self):
        headers = oauth2.auth_headers("basic", {"username": "ann"}, {"password": "pw:1"})
        assert base64.b64decode(headers["Authorization"].removeprefix("Basic ")) == b"ann:pw:1"
        with pytest.raises(AuthConfigError, match="username"):
            oauth2.auth_headers("basic", {}, {"password": "x"})

    def test_oauth2(self, rx):
        url = rx.token_endpoint(client_id="cid", client_secret="cs")
        config = {"token_url": url, "client_id": "cid", "scope": "s"}
        kw = {"session_factory": loopback_session, "cache": TokenCache(), "clock": FakeClock()}
        assert oauth2.auth_headers("oauth2", config, {"client_secret": "cs"}, **kw) == {
            "Authorization": "Bearer token-1"}
        assert oauth2.auth_headers("oauth2", config, {"client_secret": "cs"}, **kw) == {
            "Authorization": "Bearer token-1"}
        assert rx.token_calls == 1
        with pytest.raises(AuthConfigError, match="client secret"):
            oauth2.auth_headers("oauth2", config, {}, **kw)

    def test_unknown_type(self):
        with pytest.raises(AuthConfigError, match="unknown auth type"):
            oauth2.auth_headers("kerberos", {}, {})


# ------------------------------------------------------------------------------------------ retry
class Mid:
    """An rng whose jitter is always zero, to read the bare schedule."""

    def uniform(self, a: float, b: float) -> float:
        return 0.0


class TestRetry:
    def test_schedule(self):
        delays = [retry.next_delay(n, rng=Mid()) for n in range(9)]
        assert delays == [0, 5, 300, 1800, 7200, 18000, 36000, 36000, None]

    def test_jitter_stays_within_twenty_percent(self):
        rng = random.Random(7)
        samples = [retry.next_delay(3, rng=rng) for _ in range(500)]
        assert all(1800 * 0.8 <= s <= 1800 * 1.2 for s in samples)
        assert len(set(samples)) > 400  # really random, not a constant offset

    def test_retry_after_seconds(self):
        assert retry.next_delay(1, "120", Mid()) == 120
        assert retry.next_delay(1, "120", Mid(), status_code=429) == 120
        assert retry.next_delay(1, "120", Mid(), status_code=503) == 120
        # Only 429/503 carry a meaningful Retry-After.
        assert retry.next_delay(1, "120", Mid(), status_code=500) == 5

    def test_retry_after_never_speeds_up_the_schedule(self):
        assert retry.next_delay(4, "10", Mid()) == 7200
        assert retry.next_delay(1, "0", Mid()) == 5

    def test_retry_after_is_capped(self):
        assert retry.next_delay(1, "99999999", Mid()) == retry.RETRY_AFTER_MAX

    def test_retry_after_http_date(self):
        now = 1_700_000_000.0
        later = format_datetime(datetime.fromtimestamp(now + 600, tz=UTC), usegmt=True)
        assert retry.next_delay(1, later, Mid(), now=now) == pytest.approx(600)
        earlier = format_datetime(datetime.fromtimestamp(now - 600, tz=UTC), usegmt=True)
        assert retry.next_delay(1, earlier, Mid(), now=now) == 5

    @pytest.mark.parametrize("value", ["soon", "-5", "1.5e3", ""])
    def test_bad_retry_after_is_ignored(self, value):
        assert retry.next_delay(2, value, Mid()) == 300

    def test_gives_up_after_last_attempt(self):
        assert retry.next_delay(retry.MAX_ATTEMPTS, "60", Mid()) is None
        with pytest.raises(ValueError):
            retry.next_delay(-1)

    @pytest.mark.parametrize(("status", "outcome"), [
        (200, "ok"), (201, "ok"), (204, "ok"), (299, "ok"),
        (301, "retry"), (302, "retry"), (304, "retry"), (400, "retry"), (401, "retry"), (404, "retry"),
        (429, "retry"), (500, "retry"), (503, "retry"),
        (410, "disable"),
        (None, "fail"), (0, "fail"), (999, "fail"),
    ])
    def test_classify(self, status, outcome):
        assert retry.classify(status) == outcome


# --------------------------------------------------------------------------------------- receiver
class TestReceiver:
    def test_scripted_replies_in_order_then_default(self, rx):
        rx.script([500, 410], Reply(429, headers={"Retry-After": "3"}))
        statuses = [requests.post(rx.url, data=b"x", timeout=5).status_code for _ in range(4)]
        assert statuses == [500, 410, 429, 200]
        assert len(rx.wait_for(4)) == 4

    def test_callable_reply_sees_the_request(self, rx):
        def echo(request: Recorded) -> Reply:
            return Reply(201, {"got": request.json()})

        rx.script(echo)
        assert requests.post(rx.url_for("/x?a=1"), json={"k": 1}, timeout=5).json() == {"got": {"k": 1}}
        assert rx.requests[0].route == "/x"
        assert rx.requests[0].path == "/x?a=1"

    def test_chunked_request_body(self, rx):
        requests.post(rx.url, data=iter([b"ab", b"cd"]), timeout=5)
        assert rx.wait_for(1)[0].body == b"abcd"

    def test_wait_for_times_out_with_a_clear_message(self, rx):
        with pytest.raises(AssertionError, match="got 0 request"):
            rx.wait_for(1, timeout=0.1)

    def test_records_time(self, rx):
        before = time.time()
        requests.get(rx.url, timeout=5)
        assert before <= rx.wait_for(1)[0].time <= time.time()
