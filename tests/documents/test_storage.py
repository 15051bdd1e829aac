"""Storage backends: the local filesystem, and S3 against a real S3-compatible server on loopback."""

from __future__ import annotations

import urllib.request

import pytest

from app.config import ConfigError, load_config
from app.documents.storage import LocalStorage, S3Storage, StorageError, build_storage, get_storage
from tests.support import s3
from tests.support.s3 import moto_server


def test_local_storage_roundtrip(tmp_path):
    storage = LocalStorage(tmp_path / "files")
    assert not storage.exists("certificates/1/a.pdf")
    storage.put("certificates/1/a.pdf", b"%PDF-1", "application/pdf")
    assert storage.exists("certificates/1/a.pdf")
    assert storage.read("certificates/1/a.pdf") == b"%PDF-1"
    storage.put("certificates/1/a.pdf", b"%PDF-2")
    assert storage.read("certificates/1/a.pdf") == b"%PDF-2"
    folder = tmp_path / "files" / "certificates" / "1"
    assert [p.name for p in folder.iterdir()] == ["a.pdf"]  # no temp file left behind
    assert storage.url("certificates/1/a.pdf") is None
    storage.delete("certificates/1/a.pdf")
    storage.delete("certificates/1/a.pdf")  # idempotent
    assert not storage.exists("certificates/1/a.pdf")
    with pytest.raises(StorageError):
        storage.read("certificates/1/a.pdf")


@pytest.mark.parametrize("key", ["../etc/passwd", "/etc/passwd", "a/../../b", "a\\b", "", "a//b", ".hidden"])
def test_unsafe_keys_refused(tmp_path, key):
    with pytest.raises(StorageError):
        LocalStorage(tmp_path).put(key, b"x")


@pytest.fixture(scope="module")
def s3_server():
    with moto_server() as endpoint:
        s3.client(endpoint).create_bucket(Bucket="laurel-test")
        yield endpoint


def test_s3_storage_roundtrip_and_presigned_url(s3_server):
    storage = S3Storage("laurel-test", endpoint_url=s3_server, access_key_id="test", secret_access_key="test",
                        region="us-east-1", prefix="laurel")
    key = "certificates/7/LAU-2026-000007-v1.pdf"
    assert not storage.exists(key)
    storage.put(key, b"%PDF-s3", "application/pdf")
    assert storage.exists(key)
    assert storage.read(key) == b"%PDF-s3"
    url = storage.url(key, expires=60, filename="LAU-2026-000007.pdf")
    assert url.startswith(s3_server) and "X-Amz-Signature" in url and "/laurel/certificates/7/" in url
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback test server)
        assert response.read() == b"%PDF-s3"
        assert "LAU-2026-000007.pdf" in response.headers["Content-Disposition"]
    storage.delete(key)
    assert not storage.exists(key)
    with pytest.raises(StorageError):
        storage.read(key)


def test_whole_pipeline_on_s3(app, s3_server, learner, issue, jobs, smtp_server, login_as):
    """Rendered PDFs go to the bucket; downloads redirect to a presigned URL; mail attaches from S3."""
    from app.extensions import db
    from app.models import Certificate

    app.config.update(STORAGE_BACKEND="s3", S3_BUCKET="laurel-test", S3_ENDPOINT_URL=s3_server,
                      S3_ACCESS_KEY_ID="test", S3_SECRET_ACCESS_KEY="test", S3_REGION="us-east-1")
    app.extensions.pop("laurel_storage", None)
    assert isinstance(get_storage(), S3Storage)
    cert = issue(learner)
    jobs()
    db.session.expire_all()
    cert = db.session.get(Certificate, cert.id)
    assert cert.pdf_status == "ready"
    assert get_storage().read(cert.pdf_key).startswith(b"%PDF")
    response = login_as(learner).get(f"/certificates/{cert.id}/pdf")
    assert response.status_code == 302 and response.headers["Location"].startswith(s3_server)
    with urllib.request.urlopen(response.headers["Location"], timeout=10) as fetched:  # noqa: S310
        assert fetched.read().startswith(b"%PDF")
    message = smtp_server.wait_for(1)[0]
    attachment = next(message.iter_attachments())
    assert attachment.get_content() == get_storage().read(cert.pdf_key)


def test_storage_settings_validated(tmp_path):
    assert load_config(tmp_path, {})["STORAGE_BACKEND"] == "local"
    with pytest.raises(ConfigError, match="S3_BUCKET"):
        load_config(tmp_path, {"STORAGE_BACKEND": "s3"})
    with pytest.raises(ConfigError, match="STORAGE_BACKEND"):
        load_config(tmp_path, {"STORAGE_BACKEND": "ftp"})
    with pytest.raises(ConfigError, match="S3_ENDPOINT_URL"):
        load_config(tmp_path, {"STORAGE_BACKEND": "s3", "S3_BUCKET": "b", "S3_ENDPOINT_URL": "minio:9000"})
    config = load_config(tmp_path, {"STORAGE_BACKEND": "s3", "S3_BUCKET": "b",
                                    "S3_ENDPOINT_URL": "http://127.0.0.1:9000", "S3_REGION": "eu-west-1"})
    assert isinstance(build_storage(config, tmp_path), S3Storage)
    assert isinstance(build_storage(load_config(tmp_path, {}), tmp_path), LocalStorage)
