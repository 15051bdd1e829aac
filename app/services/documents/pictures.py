"""The picture of a certificate: page 1 of its PDF as a PNG, stored beside the PDF.

Made on the first request for it and kept beside the PDF, under a key derived from the PDF's, so it
always matches the current PDF and goes away with it (`rendering.discard`). Not made by the render job:
most certificates are never made public, and drawing the page costs about as much as rendering it. The
public page shows it only while the holder has made the certificate public.
"""

from __future__ import annotations

import io

from flask import current_app

from app.documents.storage import StorageError, get_storage
from app.models import Certificate

WIDTH = 1200  # pixels: sharp on the page and the size Open Graph cards like (1200 wide)


def picture_key(pdf_key: str) -> str:
    return pdf_key.removesuffix(".pdf") + ".png"


def render_picture(pdf: bytes, width: int = WIDTH) -> bytes:
    """Page 1 of ``pdf`` as a PNG ``width`` pixels wide (pypdfium2)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        image = page.render(scale=width / page.get_width()).to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()
    finally:
        document.close()


def read_picture(cert: Certificate) -> bytes | None:
    """The PNG of the certificate's current PDF (made now if missing), or None when there is no PDF."""
    if not cert.pdf_key:
        return None
    storage = get_storage()
    key = picture_key(cert.pdf_key)
    try:
        return storage.read(key)
    except StorageError:
        pass
    try:
        pdf = storage.read(cert.pdf_key)
    except StorageError:
        return None
    picture = render_picture(pdf)
    try:
        storage.put(key, picture, "image/png")
    except StorageError as exc:  # served all the same; made again next time
        current_app.logger.warning("could not keep the picture of %s: %s", cert.pdf_key, exc)
    return picture


def discard_picture(pdf_key: str) -> None:
    try:
        get_storage().delete(picture_key(pdf_key))
    except StorageError as exc:
        current_app.logger.warning("could not delete the picture of %s: %s", pdf_key, exc)
