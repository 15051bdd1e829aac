"""S3-compatible buckets for the file integrations: the CSV drop source and the PDF export target.

No database and no Flask here: callers pass plain settings (decrypted keys included) and get
:class:`BucketError` with a message an admin can act on ("the bucket does not exist", "access
denied") instead of botocore's exception zoo.

The endpoint URL is checked against the outgoing-address policy (app.connectors.egress) by the
caller (app.services.integrations.locations) before a client is built, and again by the client itself before
every request it sends (a ``before-send`` hook, unless ``allow_private``). boto3 makes its own
connections, so the check cannot be pinned to the connect the way the webhook session does it;
re-checking per request leaves only the resolver's own window (see docs/integrations.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from app.connectors import egress
from app.connectors.file_drop import DONE, FAILED, DropFile, check_size


class BucketError(Exception):
    """The bucket cannot be used (message is for admins)."""


@dataclass(frozen=True)
class BucketSettings:
    bucket: str
    prefix: str = ""
    region: str | None = None
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    allow_private: bool = False  # OUTGOING_ALLOW_PRIVATE, for the endpoint URL

    @property
    def folder(self) -> str:
        """The prefix as a "folder": '' or 'a/b/' (no leading slash, one trailing slash)."""
        clean = self.prefix.strip().strip("/")
        return f"{clean}/" if clean else ""

    def where(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{key}"


def _check_request(request: Any, **_: Any) -> None:
    """before-send hook: the address policy on the host this very request goes to."""
    parts = urlsplit(request.url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        egress.check_host(parts.hostname or "", port, allow_private=False)
    except (egress.AddressRefused, egress.HostUnresolvable) as exc:
        raise BucketError(f"The endpoint URL is not allowed: {exc}") from None


def client(settings: BucketSettings) -> Any:
    import boto3  # late: only deployments that use S3 pay for importing it
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        endpoint_url=settings.endpoint_url or None,
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=settings.secret_access_key,
        region_name=settings.region or None,
        config=Config(
            signature_version="s3v4",
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        ),
    )
    if settings.endpoint_url and not settings.allow_private:
        s3.meta.events.register("before-send.s3", _check_request)
    return s3


_PLAIN = {
    "NoSuchBucket": "The bucket {bucket} does not exist.",
    "AccessDenied": "Access denied to the bucket {bucket}: the key is not allowed to {action}.",
    "AllAccessDisabled": "Access denied to the bucket {bucket}: the key is not allowed to {action}.",
    "InvalidAccessKeyId": "The access key id is not known to the storage service: check the key.",
    "SignatureDoesNotMatch": "The secret access key does not match the access key id.",
    "InvalidBucketName": "{bucket} is not a valid bucket name.",
    "PermanentRedirect": "The bucket {bucket} is in another region: set the region it is in.",
    "AuthorizationHeaderMalformed": "The region does not match the bucket's region.",
}


def explain(exc: Exception, settings: BucketSettings, action: str) -> BucketError:
    """A BucketError in plain words for a botocore error raised while doing ``action``."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in ("403", "Forbidden"):
            code = "AccessDenied"
        if code in ("404", "NotFound") and action == "list the files":
            code = "NoSuchBucket"
        template = _PLAIN.get(code)
        if template:
            return BucketError(template.format(bucket=settings.bucket, action=action))
        detail = f"{code} {error.get('Message', '')}".strip()
        return BucketError(f"The storage service refused to {action}: {detail}")
    if isinstance(exc, NoCredentialsError):
        return BucketError("Enter an access key id and a secret access key.")
    if isinstance(exc, EndpointConnectionError):
        return BucketError(f"Cannot reach the storage service at {settings.endpoint_url or 'AWS'}.")
    if isinstance(exc, BotoCoreError):
        return BucketError(f"Cannot {action}: {exc}")
    return BucketError(f"Cannot {action}: {type(exc).__name__}: {exc}")


def _boto_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


class S3DropSource:
    """CSV objects directly under the prefix; processed ones move to ``<prefix>done/`` or ``failed/``.

    S3 has no rename: a move is copy + delete. A name already taken in the target gets a timestamp
    suffix, so nothing is ever overwritten (the same rule as the folder).
    """

    def __init__(self, settings: BucketSettings) -> None:
        self.settings = settings
        self.client = client(settings)

    def describe(self) -> str:
        return self.settings.where(self.settings.folder)

    def ready(self, settle_seconds: float = 5.0, now: float | None = None) -> list[DropFile]:
        """CSV objects directly under the prefix, oldest first, last modified ``settle_seconds`` ago."""
        current = time.time() if now is None else now
        found: list[tuple[float, str]] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.settings.bucket, Prefix=self.settings.folder, Delimiter="/"
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    modified = obj["LastModified"].timestamp()
                    if obj["Key"].lower().endswith(".csv") and current - modified >= settle_seconds:
                        found.append((modified, obj["Key"]))
        except _boto_errors() as exc:
            raise explain(exc, self.settings, "list the files") from None
        prefix = len(self.settings.folder)
        return [DropFile(name=key[prefix:], ref=key) for _, key in sorted(found)]

    def read(self, item: DropFile) -> bytes:
        try:
            obj = self.client.get_object(Bucket=self.settings.bucket, Key=item.ref)
            check_size(item.name, obj.get("ContentLength", 0))
            return obj["Body"].read()
        except _boto_errors() as exc:
            raise explain(exc, self.settings, "read the files") from None

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.settings.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def _free_key(self, folder: str, name: str) -> str:
        key = f"{folder}{name}"
        if not self._exists(key):
            return key
        stem, dot, suffix = name.rpartition(".")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        return f"{folder}{stem}-{stamp}.{suffix}" if dot else f"{folder}{name}-{stamp}"

    def move(self, item: DropFile, outcome: str, report: str | None = None) -> str:
        """Copy into done/ or failed/ (with ``<name>.errors.txt`` when a report is given), then delete."""
        assert outcome in (DONE, FAILED)
        bucket = self.settings.bucket
        try:
            target = self._free_key(f"{self.settings.folder}{outcome}/", item.name)
            self.client.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": item.ref})
            if report:
                self.client.put_object(
                    Bucket=bucket,
                    Key=f"{target}.errors.txt",
                    Body=report.encode("utf-8"),
                    ContentType="text/plain; charset=utf-8",
                )
            self.client.delete_object(Bucket=bucket, Key=item.ref)
        except _boto_errors() as exc:
            raise explain(exc, self.settings, "move the files") from None
        return self.settings.where(target)


class S3Target:
    """Writes export files under the prefix (``put`` overwrites: a regenerated PDF replaces the old)."""

    def __init__(self, settings: BucketSettings) -> None:
        self.settings = settings
        self.client = client(settings)

    def describe(self) -> str:
        return self.settings.where(self.settings.folder)

    def put(self, name: str, data: bytes, content_type: str) -> str:
        key = f"{self.settings.folder}{name}"
        try:
            self.client.put_object(Bucket=self.settings.bucket, Key=key, Body=data, ContentType=content_type)
        except _boto_errors() as exc:
            raise explain(exc, self.settings, "write files") from None
        return self.settings.where(key)

    def check(self) -> str:
        """Write and remove a small probe object: proves the bucket exists and the key may write."""
        key = f"{self.settings.folder}.laurel-write-test"
        try:
            self.client.put_object(Bucket=self.settings.bucket, Key=key, Body=b"laurel")
        except _boto_errors() as exc:
            raise explain(exc, self.settings, "write files") from None
        try:
            self.client.delete_object(Bucket=self.settings.bucket, Key=key)
        except _boto_errors() as exc:
            raise explain(exc, self.settings, "delete files") from None
        return f"Laurel can write to {self.describe()}."
