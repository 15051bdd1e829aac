"""Badge images: check an uploaded PNG or SVG, draw a badge when none is uploaded.

Pure functions on bytes (Pillow, defusedxml, svglib + pypdfium2 for the SVG's PNG copy): no database,
no Flask. Every refusal is a `BadgeImageError` whose message is safe to show to the admin who uploaded.

Why so strict about SVG: an SVG is a document, not a picture. Opened from our domain it could run
script, load other sites or embed HTML. We accept only drawing: no DTD (no entity bombs, no external
entities), no script, no event handler attributes, no foreignObject, no animation (it can rewrite an
href), no link or CSS url() to anything but a fragment of the same file or an embedded data: image. It is
then served with `Content-Security-Policy: sandbox` all the same.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element, register_namespace, tostring

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_BYTES = 2 * 1024 * 1024  # an uploaded PNG
MAX_SVG_BYTES = 512 * 1024
MAX_PIXELS = 16_000_000  # a decompression bomb is refused before it is decoded
MAX_SIDE = 1024  # stored PNGs are re-encoded and shrunk to fit this square
MAX_ELEMENTS = 5_000  # drawing 5,000 shapes takes svglib about two seconds
MAX_DEPTH = 60
MAX_USES = 100
MAX_USE_EXPANSION = 20_000  # elements that <use> copies, summed: svglib copies them for real
BADGE_SIZE = 600  # a generated badge, and the box an SVG is drawn into
FONTS = Path(__file__).resolve().parent.parent / "documents" / "fonts"

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
# Editors write their own metadata in these; it draws nothing.
METADATA_NS = {
    SVG_NS, "http://www.inkscape.org/namespaces/inkscape",
    "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd", "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://purl.org/dc/elements/1.1/", "http://creativecommons.org/ns#", "http://ns.adobe.com/AdobeIllustrator/10.0/",
    "http://ns.adobe.com/Graphs/1.0/", "http://ns.adobe.com/SaveForWeb/1.0/",
    "http://ns.adobe.com/Extensibility/1.0/", "http://ns.adobe.com/Variables/1.0/",
}
FORBIDDEN_ELEMENTS = {"script", "foreignobject", "iframe", "embed", "object", "handler", "listener",
                      "audio", "video", "animate", "animatemotion", "animatetransform", "animatecolor",
                      "set", "discard", "a"}
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp);base64,([A-Za-z0-9+/=\s]*)\Z", re.IGNORECASE)
_URL = re.compile(r"url\s*\(\s*['\"]?\s*([^'\")\s]*)", re.IGNORECASE)
_CSS_DANGER = re.compile(r"@import|expression\s*\(|javascript:|behaviou?r\s*:|-moz-binding", re.IGNORECASE)


class BadgeImageError(ValueError):
    """An upload we refuse; the message says why, for the admin."""


@dataclass(frozen=True)
class CheckedImage:
    """What to store: `png` always (what pages, importers and baking use), `svg` for an SVG upload."""

    png: bytes
    svg: bytes | None = None

    @property
    def kind(self) -> str:
        return "svg" if self.svg is not None else "png"


def check_upload(data: bytes) -> CheckedImage:
    """A PNG (re-encoded) or an SVG (checked, with its PNG copy), recognised by content, never by name."""
    if not data:
        raise BadgeImageError("Choose a PNG or SVG file.")
    if data.startswith(PNG_MAGIC):
        return CheckedImage(clean_png(data))
    if _looks_like_svg(data):
        svg = clean_svg(data)
        return CheckedImage(rasterise_svg(svg), svg)
    raise BadgeImageError("Only PNG and SVG images are accepted (checked by content, not by the file name).")


# --------------------------------------------------------------------------------------------
# PNG
# --------------------------------------------------------------------------------------------


def _open_checked(data: bytes, formats: tuple[str, ...], what: str):
    """A Pillow image of one of `formats`, its pixel count checked from the header before decoding."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DecompressionBombWarning: the size is checked here
        image = Image.open(io.BytesIO(data), formats=list(formats))
        width, height = image.size
        if width < 1 or height < 1 or width * height > MAX_PIXELS:
            raise BadgeImageError(f"The {what} is {width}×{height} pixels; use a smaller image "
                                  f"(up to {MAX_PIXELS // 1_000_000} megapixels).")
        image.load()
    return image


def _decode(data: bytes, formats: tuple[str, ...], what: str):
    from PIL import Image, UnidentifiedImageError

    try:
        return _open_checked(data, formats, what)
    except BadgeImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise BadgeImageError(f"The {what} has far too many pixels.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        # ValueError: Pillow's own limits (a text chunk that inflates too far, a truncated stream).
        raise BadgeImageError(f"The {what} could not be read as an image.") from exc


def clean_png(data: bytes) -> bytes:
    """A PNG of at most 2 MB and 16 megapixels, re-encoded (metadata and trailing bytes dropped), shrunk
    to fit 1024×1024."""
    if len(data) > MAX_BYTES:
        raise BadgeImageError(f"The image is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    image = _decode(data, ("PNG",), "image")
    image = image.convert("RGBA")
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# SVG
# --------------------------------------------------------------------------------------------


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!--", b"<!doctype"))


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _parse(data: bytes) -> Element:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        # forbid_dtd: a billion-laughs or external-entity file is refused before any entity exists.
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise BadgeImageError("The SVG declares a DTD or entities; save it again without them.") from exc
    except (ParseError, ValueError, UnicodeError) as exc:
        raise BadgeImageError("The SVG is not well-formed XML.") from exc
    if root.tag != f"{{{SVG_NS}}}svg":
        raise BadgeImageError("The file is not an SVG image (its root element is not <svg>).")
    return root


def _check_reference(value: str) -> None:
    value = value.strip()
    if value.startswith("#"):
        return
    match = _DATA_IMAGE.match(value)
    if match is None:
        raise BadgeImageError("The SVG links to something outside itself; only #fragments and embedded "
                              "data: images are allowed.")
    try:
        raw = base64.b64decode(re.sub(r"\s+", "", match.group(2)), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadgeImageError("An image embedded in the SVG is not valid base64.") from exc
    fmt = {"png": "PNG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP"}[match.group(1).lower()]
    _decode(raw, (fmt,), "image embedded in the SVG")


def _check_urls(text: str) -> None:
    if _CSS_DANGER.search(text):
        raise BadgeImageError("The SVG's styles import or run something; only plain drawing is accepted.")
    for target in _URL.findall(text):
        if not target.startswith("#"):
            _check_reference(target)


def _check_attributes(element: Element) -> None:
    for name, value in element.attrib.items():
        namespace, local = _split(name)
        if local.lower().startswith("on"):
            raise BadgeImageError(f"The SVG has an event handler ({local}); scripts are not accepted.")
        if "javascript:" in re.sub(r"\s+", "", value).lower():
            raise BadgeImageError("The SVG contains a javascript: link; scripts are not accepted.")
        if local == "href" and namespace in ("", XLINK_NS):
            _check_reference(value)
        elif "url(" in value.lower().replace(" ", ""):
            _check_urls(value)


def _check_elements(root: Element) -> dict[str, Element]:
    """Walks the tree (iteratively: depth is bounded, not trusted). Returns the elements by id."""
    by_id: dict[str, Element] = {}
    count, stack = 0, [(root, 1)]
    while stack:
        element, depth = stack.pop()
        count += 1
        if count > MAX_ELEMENTS or depth > MAX_DEPTH:
            raise BadgeImageError("The SVG is too complex for a badge "
                                  "(too many or too deeply nested elements).")
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions (the parser drops them; be sure anyway)
        namespace, local = _split(element.tag)
        if namespace not in METADATA_NS:
            raise BadgeImageError("The SVG contains elements of another language (for example HTML); "
                                  "only SVG drawing is accepted.")
        if local.lower() in FORBIDDEN_ELEMENTS:
            raise BadgeImageError(f"The SVG contains a <{local}> element, which is not accepted in a badge "
                                  "(no scripts, links, embedded documents or animation).")
        _check_attributes(element)
        if local == "style":
            _check_urls(element.text or "")
        if "id" in element.attrib:
            by_id[element.attrib["id"]] = element
        stack.extend((child, depth + 1) for child in element)
    return by_id


def _subtree_size(element: Element) -> tuple[int, bool]:
    """(element count, contains a <use>) of a subtree."""
    size, has_use = 0, False
    for node in element.iter():
        size += 1
        has_use = has_use or (isinstance(node.tag, str) and _split(node.tag)[1] == "use")
    return size, has_use


def _check_uses(root: Element, by_id: dict[str, Element]) -> None:
    """<use> copies what it points at: a few uses of a use of a use multiply like entities do."""
    uses = [e for e in root.iter() if isinstance(e.tag, str) and _split(e.tag)[1] == "use"]
    if len(uses) > MAX_USES:
        raise BadgeImageError(f"The SVG has more than {MAX_USES} <use> elements.")
    copied = 0
    for use in uses:
        href = use.attrib.get("href") or use.attrib.get(f"{{{XLINK_NS}}}href") or ""
        target = by_id.get(href.strip()[1:]) if href.strip().startswith("#") else None
        if target is None:
            continue
        size, nested = _subtree_size(target)
        copied += size
        if nested or copied > MAX_USE_EXPANSION:
            raise BadgeImageError("The SVG's <use> elements copy too much (or copy other <use> elements).")


def clean_svg(data: bytes) -> bytes:
    """The SVG re-serialised from its checked tree (no DTD, comments or processing instructions left)."""
    if len(data) > MAX_SVG_BYTES:
        raise BadgeImageError(f"The SVG is larger than {MAX_SVG_BYTES // 1024} KB.")
    root = _parse(data)
    by_id = _check_elements(root)
    _check_uses(root, by_id)
    # The usual prefixes (process-wide: these are the standard ones anyway), so the file reads as written.
    register_namespace("", SVG_NS)
    register_namespace("xlink", XLINK_NS)
    body = tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def rasterise_svg(svg: bytes, size: int = BADGE_SIZE) -> bytes:
    """A PNG copy of a checked SVG, fitting a size×size square (svglib draws it as PDF, pdfium paints it)."""
    import logging

    import pypdfium2
    from reportlab.graphics import renderPDF
    from svglib.svglib import svg2rlg

    logging.getLogger("svglib.svglib").setLevel(logging.ERROR)  # it logs every unsupported attribute
    try:
        drawing = svg2rlg(io.BytesIO(svg))
        if drawing is None or not drawing.width or not drawing.height:
            raise BadgeImageError("The SVG has no size (set width and height or a viewBox).")
        pdf = renderPDF.drawToString(drawing)
        document = pypdfium2.PdfDocument(pdf)
        try:
            page = document[0]
            scale = size / max(page.get_width(), page.get_height())
            image = page.render(scale=scale, may_draw_forms=False, fill_color=(255, 255, 255, 0)).to_pil()
        finally:
            document.close()
    except BadgeImageError:
        raise
    except Exception as exc:  # svglib and reportlab raise many kinds on odd drawings; all mean "cannot draw"
        raise BadgeImageError("The SVG could not be drawn; export it again as plain SVG.") from exc
    out = io.BytesIO()
    image.convert("RGBA").save(out, format="PNG", optimize=True)
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# Generated badge
# --------------------------------------------------------------------------------------------

NAME_BOX = (400, 230)  # where the name goes, centred under the logo: inside the inner circle
FONT_SIZES = (56, 48, 42, 36, 32, 28, 24, 21, 18)
MAX_LINES = 8


@dataclass(frozen=True)
class NameLayout:
    lines: list[str]
    font_size: int


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.truetype(str(FONTS / "DejaVuSans-Bold.ttf"), size)


def _wrap(name: str, font, width: int) -> list[str]:
    """Greedy word wrap by measured width; a word longer than the line is cut where it must be."""
    lines: list[str] = []
    for word in name.split():
        while font.getlength(word) > width:
            cut = _longest_fitting_prefix(word, font, width)
            lines.append(word[:cut])
            word = word[cut:]
        if lines and font.getlength(lines[-1] + " " + word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _longest_fitting_prefix(word: str, font, width: int) -> int:
    """How many characters of `word` fit `width` (at least one), by bisection: a 200-letter word takes
    eight measurements, not two hundred."""
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if font.getlength(word[:middle]) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def layout_name(name: str, box: tuple[int, int] = NAME_BOX) -> NameLayout:
    """The largest size at which the name fits the box; at the smallest, the lines that fit, the last
    ending in an ellipsis."""
    name = " ".join(name.split()) or "Badge"
    for size in FONT_SIZES:
        font = _font(size)
        lines = _wrap(name, font, box[0])
        if len(lines) * _line_height(size) <= box[1] and len(lines) <= MAX_LINES:
            return NameLayout(lines, size)
    size = FONT_SIZES[-1]
    font = _font(size)
    fit = max(1, min(MAX_LINES, box[1] // _line_height(size)))
    lines = _wrap(name, font, box[0])[:fit]
    last = lines[-1]
    while last and font.getlength(last + "…") > box[0]:
        last = last[:-1].rstrip()
    lines[-1] = last + "…"
    return NameLayout(lines, size)


def _line_height(size: int) -> int:
    return int(size * 1.2)


def _hex(colour: str) -> tuple[int, int, int]:
    colour = colour if re.fullmatch(r"#[0-9a-fA-F]{6}", colour or "") else "#1f5f4a"
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def draw_badge(name: str, colour: str, logo_png: bytes | None = None, size: int = BADGE_SIZE) -> bytes:
    """A round badge: the branding colour, a light ring, the logo (if any) and the certification's name."""
    from PIL import Image, ImageDraw

    scale = size / BADGE_SIZE
    image = Image.new("RGBA", (BADGE_SIZE, BADGE_SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    rgb = _hex(colour)
    draw.ellipse((4, 4, BADGE_SIZE - 4, BADGE_SIZE - 4), fill=(*rgb, 255))
    draw.ellipse((30, 30, BADGE_SIZE - 30, BADGE_SIZE - 30), outline=(255, 255, 255, 210), width=6)
    top = 170
    if logo_png:
        top = _paste_logo(image, logo_png)
    layout = layout_name(name)
    line_height = _line_height(layout.font_size)
    font = _font(layout.font_size)
    block = line_height * len(layout.lines)
    y = top + (NAME_BOX[1] - block) // 2
    for line in layout.lines:
        draw.text((BADGE_SIZE // 2, y + line_height // 2), line, font=font, fill=(255, 255, 255, 255),
                  anchor="mm")
        y += line_height
    if scale != 1:
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _paste_logo(image, logo_png: bytes) -> int:
    """The logo on a white disc at the top; returns where the name's box starts."""
    from PIL import ImageDraw

    try:
        logo = _decode(logo_png, ("PNG",), "logo").convert("RGBA")
    except BadgeImageError:
        return 170  # a logo that cannot be read leaves the badge without one
    logo.thumbnail((110, 70))
    draw = ImageDraw.Draw(image)
    centre = (BADGE_SIZE // 2, 118)
    draw.ellipse((centre[0] - 62, centre[1] - 62, centre[0] + 62, centre[1] + 62), fill=(255, 255, 255, 255))
    image.alpha_composite(logo, (centre[0] - logo.width // 2, centre[1] - logo.height // 2))
    return 200
