"""Where generated PDFs, uploaded template images and ZIP exports live.

Two backends behind one small interface (:class:`Storage`): the local filesystem (default, under
``instance/files``) and any S3-compatible service (AWS, MinIO, Ceph...). Keys are relative,
slash-separated names such as ``certificates/12/LAU-2026-000012-v1.pdf``.

The backends themselves take plain values; :func:`get_storage` builds the one the app's
configuration asks for (``STORAGE_BACKEND``, ``S3_*``, see app/config.py) once per app.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
from pathlib import Path
from typing import Any, Protocol

from app.path_policy import UnsafePathError, check_folder

__all__ = ["LocalStorage", "S3Storage", "Storage", "StorageError", "get_storage"]

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")



def write_atomically(target: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder and rename it into place, so a reader never
    sees half a file. OSError from creating the temporary file is the caller's to word."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

class StorageError(Exception):
    """A storage operation failed (missing object, unreachable backend, bad key)."""


def check_key(key: str) -> str:
    """Keys are relative paths of safe characters: no '..', no leading '/', no backslashes."""
    if not key or len(key) > 200 or not _KEY_RE.match(key) or ".." in key.split("/"):
        raise StorageError(f"invalid storage key {key!r}")
    return key


class Storage(Protocol):
    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...
    def read(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def url(self, key: str, expires: int = 300, filename: str | None = None) -> str | None: ...


class LocalStorage:
    """Files under ``root``. Writes are atomic (temp file + rename), so readers never see half a PDF."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, data)

    def read(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise StorageError(f"no such file: {key}") from None

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def url(self, key: str, expires: int = 300, filename: str | None = None) -> str | None:
        return None  # served by the app itself


class S3Storage:
    """An S3 bucket through boto3; ``url`` gives presigned GET links."""

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, access_key_id: str | None = None,
                 secret_access_key: str | None = None, region: str | None = None,
                 prefix: str = "") -> None:
        import boto3  # late: only deployments that use S3 pay for importing it
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client: Any = boto3.client(
            "s3", endpoint_url=endpoint_url, aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key, region_name=region,
            config=Config(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"},
                          connect_timeout=5, read_timeout=30),
        )

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data,
                                   ContentType=content_type)
        except Exception as exc:  # botocore raises many kinds; callers only need one
            raise StorageError(f"S3 put {key}: {exc}") from exc

    def read(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except Exception as exc:
            raise StorageError(f"S3 read {key}: {exc}") from exc

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            raise StorageError(f"S3 delete {key}: {exc}") from exc

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StorageError(f"S3 head {key}: {exc}") from exc
        return True

    def url(self, key: str, expires: int = 300, filename: str | None = None) -> str | None:
        params: dict[str, str] = {"Bucket": self.bucket, "Key": self._key(key)}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)


def build_storage(config: dict, instance_path: str | Path) -> Storage:
    """The backend a configuration asks for (no caching)."""
    if config.get("STORAGE_BACKEND", "local") == "s3":
        return S3Storage(config["S3_BUCKET"], endpoint_url=config.get("S3_ENDPOINT_URL"),
                         access_key_id=config.get("S3_ACCESS_KEY_ID"),
                         secret_access_key=config.get("S3_SECRET_ACCESS_KEY"),
                         region=config.get("S3_REGION"), prefix=config.get("S3_PREFIX") or "")
    default = Path(instance_path) / "files"
    root = config.get("STORAGE_ROOT") or default
    try:
        # Checked at start-up (app/config.py) and again here: a symlink may have been re-pointed, and
        # a root under static/ would serve every private PDF at /static/...
        check_folder(root, instance_path, label="STORAGE_ROOT", allow=default)
    except UnsafePathError as exc:
        raise StorageError(str(exc)) from None
    return LocalStorage(root)


def place(config: dict, instance_path: str | Path) -> str:
    """Where this process keeps files, as one comparable string: processes that must read each other's
    PDFs need the same place. A local folder is a place only on its own host; a bucket is one anywhere."""
    if config.get("STORAGE_BACKEND", "local") == "s3":
        endpoint = config.get("S3_ENDPOINT_URL") or "aws"
        return f"s3:{endpoint}/{config['S3_BUCKET']}/{config.get('S3_PREFIX') or ''}"
    root = Path(config.get("STORAGE_ROOT") or Path(instance_path) / "files").resolve()
    return f"local:{socket.gethostname()}:{root}"


def get_storage() -> Storage:
    """The current app's storage backend, built once per app (and per process)."""
    from flask import current_app

    # Per process: a boto3 client's connection pool must not be shared with forked work horses.
    cached = current_app.extensions.get("laurel_storage")
    if cached is None or cached[0] != os.getpid():
        cached = (os.getpid(), build_storage(current_app.config, current_app.instance_path))
        current_app.extensions["laurel_storage"] = cached
    return cached[1]
