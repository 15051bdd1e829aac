"""The CSV drop integration reading from an S3 bucket: a real S3-compatible server (moto) on loopback."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select, text

from app.connectors.s3_bucket import BucketError
from app.extensions import db
from app.models import Certificate, User
from app.services.errors import ValidationError
from app.services.integrations import locations, registry, syncs
from tests.support import s3
from tests.support.syncs import run_sync

GOOD = (
    "email,name,course_code,status,score,completed_at\n"
    "dee@example.com,Dee Drop,FA-101,completed,80,2026-02-01\n"
)
BAD = "email,name,course_code\nnot-an-email,X,FA-101\neve@example.com,Eve,NOPE\n"


def put(endpoint: str, bucket: str, key: str, body: str) -> None:
    s3.client(endpoint).put_object(Bucket=bucket, Key=key, Body=body.encode())


def keys(endpoint: str, bucket: str) -> set[str]:
    found = s3.client(endpoint).list_objects_v2(Bucket=bucket).get("Contents", [])
    return {obj["Key"] for obj in found}


def body(endpoint: str, bucket: str, key: str) -> str:
    return s3.client(endpoint).get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def make_drop(endpoint: str, bucket: str, *, settle: str = "0", key_id: str = s3.KEY_ID,
              secret: str = s3.SECRET, **fields):
    integration, _ = registry.create(
        "file_drop",
        {"name": "Bucket drop", "location": "s3", "bucket": bucket, "prefix": "incoming/",
         "endpoint_url": endpoint, "region": s3.REGION, "access_key_id": key_id,
         "secret_access_key": secret, "settle_seconds": settle, **fields},
        actor="test",
    )
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    return integration


def test_s3_drop_imports_good_files_and_moves_bad_ones_with_a_report(s3_endpoint, bucket, catalog_one, jobs):
    put(s3_endpoint, bucket, "incoming/good.csv", GOOD)
    put(s3_endpoint, bucket, "incoming/bad.csv", BAD)
    put(s3_endpoint, bucket, "incoming/notes.txt", "ignored")
    put(s3_endpoint, bucket, "incoming/later/nested.csv", GOOD)  # only files directly under the prefix
    put(s3_endpoint, bucket, "elsewhere.csv", GOOD)
    integration = make_drop(s3_endpoint, bucket)

    test = syncs.test(integration)
    assert test["ok"] and "2 CSV file(s) waiting" in test["message"], test
    assert sorted(test["files"]) == ["bad.csv", "good.csv"]

    run = run_sync(integration, jobs)
    assert run.status == "partial" and run.details["files"] == {"done": 1, "failed": 1}  # 2 bad rows
    assert keys(s3_endpoint, bucket) == {
        "incoming/done/good.csv", "incoming/failed/bad.csv", "incoming/failed/bad.csv.errors.txt",
        "incoming/notes.txt", "incoming/later/nested.csv", "elsewhere.csv",
    }
    report = body(s3_endpoint, bucket, "incoming/failed/bad.csv.errors.txt")
    assert "line 2:" in report and "line 3:" in report and "unknown course code 'NOPE'" in report
    dee = db.session.scalar(select(User).where(User.email == "dee@example.com"))
    assert db.session.scalar(select(Certificate).where(Certificate.user_id == dee.id)) is not None
    assert db.session.scalar(select(User.id).where(User.email == "eve@example.com")) is None
    assert run_sync(integration, jobs).message == "0 file(s) processed"


def test_s3_drop_never_overwrites_in_done(s3_endpoint, bucket, catalog_one, jobs):
    put(s3_endpoint, bucket, "incoming/done/good.csv", "an earlier file of the same name")
    put(s3_endpoint, bucket, "incoming/good.csv", GOOD)
    integration = make_drop(s3_endpoint, bucket)
    assert run_sync(integration, jobs).details["files"] == {"done": 1}
    done = sorted(k for k in keys(s3_endpoint, bucket) if k.startswith("incoming/done/"))
    assert len(done) == 2 and "incoming/good.csv" not in keys(s3_endpoint, bucket)
    assert body(s3_endpoint, bucket, "incoming/done/good.csv") == "an earlier file of the same name"
    stamped = next(k for k in done if k != "incoming/done/good.csv")
    assert stamped.startswith("incoming/done/good-") and stamped.endswith(".csv")
    assert body(s3_endpoint, bucket, stamped) == GOOD


def test_s3_drop_waits_for_objects_to_settle(s3_endpoint, bucket, catalog_one, jobs):
    put(s3_endpoint, bucket, "incoming/good.csv", GOOD)
    integration = make_drop(s3_endpoint, bucket, settle="3600")
    assert "(1 still settling)" in syncs.test(integration)["message"]
    assert run_sync(integration, jobs).message == "0 file(s) processed"
    assert "incoming/good.csv" in keys(s3_endpoint, bucket)
    registry.update(integration, {"settle_seconds": "0"}, actor="test")
    db.session.commit()
    assert run_sync(integration, jobs).details["files"] == {"done": 1}


def test_s3_drop_explains_credential_and_bucket_problems(s3_endpoint, bucket, catalog_one, jobs):
    name = f"nobody-{uuid.uuid4().hex[:8]}"
    key_id, secret = s3.iam_user(s3_endpoint, name)  # a real key, but no policy: may do nothing
    unknown = make_drop(s3_endpoint, bucket, key_id="AKIAUNKNOWN000000000", secret="wrong-secret-1234")
    wrong_secret = make_drop(s3_endpoint, bucket, key_id=key_id, secret="wrong-secret-1234")
    denied = make_drop(s3_endpoint, bucket, key_id=key_id, secret=secret)
    with s3.enforce_auth(s3_endpoint):
        assert syncs.test(unknown) == {
            "ok": False, "error": "The access key id is not known to the storage service: check the key."}
        assert "secret access key does not match" in syncs.test(wrong_secret)["error"]
        assert syncs.test(denied)["error"] == (
            f"Access denied to the bucket {bucket}: the key is not allowed to list the files.")
        run = run_sync(unknown, jobs)
    assert run.status == "failed" and "access key id is not known" in run.message
    db.session.refresh(unknown)
    assert unknown.status == "failing" and "access key id is not known" in unknown.last_error
    missing = make_drop(s3_endpoint, "no-such-bucket-here")
    assert syncs.test(missing)["error"] == "The bucket no-such-bucket-here does not exist."


def test_s3_keys_are_encrypted_and_shown_masked(s3_endpoint, bucket):
    integration = make_drop(s3_endpoint, bucket, key_id="AKIAEXAMPLEKEY123456", secret="s3cr3t-value-abcd")
    raw = db.session.execute(text("SELECT credentials_encrypted, config FROM integrations")).one()
    assert "s3cr3t-value" not in raw[0] and "AKIAEXAMPLE" not in raw[0]
    assert "s3cr3t" not in json.dumps(raw[1], default=str)
    shown = registry.integration_data(integration)["credentials"]
    assert shown == {"access_key_id": "••••3456", "secret_access_key": "••••abcd"}
    registry.update(integration, {"bucket": bucket, "secret_access_key": ""}, actor="test")  # blank keeps
    assert registry.credentials(integration)["secret_access_key"] == "s3cr3t-value-abcd"


def test_s3_settings_are_validated(app, s3_endpoint, monkeypatch):
    with pytest.raises(ValidationError) as caught:
        registry.create("file_drop", {"name": "x", "location": "s3", "bucket": "Bad_Name"}, actor="test")
    assert set(caught.value.errors) == {"bucket", "access_key_id", "secret_access_key"}
    # The endpoint is an admin-supplied URL like a webhook's: loopback/private refused by default.
    monkeypatch.setitem(app.config, "OUTGOING_ALLOW_PRIVATE", False)
    with pytest.raises(ValidationError) as caught:
        registry.create("file_drop", {"name": "x", "location": "s3", "bucket": "laurel-drop",
                                          "endpoint_url": s3_endpoint, "access_key_id": "k",
                                          "secret_access_key": "s"}, actor="test")
    assert "non-public address" in caught.value.errors["endpoint_url"]
    for url in ("http://169.254.169.254/", "http://10.0.0.1:9000", "file:///etc/passwd"):
        with pytest.raises(BucketError, match="not allowed"):
            locations.check_endpoint(url)
    with pytest.raises(ValidationError, match="folder"):
        registry.create("file_drop", {"name": "x", "location": "folder"}, actor="test")


def test_s3_drop_sends_an_oversized_file_to_failed_unread(s3_endpoint, bucket, catalog_one, jobs,
                                                           monkeypatch):
    from app.connectors import file_drop

    monkeypatch.setattr(file_drop, "MAX_FILE_BYTES", 20)
    put(s3_endpoint, bucket, "incoming/big.csv", GOOD)
    integration = make_drop(s3_endpoint, bucket)
    run = run_sync(integration, jobs)
    assert run.status == "partial" and run.details["files"] == {"failed": 1}
    assert "larger than" in body(s3_endpoint, bucket, "incoming/failed/big.csv.errors.txt")
    assert db.session.scalar(select(User.id).where(User.email == "dee@example.com")) is None


def test_console_creates_an_s3_drop_and_shows_only_masked_keys(s3_endpoint, bucket, admin, login_as):
    client = login_as(admin)
    form = client.get("/integrations/new/file_drop").get_data(as_text=True)
    assert "An S3 bucket" in form and "Secret access key" in form
    response = client.post("/integrations/new/file_drop", data={
        "csrf_token": client.csrf_token, "name": "Bucket drop", "location": "s3", "bucket": bucket,
        "prefix": "in/", "endpoint_url": s3_endpoint, "region": s3.REGION,
        "access_key_id": "AKIAEXAMPLEKEY123456", "secret_access_key": "s3cr3t-value-abcd",
        "settle_seconds": "5"})
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    integration = db.session.scalars(registry.integration_query("file_drop")).one()
    page = client.get(f"/integrations/{integration.id}").get_data(as_text=True)
    assert "••••abcd" in page and "s3cr3t" not in page and bucket in page
    edit = client.get(f"/integrations/{integration.id}/edit").get_data(as_text=True)
    assert "Stored: ••••abcd" in edit and "s3cr3t" not in edit
    result = client.post(f"/integrations/{integration.id}/test", data={"csrf_token": client.csrf_token})
    assert "It works." in result.get_data(as_text=True)
