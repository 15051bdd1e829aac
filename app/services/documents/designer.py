"""Certificate templates for admins: create, edit, delete, images, assignment, previews.

A template is only saved when :func:`app.documents.validate_template` finds nothing wrong: the
errors (with their line) come back as a ValidationError on the "html" / "css" fields.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, select, update

from app.documents import TemplateError, render_pdf, sample_context, validate_template
from app.documents.storage import StorageError, get_storage
from app.extensions import db
from app.models import Certification
from app.models.template import ASSET_ROLES, ORIENTATIONS, PAGE_SIZES, CertificateTemplate, TemplateAsset
from app.rules import plain_text
from app.services import audit
from app.services.documents import designer_layout
from app.services.documents.rendering import Design, design_of, image_data_uri, render_time_limit
from app.services.errors import NotAllowed, ValidationError

MAX_IMAGE_BYTES = 2 * 1024 * 1024
#: Only raster formats with a fixed signature. SVG is refused: it can carry scripts and
#: external references, and xhtml2pdf would need a converter anyway.
IMAGE_TYPES: dict[str, tuple[bytes, str]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n", "png"),
    "image/jpeg": (b"\xff\xd8\xff", "jpg"),
}


def list_templates() -> list[CertificateTemplate]:
    return list(db.session.scalars(select(CertificateTemplate).order_by(CertificateTemplate.name)))


def usage_counts() -> dict[int, int]:
    """template id -> number of certifications using it."""
    rows = db.session.execute(select(Certification.template_id, func.count())
                              .where(Certification.template_id.is_not(None))
                              .group_by(Certification.template_id)).all()
    return {template_id: count for template_id, count in rows}


def format_errors(errors: list[TemplateError]) -> dict[str, str]:
    """Field errors for the form: every problem, each with its line."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        fields.setdefault(error.part, []).append(str(error))
    return {part: " ".join(messages) for part, messages in fields.items()}


def _clean(values: dict[str, Any], current: CertificateTemplate | None = None) -> dict[str, Any]:
    name = (values.get("name") or "").strip()
    html = plain_text.normalise_newlines(values.get("html") or "")
    css = plain_text.normalise_newlines(values.get("css") or "")
    errors = plain_text.field_problems({"name": name, "html": html, "css": css}, multiline=("html", "css"))
    if errors:
        raise ValidationError(errors)
    if not name:
        errors["name"] = "A name is required."
    elif len(name) > 120:
        errors["name"] = "At most 120 characters."
    else:
        clash = db.session.scalar(select(CertificateTemplate.id).where(
            func.lower(CertificateTemplate.name) == name.lower()))
        if clash is not None and (current is None or clash != current.id):
            errors["name"] = "Another template has this name."
    page_size = values.get("page_size") or "A4"
    if page_size not in PAGE_SIZES:
        errors["page_size"] = f"Choose one of {', '.join(PAGE_SIZES)}."
    orientation = values.get("orientation") or "landscape"
    if orientation not in ORIENTATIONS:
        errors["orientation"] = f"Choose one of {', '.join(ORIENTATIONS)}."
    design = None
    if values.get("mode") == "design":
        # The canvas: the design is the truth and the code its compilation (designer_layout.py).
        try:
            compiled = designer_layout.design_fields(values.get("design") or "", page_size, orientation)
        except ValidationError as exc:
            errors.update(exc.errors)
            raise ValidationError(errors) from None
        design, html, css = compiled["design"], compiled["html"], compiled["css"]
    if not html.strip():
        errors["html"] = "The template needs some HTML."
    else:
        errors.update(format_errors(validate_template(html, css)))
    if errors:
        raise ValidationError(errors)
    return {"name": name, "html": html, "css": css, "page_size": page_size, "orientation": orientation,
            "is_default": bool(values.get("is_default")), "design": design}


def _make_default(template: CertificateTemplate) -> None:
    db.session.execute(update(CertificateTemplate).where(CertificateTemplate.id != template.id)
                       .values(is_default=False).execution_options(synchronize_session="fetch"))


def create_template(values: dict[str, Any], *, actor: audit.Actor) -> CertificateTemplate:
    """Validate and add a template. Raises ValidationError (nothing saved) with line numbers."""
    clean = _clean(values)
    template = CertificateTemplate(**clean)
    db.session.add(template)
    db.session.flush()
    if template.is_default:
        _make_default(template)
    audit.record(actor, "template.created", "certificate_template", template.id,
                 f"Certificate template {template.name} created", default=template.is_default)
    return template


def update_template(template: CertificateTemplate, values: dict[str, Any], *,
                    actor: audit.Actor) -> list[str]:
    """Validate and save changes; return the names of the fields that changed."""
    clean = _clean(values, template)
    changed = [k for k, v in clean.items() if getattr(template, k) != v]
    for key in changed:
        setattr(template, key, clean[key])
    db.session.flush()
    if "is_default" in changed and template.is_default:
        _make_default(template)
    if changed:
        audit.record(actor, "template.updated", "certificate_template", template.id,
                     f"Certificate template {template.name} changed: {', '.join(changed)}", fields=changed)
    return changed


def delete_template(template: CertificateTemplate, *, actor: audit.Actor) -> None:
    """Delete a template; certifications using it fall back to the default. The default itself stays."""
    ensure_not_in_use(template)
    keys = [a.storage_key for a in template.assets]
    audit.record(actor, "template.deleted", "certificate_template", template.id,
                 f"Certificate template {template.name} deleted", assets=keys)
    db.session.delete(template)
    db.session.flush()


def sniff_image(data: bytes) -> str | None:
    """The content type by magic bytes (PNG or JPEG), or None."""
    for content_type, (magic, _) in IMAGE_TYPES.items():
        if data.startswith(magic):
            return content_type
    return None


def upload_asset(template: CertificateTemplate, role: str, filename: str, data: bytes, *,
                 actor: audit.Actor) -> TemplateAsset:
    """Store a logo, signature or background image (PNG/JPEG by content, at most 2 MB).

    Replaces the previous image of that role; the old file is returned to nobody and removed.
    """
    if role not in ASSET_ROLES:
        raise ValidationError({"role": f"Choose one of {', '.join(ASSET_ROLES)}."})
    if not data:
        raise ValidationError({"file": "Choose an image file."})
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationError({"file": f"The image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB."})
    content_type = sniff_image(data)
    if content_type is None:
        raise ValidationError({"file": "Only PNG and JPEG images are accepted (checked by content, "
                                       "not by the file name)."})
    key = f"templates/{template.id}/{role}-{secrets.token_hex(8)}.{IMAGE_TYPES[content_type][1]}"
    try:
        get_storage().put(key, data, content_type)
    except StorageError as exc:  # the admin sees why, next to the upload; nothing was recorded
        raise ValidationError({"file": f"The image could not be stored: {exc}"}) from exc
    old = template.asset(role)
    if old is not None:
        template.assets.remove(old)
        db.session.flush()
    # The browser's file name is kept for display only: cleaned to one line rather than refused.
    asset = TemplateAsset(role=role, filename=plain_text.flatten(filename or role)[-200:],
                          content_type=content_type, size=len(data), storage_key=key)
    template.assets.append(asset)
    db.session.flush()
    audit.record(actor, "template.asset_uploaded", "certificate_template", template.id,
                 f"{role.title()} image uploaded to {template.name}", role=role, size=len(data),
                 replaced=old.storage_key if old else None)
    return asset


def delete_asset(asset: TemplateAsset, *, actor: audit.Actor) -> None:
    audit.record(actor, "template.asset_deleted", "certificate_template", asset.template_id,
                 f"{asset.role.title()} image removed", role=asset.role, key=asset.storage_key)
    db.session.delete(asset)
    db.session.flush()


def assign(certification: Certification, template: CertificateTemplate | None, *,
           actor: audit.Actor) -> bool:
    """Use ``template`` (None: the default) for a certification's future renders."""
    new_id = template.id if template else None
    if certification.template_id == new_id:
        return False
    certification.template_id = new_id
    certification.template = template
    db.session.flush()
    audit.record(actor, "certification.template_assigned", "certification", certification.id,
                 f"{certification.name} now uses {template.name if template else 'the default template'}",
                 template_id=new_id)
    return True


def preview_pdf(values: dict[str, Any], template: CertificateTemplate | None = None) -> bytes:
    """Render unsaved editor contents with sample data (and the template's saved images).

    Raises ValidationError with line numbers when the template is invalid.
    """
    html, css = values.get("html") or "", values.get("css") or ""
    errors = validate_template(html, css)
    if errors:
        raise ValidationError(format_errors(errors))
    page_size = values.get("page_size") if values.get("page_size") in PAGE_SIZES else "A4"
    orientation = values.get("orientation") if values.get("orientation") in ORIENTATIONS else "landscape"
    images = design_of(template).images if template is not None else {}
    design = Design(html, css, page_size, orientation, images)
    context = sample_context()
    context.update({f"{role}_url": image_data_uri(*where) for role, where in design.images.items()})
    return render_pdf(html, css, context, page_size=page_size, orientation=orientation,  # type: ignore[arg-type]
                      time_limit=render_time_limit())


def preview_png(pdf: bytes, width: int = 900) -> bytes | None:
    """Page 1 as a PNG (pypdfium2), or None when pypdfium2 is not installed."""
    try:
        import pypdfium2
    except ImportError:
        return None
    import io

    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        scale = width / page.get_width()
        image = page.render(scale=scale).to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=False)
        return out.getvalue()
    finally:
        document.close()


def ensure_not_in_use(template: CertificateTemplate) -> None:
    if template.is_default:
        raise NotAllowed("This is the default template: make another one the default first.")
