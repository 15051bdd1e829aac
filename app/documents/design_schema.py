"""The designer's data: a JSON list of elements placed on the page, checked strictly before it is
saved or compiled (app/documents/layout.py). Positions and sizes are millimetres from the page's
top-left corner.

Every element has ``kind``, ``x``, ``y``, ``w``, ``h``; the other keys depend on the kind:

- ``text``: ``text`` (with placeholders such as ``{holder_name}``), ``font``, ``size`` and
  ``min_size`` (points: long values shrink from size down to min_size), ``bold``, ``upper``,
  ``color`` (#rrggbb), ``align`` (left, center, right);
- ``image``: ``source`` (logo, signature, background: the template's uploaded images), ``align``;
- ``qr``: nothing else (the verification QR code, square);
- ``box``: ``color`` (the border), ``stroke`` (points, 0 for none), ``fill`` (#rrggbb or "");
- ``line``: ``color`` (a filled bar: its height is the line's thickness).

Anything else -- unknown kinds or keys, numbers out of range, a colour that is not #rrggbb, a font
that is not bundled, control characters, too many elements -- is refused with a
:class:`DesignError` naming the element and the key.
"""

from __future__ import annotations

import math
import re
from typing import Any

from app import strict_json
from app.documents.fitting import FONTS
from app.rules import plain_text

MAX_ELEMENTS = 60
MAX_TEXT = 300
MAX_JSON_CHARS = 100_000
#: Page sizes in millimetres, portrait (width, height).
PAGE_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4)}
KINDS = ("text", "image", "qr", "box", "line")
ALIGNS = ("left", "center", "right")
IMAGE_SOURCES = ("logo", "signature", "background")
SIZE_PT = (4.0, 144.0)
STROKE_PT = (0.0, 12.0)
MIN_BOX_MM, MIN_LINE_MM = 2.0, 0.2
#: Placeholders a text element can hold, written {name} in its text, with the editor's label.
TOKENS: dict[str, str] = {
    "holder_name": "Holder name",
    "certification_name": "Certification",
    "issued_on": "Date of issue",
    "expires_on": "Expiry date",
    "serial": "Serial number",
    "score": "Score",
    "courses": "Courses",
    "issuer_name": "Issuer",
    "signatory_name": "Signatory",
    "signatory_title": "Signatory title",
    "organisation_name": "Organisation",
    "verify_url": "Verify URL",
}
TOKEN_RE = re.compile(r"\{([a-z_]{1,40})\}")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")

_KEYS: dict[str, dict[str, Any]] = {
    "text": {"text": "", "font": "DejaVu Sans", "size": 14.0, "min_size": 8.0, "bold": False,
             "upper": False, "color": "#1f2a3a", "align": "center"},
    "image": {"source": "logo", "align": "center"},
    "qr": {},
    "box": {"color": "#1f3a5f", "stroke": 1.0, "fill": ""},
    "line": {"color": "#b08d57"},
}


class DesignError(ValueError):
    """The design is not one we accept; the message says which element and why."""


def page_mm(page_size: str, orientation: str) -> tuple[float, float]:
    """(width, height) of the page in millimetres."""
    width, height = PAGE_MM.get(page_size, PAGE_MM["A4"])
    return (height, width) if orientation == "landscape" else (width, height)


def parse_design(raw: str | bytes, page_size: str = "A4", orientation: str = "landscape") -> list[dict]:
    """JSON text -> the clean element list, or DesignError (never another exception)."""
    if len(raw) > MAX_JSON_CHARS:
        raise DesignError(f"The design is larger than {MAX_JSON_CHARS // 1000} KB.")
    try:
        data = strict_json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise DesignError(f"The design is not valid JSON: {str(exc)[:120]}") from None
    return check_design(data, page_size, orientation)


def check_design(data: Any, page_size: str = "A4", orientation: str = "landscape") -> list[dict]:
    """A decoded design -> the clean element list (defaults filled in, numbers rounded)."""
    if not isinstance(data, list):
        raise DesignError("The design must be a list of elements.")
    if len(data) > MAX_ELEMENTS:
        raise DesignError(f"A design has at most {MAX_ELEMENTS} elements (this one has {len(data)}).")
    page = page_mm(page_size, orientation)
    return [_element(item, number, page) for number, item in enumerate(data, start=1)]


def _element(item: Any, number: int, page: tuple[float, float]) -> dict:
    where = f"Element {number}"
    if not isinstance(item, dict):
        raise DesignError(f"{where} must be an object.")
    kind = item.get("kind")
    if kind not in KINDS:
        raise DesignError(f"{where}: kind must be one of {', '.join(KINDS)}.")
    allowed = {"kind", "x", "y", "w", "h", *_KEYS[kind]}
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise DesignError(f"{where} ({kind}): unknown key '{str(unknown[0])[:40]}'.")
    clean: dict[str, Any] = {"kind": kind, **_box(item, where, kind, page)}
    for key, default in _KEYS[kind].items():
        clean[key] = _value(item.get(key, default), key, f"{where} ({kind})")
    if kind == "text" and clean["min_size"] > clean["size"]:
        raise DesignError(f"{where} (text): min_size cannot be larger than size.")
    return clean


def _box(item: dict, where: str, kind: str, page: tuple[float, float]) -> dict[str, float]:
    width, height = page
    box = {key: _number(item.get(key), key, where, 0.0, limit)
           for key, limit in (("x", width), ("y", height), ("w", width), ("h", height))}
    smallest = MIN_LINE_MM if kind == "line" else MIN_BOX_MM
    for key in ("w", "h"):
        if box[key] < smallest:
            raise DesignError(f"{where}: {key} must be at least {smallest:g} mm.")
    if box["x"] + box["w"] > width + 0.05 or box["y"] + box["h"] > height + 0.05:
        raise DesignError(f"{where} ({kind}) runs off the {width:g} × {height:g} mm page: move it or make it "
                          "smaller.")
    return box


def _number(value: Any, key: str, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DesignError(f"{where}: {key} must be a number.")
    if not low <= value <= high:
        raise DesignError(f"{where}: {key} must be between {low:g} and {high:g}.")
    return round(float(value), 2)


def _value(value: Any, key: str, where: str) -> Any:
    if key in ("size", "min_size"):
        return _number(value, key, where, *SIZE_PT)
    if key == "stroke":
        return _number(value, key, where, *STROKE_PT)
    if key in ("bold", "upper"):
        if not isinstance(value, bool):
            raise DesignError(f"{where}: {key} must be true or false.")
        return value
    if key in ("color", "fill"):
        if key == "fill" and value == "":
            return ""
        if not isinstance(value, str) or not _COLOUR.fullmatch(value):
            raise DesignError(f"{where}: {key} must be a colour written #rrggbb.")
        return value.lower()
    if key == "text":
        return _text(value, where)
    return _choice(value, key, where)


_CHOICES: dict[str, tuple[str, ...]] = {"font": FONTS, "align": ALIGNS, "source": IMAGE_SOURCES}


def _choice(value: Any, key: str, where: str) -> str:
    options = _CHOICES[key]
    if value not in options:
        raise DesignError(f"{where}: {key} must be one of {', '.join(options)}.")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise DesignError(f"{where}: text must be a string.")
    if len(value) > MAX_TEXT:
        raise DesignError(f"{where}: text is longer than {MAX_TEXT} characters.")
    problem = plain_text.problem(value)
    if problem is None and _BIDI.search(value):
        # Direction overrides make a printed name read differently from the stored one.
        problem = ("Contains a text direction override (U+202A-202E, U+2066-2069), which a certificate "
                   "cannot hold.")
    if problem:
        raise DesignError(f"{where}: the text {problem[0].lower()}{problem[1:]}")
    for name in TOKEN_RE.findall(value):
        if name not in TOKENS:
            raise DesignError(f"{where}: unknown placeholder {{{name}}}; use one of "
                              + ", ".join(f"{{{t}}}" for t in TOKENS) + ".")
    if "{" in TOKEN_RE.sub("", value) or "}" in TOKEN_RE.sub("", value):
        raise DesignError(f"{where}: braces are only for placeholders such as {{holder_name}}.")
    return value


def scale_design(elements: list[dict], source: tuple[float, float],
                 target: tuple[float, float]) -> list[dict]:
    """The same design on another page size or orientation: positions and boxes scale, text sizes stay."""
    fx, fy = target[0] / source[0], target[1] / source[1]
    scaled = []
    for element in elements:
        copy = dict(element)
        copy.update(x=round(element["x"] * fx, 2), w=round(element["w"] * fx, 2),
                    y=round(element["y"] * fy, 2), h=round(element["h"] * fy, 2))
        if element["kind"] == "line":
            copy["h"] = element["h"] if element["h"] < element["w"] else copy["h"]
        scaled.append(copy)
    return scaled
