"""Certificate documents: sandboxed templates, QR codes and PDF rendering (pure Python).

Nothing here imports Flask or touches the database; services hand in plain values.

Typical use (the render job)::

    from app.documents import default_template, render_pdf

    html, css = default_template()            # or a CertificateTemplate's html/css
    pdf_bytes = render_pdf(html, css, context, page_size="A4", orientation="landscape",
                           asset_dirs=[uploads_dir])

``context`` maps the names in :data:`PLACEHOLDERS` to values (dates as ``datetime.date``;
``qr_data_uri`` is generated from ``verify_url`` when left out; optional values may be left
out). Images are data: URIs or absolute paths inside ``asset_dirs``; nothing is fetched over
the network and no other file is read.

Before saving an admin's template, call :func:`validate_template` and show the
:class:`TemplateError` list (line numbers included); :func:`sample_context` feeds previews.
Rendering raises :class:`RenderError` (``TemplateRenderError`` for template mistakes and limits,
``RenderTimeoutError`` past ``time_limit``); see app/documents/budget.py for what a render may spend.

Workers: call :func:`warm_up` once in the parent process before forking work horses, so fonts
and the engine are loaded once instead of in every job (~250 ms each).
"""

from app.documents.errors import RenderError, RenderTimeoutError, TemplateError, TemplateRenderError
from app.documents.pdf import FONTS_DIR, render_pdf, warm_up
from app.documents.qr import qr_data_uri
from app.documents.templating import (
    PLACEHOLDERS,
    default_template,
    file_data_uri,
    render_template,
    sample_context,
    validate_template,
)

__all__ = [
    "FONTS_DIR",
    "PLACEHOLDERS",
    "RenderError",
    "RenderTimeoutError",
    "TemplateError",
    "TemplateRenderError",
    "default_template",
    "file_data_uri",
    "qr_data_uri",
    "render_pdf",
    "render_template",
    "sample_context",
    "validate_template",
    "warm_up",
]
