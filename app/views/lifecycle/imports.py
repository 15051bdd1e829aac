"""CSV import: upload -> preview (every bad row, nothing applied) -> confirm -> applied in one transaction.

Between preview and confirm the file waits in instance/imports/<user id>_<random>.csv: only its
uploader can confirm it, and the name is checked before any path is built.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.services.lifecycle import imports
from app.views.lifecycle import bp
from app.views.lifecycle.forms import ImportUploadForm
from app.web.auth import admin_required
from app.web.forms import attempt

MAX_BYTES = 5 * 1024 * 1024
KEEP_SECONDS = 24 * 3600
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,40}$")


def _folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _path(token: str) -> Path | None:
    if not TOKEN_RE.match(token or ""):
        return None
    path = _folder() / f"{current_user.id}_{token}.csv"
    return path if path.is_file() else None


def _store(data: bytes) -> str:
    folder, now = _folder(), time.time()
    for old in folder.glob("*.csv"):  # uploads never confirmed: drop them after a day
        if now - old.stat().st_mtime > KEEP_SECONDS:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    (folder / f"{current_user.id}_{token}.csv").write_bytes(data)
    return token


@bp.get("/import")
@admin_required
def import_csv():
    return render_template("lifecycle/import.html", form=ImportUploadForm(), columns=imports.COLUMNS)


@bp.post("/import")
@admin_required
def preview_import():
    form = ImportUploadForm()
    if form.validate_on_submit():
        data = form.file.data.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            form.file.errors.append("The file is larger than 5 MB: split it.")
        else:
            preview = imports.parse(data)
            token = _store(data) if preview.ok else None
            return render_template("lifecycle/import_preview.html", preview=preview, token=token,
                                   filename=form.file.data.filename), 200 if preview.ok else 422
    return render_template("lifecycle/import.html", form=form, columns=imports.COLUMNS), 422


@bp.post("/import/confirm")
@admin_required
def confirm_import():
    path = _path(request.form.get("token", ""))
    if path is None:
        flash("That upload is no longer available: upload the file again.", "warning")
        return redirect(url_for("lifecycle.import_csv"))
    preview = imports.parse(path.read_bytes())
    done = attempt(lambda: imports.apply(preview, actor=current_user),
                   answer=lambda result: render_template("lifecycle/import_done.html", result=result,
                                                         rows=len(preview.rows)))
    if not done:  # the data changed since the preview (e.g. a course was deleted)
        return render_template("lifecycle/import_preview.html", preview=preview, token=None,
                               filename="the uploaded file"), 422
    path.unlink(missing_ok=True)
    return done.value


@bp.get("/import/sample.csv")
@admin_required
def import_sample():
    return Response(imports.SAMPLE_CSV, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=laurel-import-sample.csv"})
