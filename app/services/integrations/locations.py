"""Where the file integrations read and write: a folder on this server or an S3 bucket.

`config["location"]` is "folder" (the default) or "s3". For a bucket, the endpoint URL an admin
typed goes through the same private-address policy as webhooks (refused unless
WEBHOOKS_ALLOW_PRIVATE) when saved and again each time a client is built, and the keys are
decrypted from the integration's credentials only here.
"""

from __future__ import annotations

import requests

from app.connectors.file_drop import DropSource, FolderSource, FolderTarget
from app.connectors.http import UnsafeURLError, check_url
from app.connectors.s3_bucket import BucketError, BucketSettings, S3DropSource, S3Target
from app.models.integration import Integration
from app.services.integrations import registry
from app.services.integrations.settings import LOCATIONS, allow_private

__all__ = ["LOCATIONS", "bucket_settings", "check_endpoint", "drop_source", "export_target", "is_s3"]


def is_s3(integration: Integration) -> bool:
    return (integration.config or {}).get("location") == "s3"


def check_endpoint(url: str) -> None:
    """Raise BucketError when the endpoint is not an http(s) URL or resolves to a private address."""
    try:
        check_url(url, allow_private=allow_private())
    except UnsafeURLError as exc:
        raise BucketError(f"The endpoint URL is not allowed: {exc}") from None
    except requests.RequestException as exc:
        raise BucketError(f"Cannot resolve the endpoint URL: {exc}") from None


def bucket_settings(integration: Integration) -> BucketSettings:
    config = integration.config or {}
    endpoint = config.get("endpoint_url") or None
    if endpoint:
        check_endpoint(endpoint)  # again at use: DNS may have changed since it was saved
    creds = registry.credentials(integration)
    return BucketSettings(
        bucket=config.get("bucket", ""),
        prefix=config.get("prefix", ""),
        region=config.get("region") or None,
        endpoint_url=endpoint,
        access_key_id=creds.get("access_key_id"),
        secret_access_key=creds.get("secret_access_key"),
    )


def drop_source(integration: Integration) -> DropSource:
    """The CSV drop integration's source (raises BucketError for a refused endpoint)."""
    if is_s3(integration):
        return S3DropSource(bucket_settings(integration))
    return FolderSource(integration.config["folder"])


def export_target(integration: Integration) -> FolderTarget | S3Target:
    """The PDF export integration's destination (raises BucketError for a refused endpoint)."""
    if is_s3(integration):
        return S3Target(bucket_settings(integration))
    return FolderTarget(integration.config["folder"])
