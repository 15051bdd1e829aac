"""Issue #11 item 5: configurable local folders never point into the application, static/ (served at
/static/), templates/ or instance/ - by name, by "..", or through a symlink - checked when saved and
again when used.

Places: the PDF export folder, the CSV drop folder, STORAGE_ROOT (SQL_IMPORT_DIR: test_sql_source_files).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.config import ConfigError, load_config
from app.connectors.file_drop import FolderError
from app.documents.storage import LocalStorage, StorageError, build_storage
from app.extensions import db
from app.path_policy import CODE_TREE
from app.services.accounts import tokens
from app.services.errors import ValidationError
from app.services.integrations import locations, pdf_exports, registry, syncs

KINDS = ["pdf_export", "file_drop"]


def _forbidden(app, tmp_path: Path) -> list[str]:
    link = tmp_path / "innocent"
    link.symlink_to(CODE_TREE / "static")
    return [
        str(CODE_TREE / "static"),
        f"{CODE_TREE}/static/../static/certs",
        os.path.relpath(CODE_TREE / "static"),  # relative to the working directory
        str(link),  # a symlink into static/
        str(link / "sub"),
        str(CODE_TREE / "templates"),
        str(CODE_TREE / "app"),
        str(CODE_TREE),
        str(CODE_TREE / "migrations"),  # anywhere in the code tree
        app.instance_path,
        str(Path(app.instance_path) / "files"),
    ]


def _fields(kind: str, folder: str) -> dict:
    return {"name": "Folder", "location": "folder", "folder": folder}


@pytest.mark.parametrize("kind", KINDS)
def test_folder_inside_the_application_is_refused_when_saved(app, tmp_path, kind):
    for folder in _forbidden(app, tmp_path):
        with pytest.raises(ValidationError) as caught:
            registry.create(kind, _fields(kind, folder), actor="test")
        assert "outside the application" in caught.value.errors["folder"], folder
        db.session.rollback()
    assert db.session.scalars(registry.integration_query()).all() == []


@pytest.mark.parametrize("kind", KINDS)
def test_folder_is_refused_on_update_too(tmp_path, kind):
    (tmp_path / "ok").mkdir()
    integration, _ = registry.create(kind, _fields(kind, str(tmp_path / "ok")), actor="test")
    db.session.commit()
    with pytest.raises(ValidationError):
        registry.update(integration, {"folder": str(CODE_TREE / "static")}, actor="test")
    db.session.rollback()
    assert registry.get(integration.id).config["folder"] == str(tmp_path / "ok")


@pytest.mark.parametrize("kind", KINDS)
def test_api_answers_422_for_a_folder_in_static(client, admin, kind):
    _, secret = tokens.create_token(admin, "test")
    db.session.commit()
    auth = {"Authorization": f"Bearer {secret}"}
    answer = client.post("/api/v1/integrations", headers=auth,
                         json={"type": kind, **_fields(kind, f"{CODE_TREE}/app/../static")})
    assert answer.status_code == 422
    assert "static/" in answer.get_json()["errors"]["folder"]


def test_console_form_re_renders_with_the_error(admin, login_as):
    client = login_as(admin)
    answer = client.post("/integrations/new/pdf_export", data={
        "csrf_token": client.csrf_token, "name": "PDFs", "location": "folder",
        "folder": str(CODE_TREE / "templates")})
    assert answer.status_code == 422 and "templates/" in answer.get_data(as_text=True)
    assert db.session.scalars(registry.integration_query()).all() == []


@pytest.mark.parametrize("kind", KINDS)
def test_folder_re_pointed_after_saving_is_refused_when_used(tmp_path, kind):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "exports"
    link.symlink_to(real)
    integration, _ = registry.create(kind, _fields(kind, str(link)), actor="test")
    db.session.commit()
    assert (pdf_exports.test(integration) if kind == "pdf_export" else syncs.test(integration))["ok"]
    link.unlink()
    link.symlink_to(CODE_TREE / "static")  # re-pointed into the web root
    before = sorted(p.name for p in (CODE_TREE / "static").iterdir())
    result = pdf_exports.test(integration) if kind == "pdf_export" else syncs.test(integration)
    assert not result["ok"] and "static/" in result["error"]
    with pytest.raises(FolderError):
        (locations.export_target if kind == "pdf_export" else locations.drop_source)(integration)
    assert sorted(p.name for p in (CODE_TREE / "static").iterdir()) == before


def test_sync_run_of_a_re_pointed_drop_folder_fails_cleanly(tmp_path, jobs):
    from sqlalchemy import select

    from app.models.integration import SyncRun

    link = tmp_path / "drop"
    link.symlink_to(tmp_path)
    integration, _ = registry.create("file_drop", _fields("file_drop", str(link)), actor="test")
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    link.unlink()
    link.symlink_to(CODE_TREE / "templates")
    syncs.enqueue(integration, "manual")
    db.session.commit()
    jobs()
    run = db.session.scalars(select(SyncRun)).one()
    assert run.status == "failed" and "templates/" in run.message
    assert not (CODE_TREE / "templates" / "done").exists()


# --------------------------------------------------------------------------- STORAGE_ROOT


def test_storage_root_is_checked_at_start_up(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    for root in (CODE_TREE / "static", CODE_TREE / "templates", CODE_TREE / "app", instance,
                 instance / "other", f"{CODE_TREE}/static/../static"):
        with pytest.raises(ConfigError, match="STORAGE_ROOT"):
            load_config(instance, {"STORAGE_ROOT": str(root)})
    # The default place (instance/files) and anything outside stay allowed.
    assert load_config(instance, {"STORAGE_ROOT": str(instance / "files")})["STORAGE_ROOT"]
    assert load_config(instance, {"STORAGE_ROOT": str(tmp_path / "files")})["STORAGE_ROOT"]


def test_storage_root_is_checked_again_when_the_storage_is_built(tmp_path):
    instance = tmp_path / "instance"
    link = tmp_path / "files"
    link.symlink_to(tmp_path)
    config = load_config(instance, {"STORAGE_ROOT": str(link)})
    assert isinstance(build_storage(config, instance), LocalStorage)
    assert isinstance(build_storage(load_config(instance, {}), instance), LocalStorage)  # the default
    link.unlink()
    link.symlink_to(CODE_TREE / "static")
    with pytest.raises(StorageError, match="static/"):
        build_storage(config, instance)


# --------------------------------------------------------------------------- links inside the drop folder


def test_drop_folder_done_link_into_static_is_refused(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "done").symlink_to(CODE_TREE / "static")  # moved files would be served publicly
    (drop / "a.csv").write_text("email,course_code\n")
    os.utime(drop / "a.csv", (1, 1))
    integration, _ = registry.create("file_drop", _fields("file_drop", str(drop)), actor="test")
    db.session.commit()
    result = syncs.test(integration)
    assert not result["ok"] and "not a link" in result["error"]
    assert not (CODE_TREE / "static" / "a.csv").exists()


def test_drop_folder_skips_linked_csv_files(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    secret = tmp_path / "private.txt"  # any file on the server, e.g. instance/secret_key
    secret.write_text("email,course_code\ns3cr3t,FA-101\n")
    os.utime(secret, (1, 1))
    (drop / "key.csv").symlink_to(secret)  # would be read and quoted back in failed/key.csv.errors.txt
    integration, _ = registry.create("file_drop", _fields("file_drop", str(drop)), actor="test")
    db.session.commit()
    result = syncs.test(integration)
    assert result["ok"] and result["files"] == []


# --------------------------------------------------------------------------- LAUREL_INSTANCE_PATH


def test_instance_folder_may_not_be_in_static_templates_or_app(tmp_path):
    link = tmp_path / "instance"
    link.symlink_to(CODE_TREE / "static")
    inside = (CODE_TREE / "static" / "instance", CODE_TREE / "templates" / "i", CODE_TREE / "app" / "i")
    for instance in (*inside, link):
        with pytest.raises(ConfigError, match="LAUREL_INSTANCE_PATH"):
            load_config(instance, {"SECRET_KEY": "x" * 32})
        assert not (CODE_TREE / "static" / "instance").exists()
    assert load_config(CODE_TREE / "instance", {"SECRET_KEY": "x" * 32})  # the default stays fine
