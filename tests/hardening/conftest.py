"""Hardening tests reuse the integration fixtures (loopback receiver, moto S3 server, webhook factory)."""

from tests.integrations.conftest import (  # noqa: F401 - fixtures
    allow_private,
    bucket,
    catalog_one,
    make_webhook,
    receiver,
    s3_endpoint,
)
