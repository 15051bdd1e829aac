"""Certificate templates (admin): list, create, edit with a live preview, images, assignment.

PDF downloads, regenerate and ZIP exports are in :mod:`app.views.documents.pdfs` (same blueprint).
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets

from flask import Response, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from app.documents import FONTS_DIR, PLACEHOLDERS, RenderError, default_template, sample_context
from app.documents.design_schema import PAGE_MM, page_mm
from app.documents.designs import STARTERS
from app.documents.fitting import FONTS
from app.documents.layout import element_text
from app.documents.storage import StorageError, get_storage
from app.extensions import db
from app.models.template import CertificateTemplate, TemplateAsset
from app.queue import get_redis
from app.services.documents import designer, designer_layout, rendering
from app.services.errors import ValidationError
from app.services.numbers import MAX_ID, whole_number
from app.views.documents import bp
from app.views.documents.forms import AssetForm, StartForm, TemplateForm
from app.web import nav
from app.web.auth import admin_required
from app.web.forms import attempt, submit

nav.add("documents.templates", "Templates", nav.ADMIN, prefix="documents.template", order=70)

PREVIEW_TTL = 300
BLANK_HTML = "<html><head></head><body>\n<h1>{{ holder_name }}</h1>\n</body></html>\n"


def _form_values(form: TemplateForm) -> dict:
    values = {name: getattr(form, name).data for name in ("name", "html", "css", "page_size", "orientation",
                                                          "is_default", "design")}
    # Which save button: the designer's ("design") or the code editor's ("code", detaching the design).
    values["mode"] = "design" if request.form.get("mode") == "design" else "code"
    return values


def _template_or_404(template_id: int) -> CertificateTemplate:
    return db.get_or_404(CertificateTemplate, template_id)


@bp.get("/admin/templates")
@admin_required
def templates():
    return render_template("documents/templates.html", templates=designer.list_templates(),
                           usage=designer.usage_counts())


@bp.route("/admin/templates/new", methods=["GET", "POST"])
@admin_required
def template_new():
    """The chooser (built-in designs, or code); ?code=1 or ?blank=1 opens the plain code form."""
    if request.method == "GET" and not (request.args.get("blank") or request.args.get("code")):
        return render_template("documents/template_new.html", starters=STARTERS)
    form = TemplateForm()
    if request.method == "GET":
        form.html.data, form.css.data = default_template()
        if request.args.get("blank"):
            form.html.data, form.css.data = BLANK_HTML, ""
    done = submit(form, lambda: designer.create_template(_form_values(form), actor=current_user))
    if done:
        flash(f"Template “{done.value.name}” saved. Add images and assign it to certifications.", "success")
        return redirect(url_for("documents.template_edit", template_id=done.value.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("documents/template_form.html", form=form, template=None,
                           placeholders=PLACEHOLDERS, asset_form=None, **_designer_page(None)), status


@bp.post("/admin/templates/start")
@admin_required
def template_start():
    """Create a template from a built-in design (or the code template) at once, so images can be
    uploaded before anything else is saved; the admin lands in the editor."""
    form = StartForm()
    done = submit(form, lambda: designer_layout.create_from_starter(form.start.data, actor=current_user))
    if not done:
        flash(" ".join(e for errors in form.errors.values() for e in errors) or "Choose a design.", "danger")
        return redirect(url_for("documents.template_new"))
    flash(f"Template “{done.value.name}” created: rename it, change the design, add your logo.", "success")
    return redirect(url_for("documents.template_edit", template_id=done.value.id))


@bp.get("/admin/templates/starters/<key>.png")
@admin_required
def starter_image(key: str):
    if key not in STARTERS:
        abort(404)
    png = _starter_png(key)
    if png is None:
        abort(404)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"})


_STARTER_PNGS: dict[str, bytes | None] = {}


def _starter_png(key: str) -> bytes | None:
    # The built-in designs never change while the process runs: render each thumbnail once.
    if key not in _STARTER_PNGS:
        pdf, _ = designer_layout.preview_design(
            {"design": json.dumps(designer_layout.starter(key)), "page_size": "A4",
             "orientation": "landscape"}, None)
        _STARTER_PNGS[key] = designer.preview_png(pdf, width=480)
    return _STARTER_PNGS[key]


#: The bundled faces the canvas loads (FontFace API), so text on the canvas has the PDF's widths.
CANVAS_FONTS = {"DejaVuSans": ("DejaVu Sans", "normal"), "DejaVuSans-Bold": ("DejaVu Sans", "bold"),
                "DejaVuSerif": ("DejaVu Serif", "normal"), "DejaVuSerif-Bold": ("DejaVu Serif", "bold")}


@bp.get("/admin/templates/fonts/<name>.ttf")
@admin_required
def designer_font(name: str):
    if name not in CANVAS_FONTS:
        abort(404)
    return send_file(FONTS_DIR / f"{name}.ttf", mimetype="font/ttf", max_age=86400)


def _designer_page(template: CertificateTemplate | None) -> dict:
    """What the canvas needs: the design (None for code templates), starters, tokens, sample values."""
    sample = sample_context()
    samples = {name: element_text("{" + name + "}", sample) for name in designer_layout.tokens()}
    assets = {a.role: url_for("documents.asset_image", asset_id=a.id)
              for a in (template.assets if template else [])}
    return {"starters_json": designer_layout.starters_json(),
            "designer_json": json.dumps({"tokens": designer_layout.tokens(), "samples": samples,
                                         "assets": assets, "fonts": list(FONTS),
                                         "faces": [{"family": family, "weight": weight,
                                                    "url": url_for("documents.designer_font", name=name)}
                                                   for name, (family, weight) in CANVAS_FONTS.items()],
                                         "pages": {k: page_mm(k, "portrait") for k in PAGE_MM}}),
            "starters": STARTERS}


@bp.route("/admin/templates/<id:template_id>", methods=["GET", "POST"])
@admin_required
def template_edit(template_id: int):
    template = _template_or_404(template_id)
    form = TemplateForm(obj=template)
    done = submit(form, lambda: designer.update_template(template, _form_values(form), actor=current_user))
    if done:
        flash("Template saved." if done.value else "No changes.", "success" if done.value else "info")
        too_small = designer_layout.check_overflow(designer_layout.elements_of(template) or [])
        if too_small:  # saved all the same: the admin may accept a smaller or wrapped name
            flash(f"{len(too_small)} text box(es) are too small for long names: " + " ".join(
                w["message"] for w in too_small[:3]), "warning")
        return redirect(url_for("documents.template_edit", template_id=template.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("documents/template_form.html", form=form, template=template,
                           placeholders=PLACEHOLDERS, asset_form=AssetForm(),
                           renderer=rendering.renderer_of(rendering.design_of(template)),
                           **_designer_page(template)), status


@bp.post("/admin/templates/<id:template_id>/delete")
@admin_required
def template_delete(template_id: int):
    template = _template_or_404(template_id)
    done = attempt(lambda: designer.delete_template(template, actor=current_user))
    if not done:
        flash(done.refusal, "danger")
        return redirect(url_for("documents.template_edit", template_id=template_id))
    flash("Template deleted; its certifications use the default template now.", "success")
    return redirect(url_for("documents.templates"))


@bp.post("/admin/templates/preview")
@admin_required
def template_preview():
    """htmx: render the editor's current contents with sample data; page 1 as an image."""
    template = db.session.get(CertificateTemplate, _template_id())
    try:
        pdf = designer.preview_pdf(request.form.to_dict(), template)
    except ValidationError as exc:
        return render_template("documents/_preview.html", errors=list(exc.errors.values())), 422
    except RenderError as exc:
        return render_template("documents/_preview.html", errors=[str(exc)]), 422
    png = designer.preview_png(pdf)
    token = secrets.token_urlsafe(16)
    get_redis().setex(f"laurel:preview:{token}", PREVIEW_TTL, pdf)
    image = "data:image/png;base64," + base64.b64encode(png).decode("ascii") if png else None
    return render_template("documents/_preview.html", errors=[], image=image,
                           pdf_url=url_for("documents.template_preview_pdf", token=token))


@bp.post("/admin/templates/design-preview")
@admin_required
def design_preview():
    """fetch from the designer: the unsaved design rendered with sample data (PNG of page 1), and
    the text boxes the longest real names would overflow. 422 with the reason for a bad design."""
    template = db.session.get(CertificateTemplate, _template_id())
    try:
        pdf, warnings = designer_layout.preview_design(request.form.to_dict(), template)
    except ValidationError as exc:
        return jsonify(error=" ".join(exc.errors.values())), 422
    except RenderError as exc:
        return jsonify(error=f"The design cannot be rendered: {exc}"), 422
    png = designer.preview_png(pdf)
    token = secrets.token_urlsafe(16)
    get_redis().setex(f"laurel:preview:{token}", PREVIEW_TTL, pdf)
    image = "data:image/png;base64," + base64.b64encode(png).decode("ascii") if png else None
    return jsonify(image=image, warnings=warnings,
                   pdf_url=url_for("documents.template_preview_pdf", token=token))


@bp.get("/admin/templates/preview/<token>.pdf")
@admin_required
def template_preview_pdf(token: str):
    pdf = get_redis().get(f"laurel:preview:{token}")
    if pdf is None:
        abort(404)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": "inline; filename=preview.pdf", "Cache-Control": "no-store"})


@bp.post("/admin/templates/<id:template_id>/assets")
@admin_required
def asset_upload(template_id: int):
    template = _template_or_404(template_id)
    form = AssetForm()
    upload = form.file.data
    done = submit(form, lambda: designer.upload_asset(template, form.role.data, upload.filename or "",
                                                      upload.read(), actor=current_user))
    if done:
        flash(f"{form.role.data.title()} image saved.", "success")
    else:
        flash(" ".join(e for errors in form.errors.values() for e in errors), "danger")
    return redirect(url_for("documents.template_edit", template_id=template_id) + "#images")


@bp.post("/admin/templates/assets/<id:asset_id>/delete")
@admin_required
def asset_delete(asset_id: int):
    asset = db.get_or_404(TemplateAsset, asset_id)
    template_id, key = asset.template_id, asset.storage_key
    designer.delete_asset(asset, actor=current_user)
    db.session.commit()
    with contextlib.suppress(StorageError):  # an orphaned image file harms nobody; the row is gone
        get_storage().delete(key)
    flash("Image removed.", "success")
    return redirect(url_for("documents.template_edit", template_id=template_id) + "#images")


@bp.get("/admin/templates/assets/<id:asset_id>")
@admin_required
def asset_image(asset_id: int):
    asset = db.get_or_404(TemplateAsset, asset_id)
    try:
        data = get_storage().read(asset.storage_key)
    except StorageError:
        abort(404)
    return Response(data, mimetype=asset.content_type, headers={"Cache-Control": "private, max-age=3600"})


def _template_id() -> int:
    """The previewed template's id, or 0 (none: a new template) when absent or not an id."""
    return whole_number(request.form.get("template_id", ""), minimum=1, maximum=MAX_ID) or 0
