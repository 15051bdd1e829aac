"""Where the file integrations read and write: a folder on this server or an S3 bucket.

`config["location"]` is "folder" (the default) or "s3". For a bucket, the endpoint URL an admin
typed goes through the outgoing-address policy (app/connectors/egress.py; refused unless
OUTGOING_ALLOW_PRIVATE) when saved, again each time a client is built and before each request, and
the keys are decrypted from the integration's credentials only here. A folder goes through
app/path_policy.py when saved and again each time it is used.
"""

from __future__ import annotations

import requests

from app.connectors.file_drop import DropSource, FolderError, FolderSource, FolderTarget
from app.connectors.http import UnsafeURLError, check_url
from app.connectors.s3_bucket import BucketError, BucketSettings, S3DropSource, S3Target
from app.models.integration import Integration
from app.path_policy import UnsafePathError
from app.services.integrations import registry
from app.services.integrations.settings import LOCATIONS, allow_private, check_folder

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
        allow_private=allow_private(),
    )


def folder(integration: Integration) -> str:
    """The folder's real path, checked again at use: a symlink or the tree may have changed since it
    was saved, and nothing may land in static/ (served publicly), templates/, app/ or instance/."""
    try:
        return str(check_folder(integration.config["folder"]))
    except UnsafePathError as exc:
        raise FolderError(str(exc)) from None


def drop_source(integration: Integration) -> DropSource:
    """The CSV drop integration's source (BucketError / FolderError for a refused endpoint or folder)."""
    if is_s3(integration):
        return S3DropSource(bucket_settings(integration))
    return FolderSource(folder(integration))


def export_target(integration: Integration) -> FolderTarget | S3Target:
    """The PDF export integration's destination (BucketError / FolderError for a refused place)."""
    if is_s3(integration):
        return S3Target(bucket_settings(integration))
    return FolderTarget(folder(integration))
