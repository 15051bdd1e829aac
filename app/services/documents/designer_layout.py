"""The visual designer's rules: designs as data, compiled to the template's html/css on save, starter
designs, the overflow check against long real names, and design previews.

A template with a ``design`` is edited on the canvas; its html/css are always the compilation of
that design. Saving hand-edited code clears the design ("detaches" it): the code is then the truth.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from app.documents import default_template, sample_context
from app.documents.design_schema import TOKENS, DesignError, check_design, page_mm, parse_design, scale_design
from app.documents.designs import STARTER_PAGE, STARTERS
from app.documents.layout import compile_design, overflow_warnings
from app.documents.samples import long_value_contexts
from app.extensions import db
from app.models.template import ORIENTATIONS, PAGE_SIZES, CertificateTemplate
from app.services import audit
from app.services.documents.rendering import Design, design_of, image_data_uri, render_design
from app.services.errors import ValidationError


def starter(key: str, page_size: str = "A4", orientation: str = "landscape") -> list[dict[str, Any]]:
    """A built-in design's elements, scaled to the page."""
    if key not in STARTERS:
        raise ValidationError({"start": f"Choose one of {', '.join(STARTERS)}."})
    elements = check_design(STARTERS[key][2], *STARTER_PAGE)
    return scale_design(elements, page_mm(*STARTER_PAGE), page_mm(page_size, orientation))


def starters_json() -> str:
    """Every starter at every page size and orientation, for the editor's "start again from" menu."""
    return json.dumps({key: {f"{size}-{orientation}": starter(key, size, orientation)
                             for size in PAGE_SIZES for orientation in ORIENTATIONS} for key in STARTERS})


def tokens() -> dict[str, str]:
    return dict(TOKENS)


def design_fields(raw: str, page_size: str, orientation: str) -> dict[str, str]:
    """The design text -> {"design", "html", "css"} to store; ValidationError on the "design" field."""
    if page_size not in PAGE_SIZES or orientation not in ORIENTATIONS:
        page_size, orientation = "A4", "landscape"  # _clean reports the page itself
    try:
        elements = parse_design(raw or "", page_size, orientation)
    except DesignError as exc:
        raise ValidationError({"design": str(exc)}) from None
    html, css = compile_design(elements, page_size, orientation)
    return {"design": _dump(elements), "html": html, "css": css}


def _dump(elements: list[dict[str, Any]]) -> str:
    return json.dumps(elements, ensure_ascii=False, separators=(",", ":"))


def elements_of(template: CertificateTemplate | None) -> list[dict[str, Any]] | None:
    """The stored design (already checked when saved), or None for a code template."""
    if template is None or not template.design:
        return None
    return json.loads(template.design)


def check_overflow(elements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Text boxes that the longest real names (several scripts, 60 characters) would overflow."""
    return overflow_warnings(elements, long_value_contexts())


def create_from_starter(key: str, *, actor: audit.Actor) -> CertificateTemplate:
    """A new template from a built-in design (or ``"code"``: the HTML/CSS one), under a free name, so
    images can be uploaded right away."""
    if key == "code":  # the built-in HTML/CSS design, edited as code
        title, design = "HTML/CSS", None
        html, css = default_template()
    else:
        title = STARTERS.get(key, ("",))[0]
        elements = starter(key)
        html, css = compile_design(elements, *STARTER_PAGE)
        design = _dump(elements)
    name = _free_name(f"{title} certificate")
    template = CertificateTemplate(name=name, html=html, css=css, page_size=STARTER_PAGE[0],
                                   orientation=STARTER_PAGE[1], is_default=False, design=design)
    db.session.add(template)
    db.session.flush()
    audit.record(actor, "template.created", "certificate_template", template.id,
                 f"Certificate template {name} created from the {title} design", starter=key)
    return template


def _free_name(base: str) -> str:
    taken = {n.lower() for n in db.session.scalars(select(CertificateTemplate.name).where(
        func.lower(CertificateTemplate.name).like(base.lower() + "%")))}
    if base.lower() not in taken:
        return base
    number = 2
    while f"{base} {number}".lower() in taken:
        number += 1
    return f"{base} {number}"


def preview_design(values: dict[str, Any], template: CertificateTemplate | None) -> tuple[bytes, list[dict]]:
    """Render the editor's unsaved design with sample data; also return its overflow warnings."""
    page_size = values.get("page_size") if values.get("page_size") in PAGE_SIZES else "A4"
    orientation = values.get("orientation") if values.get("orientation") in ORIENTATIONS else "landscape"
    fields = design_fields(values.get("design") or "", page_size, orientation)
    elements = json.loads(fields["design"])
    images = design_of(template).images if template is not None else {}
    context = sample_context()
    context.update({f"{role}_url": image_data_uri(*where) for role, where in images.items()})
    # Drawn by the engine the saved template will use (rendering.renderer_of): the preview is the result.
    design = Design(fields["html"], fields["css"], page_size, orientation, elements=tuple(elements))
    return render_design(design, context), check_overflow(elements)
