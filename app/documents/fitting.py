"""Text that fits its box: widths from the bundled fonts' metrics, ``fit_size`` for the sandbox, and
the overflow check the designer runs against the longest real names before a design is saved.

Widths come from the TrueType files themselves (ReportLab reads their advance widths), so they match
what xhtml2pdf draws. Characters a DejaVu face lacks are drawn by the fallback faces of
app/documents/pdf.py: CJK by ReportLab's CID fonts, one em wide; anything else by DejaVu Sans.
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import cache
from pathlib import Path

from reportlab.pdfbase.ttfonts import TTFontFile

FONTS_DIR = (Path(__file__).parent / "fonts").resolve()
#: The families a design may use (app/documents/pdf.py declares them for xhtml2pdf).
FONT_FILES: dict[str, str] = {"DejaVu Serif": "DejaVuSerif", "DejaVu Sans": "DejaVuSans"}
FONTS: tuple[str, ...] = tuple(FONT_FILES)
PT_PER_MM = 72 / 25.4
#: Line height as a multiple of the font size; the compiled CSS sets the same.
LINE_HEIGHT = 1.25
#: xhtml2pdf keeps a little room inside a frame; measured, so "fits" here means fits on paper.
FRAME_SLACK_MM = 1.5
MIN_PT, MAX_PT = 4.0, 144.0
#: A text longer than this is measured by its first MAX_MEASURED characters (a certificate line is
#: never that long, and the sandbox must not spend a render measuring a megabyte).
MAX_MEASURED = 2_000

_CJK = re.compile(r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


@cache
def _widths(font: str, bold: bool) -> tuple[dict[int, float], float]:
    """code point -> advance width in 1/1000 em, and the width of a missing glyph."""
    stem = FONT_FILES[font] + ("-Bold" if bold else "")
    face = TTFontFile(str(FONTS_DIR / f"{stem}.ttf"))
    return dict(face.charWidths), float(face.defaultWidth)


def text_width_pt(text: str, font: str, size_pt: float, *, bold: bool = False, upper: bool = False) -> float:
    """Width of ``text`` on one line at ``size_pt`` in ``font`` (with the renderer's fallbacks)."""
    if font not in FONT_FILES:
        font = "DejaVu Sans"
    text = unicodedata.normalize("NFC", str(text)[:MAX_MEASURED])
    if upper:
        text = text.upper()
    own, _ = _widths(font, bold)
    fallback, missing = _widths("DejaVu Sans", bold)
    total = 0.0
    for char in text:
        code = ord(char)
        if code in own:
            total += own[code]
        elif _CJK.match(char):
            total += 1000.0
        else:
            total += fallback.get(code, missing)
    return total * size_pt / 1000.0


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def fit_size(text: object, box_mm: float, font: str = "DejaVu Sans", max_pt: float = 12.0,
             min_pt: float = 8.0, height_mm: float = 0.0, bold: bool = False, upper: bool = False) -> float:
    """The largest size from ``max_pt`` down to ``min_pt`` at which ``text`` fits ``box_mm`` on one line
    (and, with ``height_mm``, the line fits the box's height). Never below ``min_pt``: what still does
    not fit wraps, and :func:`overflows` is what warns the admin about that.

    Called by compiled designs as ``{{ fit_size(t, 120, "DejaVu Serif", 28, 10) }}``: every argument is
    clamped, so no template can ask for a nonsense size.
    """
    max_pt = _clamp(float(max_pt), MIN_PT, MAX_PT)
    min_pt = _clamp(float(min_pt), MIN_PT, max_pt)
    room_pt = max(float(box_mm) - FRAME_SLACK_MM, 1.0) * PT_PER_MM
    if height_mm:
        max_pt = _clamp(float(height_mm) * PT_PER_MM / LINE_HEIGHT, min_pt, max_pt)
    width_at_max = text_width_pt(str(text), font, max_pt, bold=bool(bold), upper=bool(upper))
    if width_at_max <= room_pt:
        return round(max_pt, 1)
    # Width is proportional to the size: one division, then round down to a tenth of a point.
    return max(min_pt, math.floor(max_pt * room_pt / width_at_max * 10) / 10)


def overflows(text: str, box_mm: float, height_mm: float, font: str, min_pt: float, *,
              bold: bool = False, upper: bool = False) -> bool:
    """True when ``text`` at ``min_pt`` needs more lines than the box has room for."""
    room_pt = max(box_mm - FRAME_SLACK_MM, 1.0) * PT_PER_MM
    lines_needed = math.ceil(text_width_pt(text, font, min_pt, bold=bold, upper=upper) / room_pt) or 1
    lines_room = max(int(height_mm * PT_PER_MM // (min_pt * LINE_HEIGHT)), 1)
    return lines_needed > lines_room or (lines_needed > 1 and _longest_word_pt(text, font, min_pt, bold,
                                                                               upper) > room_pt)


def _longest_word_pt(text: str, font: str, size: float, bold: bool, upper: bool) -> float:
    # A word wider than the box cannot wrap: it runs out of the box whatever the height.
    return max((text_width_pt(w, font, size, bold=bold, upper=upper) for w in text.split()), default=0.0)
