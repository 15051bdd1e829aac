"""A real S3-compatible server on loopback (moto's, in a thread) for storage and file-integration tests."""

from __future__ import annotations

import socket
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import boto3

KEY_ID, SECRET = "test", "test"  # moto accepts any keys until auth is switched on (enforce_auth)
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto's server on a free loopback port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def client(endpoint: str, key_id: str = KEY_ID, secret: str = SECRET, service: str = "s3"):
    return boto3.client(service, endpoint_url=endpoint, aws_access_key_id=key_id,
                        aws_secret_access_key=secret, region_name=REGION)


def new_bucket(endpoint: str) -> str:
    """A fresh, uniquely named bucket (tests sharing one server never see each other's objects)."""
    name = f"laurel-{uuid.uuid4().hex[:12]}"
    client(endpoint).create_bucket(Bucket=name)
    return name


def _post(endpoint: str, path: str, body: bytes) -> None:
    # text/plain: moto reads the raw body, which Flask leaves empty for a form-encoded POST
    request = urllib.request.Request(
        f"{endpoint}{path}", data=body, method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 (loopback test server)
        pass


@contextmanager
def enforce_auth(endpoint: str) -> Iterator[None]:
    """Make the server check keys and IAM policies (moto's reset-auth switch) for the block."""
    _post(endpoint, "/moto-api/reset-auth", b"0")
    try:
        yield
    finally:
        _post(endpoint, "/moto-api/reset-auth", b"inf")


def iam_user(endpoint: str, name: str, policy: str | None = None) -> tuple[str, str]:
    """An IAM user with an access key (and an inline policy document, if given); returns the key pair."""
    iam = client(endpoint, service="iam")
    iam.create_user(UserName=name)
    if policy:
        iam.put_user_policy(UserName=name, PolicyName="laurel", PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]
