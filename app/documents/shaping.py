"""Arabic letter joining tuned to the bundled DejaVu Sans, done before xhtml2pdf sees the text.

xhtml2pdf joins Arabic letters itself (arabic-reshaper, into Unicode presentation forms), but it
decides which ligatures to use by looking at the *first* face of the element's font-family list.
A certificate typically sets names in DejaVu Serif, which has no Arabic at all, so it keeps every
ligature -- including the Allah ligature U+FDF2, which no DejaVu face has -- and the per-character
fallback to DejaVu Sans then draws that one as an empty box. Shaping here, with only the
ligatures DejaVu Sans can draw, leaves xhtml2pdf nothing to do but lay the forms out right to
left: presentation forms are already "shaped", and reshaping them again changes nothing.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import arabic_reshaper
from arabic_reshaper.ligatures import LIGATURES
from reportlab.pdfbase.ttfonts import TTFontFile

#: Base Arabic letters (not presentation forms, which are already shaped).
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]")


@cache
def _reshaper(font_path: Path) -> arabic_reshaper.ArabicReshaper:
    """A reshaper enabling exactly the ligatures whose glyphs the font has."""
    covered = set(TTFontFile(str(font_path)).charToGlyph)
    config: dict[str, bool | str] = {
        name: all(ord(form) in covered for form in forms[1] if form) for name, forms in LIGATURES
    }
    return arabic_reshaper.ArabicReshaper(configuration=config)


def shape_arabic(text: str, font_path: Path) -> str:
    """Join the Arabic letters in ``text`` for drawing with ``font_path``; other text is kept.

    Markup passes through untouched (it is ASCII), so this can run over a whole HTML document.
    """
    if not _ARABIC.search(text):
        return text
    return _reshaper(font_path).reshape(text)
