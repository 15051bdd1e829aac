"""Designer elements (app/documents/design_schema.py) -> the sandboxed Jinja HTML + CSS the renderer
takes, so a designed template renders, previews and exports exactly like a hand-written one.

Each element becomes a static xhtml2pdf frame (``@frame eN { -pdf-frame-content: eN; ... }``) at its
millimetre position; frames are drawn in list order, so later elements lie on top. A frame never
spills: xhtml2pdf shrinks what does not fit into it. Text sizes are chosen at render time by
``fit_size`` (app/documents/fitting.py), from the element's size down to its min_size.

The admin's text goes into the template as Jinja string literals built here, with every character
outside a small safe set written as a ``\\U`` escape: no text can close the literal or open a tag.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from app.documents.design_schema import TOKEN_RE, page_mm
from app.documents.fitting import LINE_HEIGHT, PT_PER_MM, overflows
from app.documents.templating import _date_filter

#: How each placeholder is printed (the same as the built-in template prints it).
_EXPRESSIONS: dict[str, str] = {
    "issued_on": "issued_on|date",
    "expires_on": "expires_on|date",
    "score": '(("%g"|format(score)) ~ "%") if score is not none else ""',
    "courses": 'courses|map(attribute="title")|join(", ")',
}
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;-_!?()&@/+='")


def _literal(text: str) -> str:
    """A Jinja string literal holding exactly ``text``."""
    return '"' + "".join(c if c in _SAFE else f"\\U{ord(c):08x}" for c in text) + '"'


def text_expression(text: str) -> str:
    """The Jinja expression for a text element: literals and placeholders joined with ``~``."""
    parts: list[str] = []
    position = 0
    for match in TOKEN_RE.finditer(text):
        if match.start() > position:
            parts.append(_literal(text[position : match.start()]))
        name = match.group(1)
        parts.append(f"({_EXPRESSIONS.get(name, name + ' or ' + chr(34) * 2)})")
        position = match.end()
    if position < len(text):
        parts.append(_literal(text[position:]))
    return " ~ ".join(parts) or '""'


def element_text(text: str, context: Mapping[str, Any]) -> str:
    """What a text element prints for ``context`` (the overflow check's copy of the template)."""

    def value(match: Any) -> str:
        name = match.group(1)
        raw = context.get(name)
        if name in ("issued_on", "expires_on"):
            return _date_filter(raw) if isinstance(raw, dt.date) or raw is None else str(raw)
        if name == "score":
            return "" if raw is None else f"{raw:g}%"
        if name == "courses":
            return ", ".join(str(c.get("title", "")) for c in raw or ())
        return "" if raw is None else str(raw)

    return TOKEN_RE.sub(value, text)


def compile_design(elements: list[dict], page_size: str, orientation: str) -> tuple[str, str]:
    """Checked elements -> ``(html, css)`` for :func:`app.documents.render_pdf`."""
    width, height = page_mm(page_size, orientation)
    frames, styles, body = [], [], []
    for number, element in enumerate(elements, start=1):
        name = f"e{number}"
        frames.append(f"  @frame {name} {{ -pdf-frame-content: {name}; left: {element['x']}mm; "
                      f"top: {element['y']}mm; width: {element['w']}mm; height: {element['h']}mm; }}")
        markup, style = _COMPILERS[element["kind"]](name, element)
        body.append(f'<div id="{name}">{markup}</div>')
        styles.append(style)
    # The flowing frame holds one blank line: xhtml2pdf needs a body to make a page.
    frames.append(f"  @frame flow {{ left: 0mm; top: 0mm; width: {width}mm; height: {height}mm; }}")
    css = ("/* Made by the designer: edit the design, or edit this code (which detaches the design). */\n"
           "@page {\n  margin: 0;\n" + "\n".join(frames) + "\n}\n"
           "p { margin: 0; padding: 0; }\np.flow { font-size: 1pt; }\n"
           + "\n".join(s for s in styles if s) + "\n")
    html = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n"
            "  <title>{{ certification_name }} — {{ holder_name }}</title>\n</head>\n"
            "<body class=\"{{ orientation }}\">\n" + "\n".join(body) + "\n<p class=\"flow\">&nbsp;</p>\n"
            "</body>\n</html>\n")
    return html, css


def _text(name: str, e: dict) -> tuple[str, str]:
    flags = f"{'true' if e['bold'] else 'false'}, {'true' if e['upper'] else 'false'}"
    size = (f'fit_size(t_{name}, {e["w"]}, "{e["font"]}", {e["size"]}, {e["min_size"]}, {e["h"]}, '
            f"{flags})")
    markup = (f"{{% set t_{name} = {text_expression(e['text'])} %}}"
              f'<p class="{name}" style="font-size: {{{{ {size} }}}}pt">{{{{ t_{name} }}}}</p>')
    style = (f'p.{name} {{ font-family: "{e["font"]}"; color: {e["color"]}; text-align: {e["align"]}; '
             f"line-height: {LINE_HEIGHT}; font-weight: {'bold' if e['bold'] else 'normal'};"
             f"{' text-transform: uppercase;' if e['upper'] else ''} }}")
    return markup, style


def _image(name: str, e: dict) -> tuple[str, str]:
    # Only the height is set, so the image keeps its proportions; a too-wide one is shrunk into the
    # frame by xhtml2pdf.
    source = f"{e['source']}_url"
    markup = (f'{{% if {source} %}}<p class="{name}"><img src="{{{{ {source} }}}}" alt="" '
              f'class="{name}"></p>{{% endif %}}')
    height = max(e["h"] - 1, 1)
    return markup, f"p.{name} {{ text-align: {e['align']}; }}\nimg.{name} {{ height: {height:.2f}mm; }}"


def _qr(name: str, e: dict) -> tuple[str, str]:
    side = max(min(e["w"], e["h"]) - 1, 1)
    return (f'<p class="{name}"><img src="{{{{ qr_data_uri }}}}" alt="QR code" class="{name}"></p>',
            f"p.{name} {{ text-align: center; }}\n"
            f"img.{name} {{ width: {side:.2f}mm; height: {side:.2f}mm; }}")


def _box(name: str, e: dict) -> tuple[str, str]:
    stroke_mm = e["stroke"] / PT_PER_MM
    inner = max(e["h"] - 2 * stroke_mm - 0.6, 0.5)
    border = f"border: {e['stroke']}pt solid {e['color']}; " if e["stroke"] else ""
    fill = f"background-color: {e['fill']}; " if e["fill"] else ""
    return (f'<div class="{name}">&nbsp;</div>',
            f"div.{name} {{ {border}{fill}height: {inner:.2f}mm; font-size: 1pt; }}")


def _line(name: str, e: dict) -> tuple[str, str]:
    return (f'<div class="{name}">&nbsp;</div>',
            f"div.{name} {{ background-color: {e['color']}; height: {max(e['h'] - 0.05, 0.1):.2f}mm; "
            "font-size: 1pt; line-height: 1pt; }")


_COMPILERS = {"text": _text, "image": _image, "qr": _qr, "box": _box, "line": _line}


def overflow_warnings(elements: list[dict], contexts: Mapping[str, Mapping[str, Any]]) -> list[dict]:
    """Text elements that do not fit their box even at their min_size, for any of ``contexts``
    (label -> sample values): ``[{"element": index, "message": ...}]``, one per element."""
    warnings = []
    for index, element in enumerate(elements):
        if element["kind"] != "text":
            continue
        for label, context in contexts.items():
            text = element_text(element["text"], context)
            if overflows(text, element["w"], element["h"], element["font"], element["min_size"],
                         bold=element["bold"], upper=element["upper"]):
                shown = text if len(text) <= 60 else text[:57] + "…"
                warnings.append({"element": index, "message": (
                    f"Text {index + 1} does not fit its box even at {element['min_size']:g} pt with {label}: "
                    f"“{shown}”. Make the box wider or taller, or lower the minimum size.")})
                break
    return warnings
