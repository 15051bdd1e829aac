"""The fast renderer: a designer-made template's elements drawn straight onto a ReportLab canvas.

A design (app/documents/design_schema.py) is positioned data, so it needs no HTML engine: this module
draws the same page the compiled HTML (app/documents/layout.py) gives through xhtml2pdf, in a fraction
of the time (see tests/benchmarks/README.md). The layout rules are the HTML path's, measured from it
and held equal by tests/documents/test_fast_renderer.py (every text run's box centre within 1.5 mm,
images, QR code, boxes and lines at the same boxes):

- text: ``fit_size`` picks the size exactly as the compiled template does; the first baseline sits
  ``BASELINE`` x size below the box's top, each further line 1.25 x size lower; what is too wide at
  the chosen size wraps at spaces (a single word wider than the box stays whole), as xhtml2pdf does;
- characters a face lacks come from the same fallbacks as the HTML path: DejaVu Sans, then the CJK
  CID faces of app/documents/pdf.py;
- images keep their proportions at the box's height minus 1 mm (narrowed to the box's width), the QR
  code is a square of the box's smaller side minus 1 mm, drawn as vector modules (no PNG to encode);
- the uploaded background is placed under everything as xhtml2pdf places an ``@page`` background.

What only HTML can do is left to it: :func:`needs_html` names values the canvas does not lay out
(right-to-left scripts); the caller then renders that certificate through xhtml2pdf instead.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from typing import Any

import segno
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from app.documents.budget import HardTimeLimit, hard_time_limit
from app.documents.design_schema import page_mm
from app.documents.errors import RenderError, RenderTimeoutError
from app.documents.fitting import FONT_FILES, FONTS_DIR, LINE_HEIGHT, PT_PER_MM, fit_size, text_width_pt
from app.documents.layout import element_text
from app.documents.pdf import cjk_face
from app.documents.qr import QR_BORDER

#: First baseline below the top of a text box, in font sizes (measured on xhtml2pdf's output).
BASELINE = 0.76
#: Scripts the canvas does not order or join: a certificate with them goes through the HTML path.
_RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
#: The PDF's Creator: says which engine drew a certificate (xhtml2pdf writes its own).
CREATOR = "Laurel fast renderer (ReportLab canvas)"
_SPACES = re.compile(r"[ \t\n\r\f]+")


class NeedsHtml(Exception):
    """This certificate's values need the HTML engine (the reason is the message)."""


def needs_html(elements: Sequence[Mapping[str, Any]], context: Mapping[str, Any]) -> str | None:
    """Why these values cannot be drawn by the canvas, or None when they can."""
    for element in elements:
        if element["kind"] == "text" and _RTL.search(element_text(element["text"], context)):
            return "right-to-left text"
    return None


# --------------------------------------------------------------------------------------------
# Fonts
# --------------------------------------------------------------------------------------------


@cache
def _face(family: str, bold: bool) -> str:
    """The ReportLab name of a bundled TrueType face, registered once per process."""
    stem = FONT_FILES[family] + ("-Bold" if bold else "")
    name = f"Laurel-{stem}"
    pdfmetrics.registerFont(TTFont(name, str(FONTS_DIR / f"{stem}.ttf")))
    return name


@cache
def _cid(face: str) -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(face))
    return face


@cache
def _glyphs(family: str, bold: bool) -> frozenset[int]:
    return frozenset(pdfmetrics.getFont(_face(family, bold)).face.charWidths)


def _runs(text: str, family: str, bold: bool) -> list[tuple[str, str]]:
    """``text`` cut into (face name, characters) runs, each character in the first face that has it."""
    own, sans = _glyphs(family, bold), _glyphs("DejaVu Sans", bold)
    runs: list[tuple[str, str]] = []
    for char in text:
        code = ord(char)
        if code in own or char == " ":
            face = _face(family, bold)
        elif code in sans:
            face = _face("DejaVu Sans", bold)
        else:
            cid = cjk_face(char)
            face = _cid(cid) if cid else _face(family, bold)
        if runs and runs[-1][0] == face:
            runs[-1] = (face, runs[-1][1] + char)
        else:
            runs.append((face, char))
    return runs


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------


def render_design(elements: Sequence[Mapping[str, Any]], context: Mapping[str, Any], *,
                  page_size: str = "A4", orientation: str = "landscape",
                  time_limit: float | None = None, title: str | None = None) -> bytes:
    """A checked design and its placeholder values -> PDF bytes, within ``time_limit`` seconds.

    Raises :class:`NeedsHtml` when the values need the HTML engine, :class:`RenderTimeoutError` past
    the limit and :class:`RenderError` for an image that cannot be read.
    """
    reason = needs_html(elements, context)
    if reason:
        raise NeedsHtml(reason)
    seconds = time_limit or 30.0
    try:
        with hard_time_limit(seconds):
            return _draw(elements, context, page_size, orientation, seconds, title)
    except HardTimeLimit as exc:
        raise RenderTimeoutError(str(exc)) from None


def _draw(elements: Sequence[Mapping[str, Any]], context: Mapping[str, Any], page_size: str,
          orientation: str, seconds: float, title: str | None) -> bytes:
    deadline = time.monotonic() + seconds
    width_mm, height_mm = page_mm(page_size, orientation)
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(width_mm * PT_PER_MM, height_mm * PT_PER_MM), pageCompression=1)
    canvas.setCreator(CREATOR)
    canvas.setTitle(title if title is not None else
                    f"{context.get('certification_name') or ''} — {context.get('holder_name') or ''}")
    page = _Page(canvas, height_mm * PT_PER_MM)
    if context.get("background_url"):
        page.image(str(context["background_url"]), 0, 0, width_mm, height_mm, full=True)
    for element in elements:
        if time.monotonic() > deadline:
            raise RenderTimeoutError(f"the render took longer than its {seconds:g} second limit")
        _DRAW[element["kind"]](page, element, context)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


class _Page:
    """Millimetres from the top-left corner (the design's coordinates) onto the canvas."""

    def __init__(self, canvas: Canvas, height_pt: float) -> None:
        self.canvas, self.height_pt = canvas, height_pt

    def x(self, mm: float) -> float:
        return mm * PT_PER_MM

    def y(self, mm: float) -> float:
        return self.height_pt - mm * PT_PER_MM

    def image(self, uri: str, x: float, y: float, w: float, h: float, *, full: bool = False,
              align: str = "center") -> None:
        reader = _image(uri)
        pixels_w, pixels_h = reader.getSize()
        if full:  # the page background, placed as xhtml2pdf places an @page background-image
            page_w, page_h = self.x(w), self.height_pt
            small, large = sorted((page_w / pixels_w, page_h / pixels_h))
            width = pixels_w * small
            height = pixels_h * (small if page_h > page_w else large)
            bottom = page_h - height if page_h > page_w else 0
            self.canvas.drawImage(reader, 0, bottom, width, height, mask="auto")
            return
        draw_h = max(h - 1, 1)
        draw_w = draw_h * pixels_w / pixels_h
        if draw_w > w:  # too wide: shrunk into the box, as xhtml2pdf shrinks a frame's content
            draw_w, draw_h = w, w * pixels_h / pixels_w
        left = {"left": x, "right": x + w - draw_w}.get(align, x + (w - draw_w) / 2)
        self.canvas.drawImage(reader, self.x(left), self.y(y + draw_h), self.x(draw_w), self.x(draw_h),
                              mask="auto")


@lru_cache(maxsize=16)  # the template's logo, signature and background, across renders
def _decoded(uri: str) -> bytes:
    head, _, data = uri.partition(",")
    if not head.startswith("data:image/") or not head.endswith(";base64"):
        raise RenderError("images must be data: URIs")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise RenderError("an image is not valid base64") from None


def _image(uri: str) -> ImageReader:
    try:
        return ImageReader(io.BytesIO(_decoded(uri)))
    except RenderError:
        raise
    except Exception as exc:  # Pillow's many ways of refusing a file
        raise RenderError(f"an image could not be read: {exc}") from None


def _text(page: _Page, e: Mapping[str, Any], context: Mapping[str, Any]) -> None:
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", element_text(e["text"], context))).strip()
    if not text:
        return
    size = fit_size(text, e["w"], e["font"], e["size"], e["min_size"], e["h"], e["bold"], e["upper"])
    if e["upper"]:
        text = text.upper()
    canvas = page.canvas
    canvas.setFillColor(e["color"])
    room_pt = e["w"] * PT_PER_MM
    baseline_mm = e["y"] + BASELINE * size / PT_PER_MM
    for line in wrap(text, e["font"], size, e["bold"], room_pt):
        line_pt = text_width_pt(line, e["font"], size, bold=e["bold"])
        left_pt = {"left": 0.0, "right": room_pt - line_pt}.get(e["align"], (room_pt - line_pt) / 2)
        cursor = page.x(e["x"]) + left_pt
        for face, chars in _runs(line, e["font"], e["bold"]):
            canvas.setFont(face, size)
            canvas.drawString(cursor, page.y(baseline_mm), chars)
            cursor += text_width_pt(chars, e["font"], size, bold=e["bold"])
        baseline_mm += LINE_HEIGHT * size / PT_PER_MM


def wrap(text: str, font: str, size: float, bold: bool, room_pt: float) -> list[str]:
    """Lines of ``text`` no wider than ``room_pt``, broken at spaces. A single word wider than the box
    stays whole (and runs over its edges, centred), as xhtml2pdf draws it; the designer flags it."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and text_width_pt(candidate, font, size, bold=bold) > room_pt:
            lines.append(current)
            candidate = word
        current = candidate
    if current:
        lines.append(current)
    return lines


def _picture(page: _Page, e: Mapping[str, Any], context: Mapping[str, Any]) -> None:
    uri = context.get(f"{e['source']}_url")
    if uri:
        page.image(str(uri), e["x"], e["y"], e["w"], e["h"], align=e["align"])


def _qr(page: _Page, e: Mapping[str, Any], context: Mapping[str, Any]) -> None:
    url = str(context.get("verify_url") or "")
    if not url:
        return
    side = max(min(e["w"], e["h"]) - 1, 1)
    left, top = e["x"] + (e["w"] - side) / 2, e["y"]
    matrix = qr_matrix(url)
    count = len(matrix) + 2 * QR_BORDER
    module = side / count
    canvas = page.canvas
    canvas.setFillColor("#000000")
    path = canvas.beginPath()
    for row, cells in enumerate(matrix):
        end = 0
        while (start := cells.find(1, end)) >= 0:  # one rectangle per horizontal run of dark modules
            end = cells.find(0, start)
            end = len(cells) if end < 0 else end
            x = left + (QR_BORDER + start) * module
            y = top + (QR_BORDER + row + 1) * module
            path.rect(page.x(x), page.y(y), page.x((end - start) * module), page.x(module))
    canvas.drawPath(path, stroke=0, fill=1)


def qr_matrix(url: str) -> tuple[bytearray, ...]:
    """The QR symbol of ``url`` (level M, as app/documents/qr.py) without its quiet zone: rows of 0/1."""
    return segno.make_qr(url, error="m", boost_error=False).matrix


def _box(page: _Page, e: Mapping[str, Any], context: Mapping[str, Any]) -> None:
    canvas = page.canvas
    stroke = e["stroke"]
    height = max(e["h"] - 0.6, 0.5)  # the compiled div: inner height + borders
    if e["fill"]:
        canvas.setFillColor(e["fill"])
        canvas.rect(page.x(e["x"]), page.y(e["y"] + height), page.x(e["w"]), page.x(height), stroke=0, fill=1)
    if stroke:  # CSS borders straddle the box's edges in xhtml2pdf's drawing
        canvas.setStrokeColor(e["color"])
        canvas.setLineWidth(stroke)
        canvas.rect(page.x(e["x"]), page.y(e["y"] + height), page.x(e["w"]), page.x(height), stroke=1, fill=0)


def _line(page: _Page, e: Mapping[str, Any], context: Mapping[str, Any]) -> None:
    height = max(e["h"] - 0.05, 0.1)
    canvas = page.canvas
    canvas.setFillColor(e["color"])
    canvas.rect(page.x(e["x"]), page.y(e["y"] + height), page.x(e["w"]), page.x(height), stroke=0, fill=1)


_DRAW = {"text": _text, "image": _picture, "qr": _qr, "box": _box, "line": _line}
