"""Certificate HTML + CSS -> PDF bytes with xhtml2pdf, fetching nothing but our own files.

Fonts: the bundled DejaVu faces are declared by a stylesheet prelude under the families
``"DejaVu Sans"`` and ``"DejaVu Serif"`` (Latin, Greek, Cyrillic, Arabic, Hebrew and more). CJK
comes from ReportLab's built-in CID fonts, which need no file; the CJK face is only added to
the font-family lists when the rendered document actually contains CJK text, because naming it
makes xhtml2pdf register the CID font again on every render (~12 ms).

Resources: a :class:`ResourceAccessPolicy` allows local reads only below the fonts directory and
the caller's ``asset_dirs``, plus ``data:`` URIs; remote fetching is switched off entirely.
"""

from __future__ import annotations

import gc
import io
import logging
import re
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from xhtml2pdf import pisa
from xhtml2pdf.config.resources import RenderLimitError, ResourceAccessPolicy

from app.documents.budget import HardTimeLimit, hard_time_limit
from app.documents.errors import RenderError, RenderTimeoutError
from app.documents.shaping import shape_arabic
from app.documents.templating import default_template, render_template, sample_context

__all__ = ["FONTS_DIR", "RenderError", "render_pdf", "warm_up"]

FONTS_DIR: Path = (Path(__file__).parent / "fonts").resolve()

PageSize = Literal["A4", "Letter"]
Orientation = Literal["landscape", "portrait"]

_PAGE_SIZES: dict[str, str] = {"A4": "a4", "Letter": "letter"}

#: Generous for one page; a render that takes longer is stuck on something pathological. Callers
#: pass their own (the app's RENDER_TIME_LIMIT) as ``time_limit``.
MAX_RENDER_SECONDS = 30

log = logging.getLogger(__name__)


def _font_face(family: str, filename: str, bold: bool) -> str:
    weight = "font-weight: bold; " if bold else ""
    return f'@font-face {{ font-family: "{family}"; src: url("{FONTS_DIR / filename}"); {weight}}}\n'


#: Declared before the template's CSS, so the template can use the families by name.
FONT_PRELUDE: str = "".join(
    _font_face(family, f"{stem}{suffix}.ttf", bold)
    for family, stem in (("DejaVu Sans", "DejaVuSans"), ("DejaVu Serif", "DejaVuSerif"))
    for suffix, bold in (("", False), ("-Bold", True))
) + 'html, title, body { font-family: "DejaVu Sans"; }\n'


# --------------------------------------------------------------------------------------------
# CJK
# --------------------------------------------------------------------------------------------

_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f]")
_FONT_FAMILY = re.compile(r"(font-family\s*:\s*)([^;}{]+?)(\s*(?:!important\s*)?[;}])", re.IGNORECASE)


def cjk_face(text: str) -> str | None:
    """The ReportLab CID face to fall back to for ``text``, or None when it has no CJK.

    Kana means Japanese and Hangul Korean; Han characters alone are taken as Chinese. Japanese
    names written only in kanji get the Chinese face, which has those characters too.
    """
    if _KANA.search(text):
        return "HeiseiMin-W3"
    if _HANGUL.search(text):
        return "HYSMyeongJo-Medium"
    if _HAN.search(text):
        return "STSong-Light"
    return None


def with_fallback_fonts(css: str, faces: Sequence[str]) -> str:
    """Append ``faces`` to every font-family list in ``css`` that does not name them yet.

    xhtml2pdf picks a face per character from the family list (as a browser does), so the
    template's own fonts still draw whatever they can and only the rest falls through: DejaVu
    Serif, say, has no Arabic or Hebrew, which DejaVu Sans draws.
    """

    def extend(match: re.Match[str]) -> str:
        families = match.group(2)
        missing = [f'"{face}"' for face in faces if face.lower() not in families.lower()]
        return match.group(1) + ", ".join([families, *missing]) + match.group(3)

    return _FONT_FAMILY.sub(extend, css)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def resource_policy(asset_dirs: Sequence[Path] = (),
                    seconds: float = MAX_RENDER_SECONDS) -> ResourceAccessPolicy:
    """The only reads a certificate may make: our fonts, the given asset dirs, data: URIs; and
    the time the engine may take (checked between elements)."""
    roots = (FONTS_DIR, *(Path(d).resolve() for d in asset_dirs))
    return ResourceAccessPolicy.server(
        base_dir=None,  # no "document directory": relative paths resolve nowhere
        extra_roots=roots,
        allow_remote=False,
        max_render_seconds=seconds,
    )


def _stylesheet(css: str, page_size: PageSize, orientation: Orientation, background: str | None) -> str:
    page = f"size: {_PAGE_SIZES[page_size]} {orientation};"
    if background:
        # Quotes and parentheses cannot occur in a data URI or a path we accept; refusing them
        # keeps the value from closing the url() and writing CSS of its own.
        if re.search(r"[\"'()\\<>{}\s]", background):
            raise RenderError("background_url must be a data: URI or a plain file path")
        page += f' background-image: url("{background}");'
    return FONT_PRELUDE + with_page_declarations(css, page)


_PAGE_RULE = re.compile(r"@page\b[^{;]*\{")
_SIZE_DECL = re.compile(r"(?<![\w-])size\s*:\s*[^;{}]*;?", re.IGNORECASE)


def with_page_declarations(css: str, declarations: str) -> str:
    """Add ``declarations`` (a size, a background) to every ``@page`` rule, or add one rule.

    The template record's page size and orientation must win over whatever its CSS says, and
    a second ``@page`` rule cannot do it: xhtml2pdf replaces the first rule's margins and
    frames with the second's rather than merging them. Existing ``size`` declarations go.
    """
    pieces: list[str] = []
    position = 0
    for match in _PAGE_RULE.finditer(css):
        if match.start() < position:
            continue  # nested inside a rule already handled
        end = _closing_brace(css, match.end())
        body = _SIZE_DECL.sub("", css[match.end() : end])
        pieces += [css[position : match.end()], f" {declarations}", body]
        position = end
    if not pieces:
        return f"@page {{ {declarations} }}\n" + css
    return "".join(pieces) + css[position:]


def _closing_brace(css: str, start: int) -> int:
    """Index of the brace closing the block whose body starts at ``start`` (or the end)."""
    depth = 1
    for index in range(start, len(css)):
        if css[index] == "{":
            depth += 1
        elif css[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return len(css)


def build_document(
    html: str, css: str, context: Mapping[str, Any], page_size: PageSize, orientation: Orientation,
    seconds: float | None = None,
) -> str:
    """Render the template (within ``seconds``) and return the complete HTML handed to xhtml2pdf."""
    _check_page(page_size, orientation)
    marker = "<!--laurel-style-->"
    values = {**context, "page_size": page_size, "orientation": orientation}
    document = _shape_body(render_template(html, values, head=marker, seconds=seconds))
    face = cjk_face(document)
    fallbacks = ["DejaVu Sans", face] if face else ["DejaVu Sans"]
    sheet = _stylesheet(css, page_size, orientation, values.get("background_url"))
    stylesheet = with_fallback_fonts(sheet, fallbacks)
    return document.replace(marker, f"<style>\n{stylesheet}</style>", 1)


def _shape_body(document: str) -> str:
    # Only the body: the <title> becomes the PDF's metadata title, which must stay plain text.
    match = re.search(r"<body\b", document, flags=re.IGNORECASE)
    start = match.start() if match else 0
    return document[:start] + shape_arabic(document[start:], FONTS_DIR / "DejaVuSans.ttf")


def _check_page(page_size: str, orientation: str) -> None:
    if page_size not in _PAGE_SIZES:
        raise ValueError(f"page_size must be one of {sorted(_PAGE_SIZES)}, not {page_size!r}")
    if orientation not in ("landscape", "portrait"):
        raise ValueError(f"orientation must be 'landscape' or 'portrait', not {orientation!r}")


def render_pdf(
    html: str,
    css: str,
    context: Mapping[str, Any],
    *,
    page_size: PageSize = "A4",
    orientation: Orientation = "landscape",
    asset_dirs: Sequence[Path] = (),
    time_limit: float | None = None,
) -> bytes:
    """Render a certificate template to PDF bytes.

    ``html`` is the sandboxed Jinja template, ``css`` plain CSS, ``context`` the placeholder
    values (see :data:`app.documents.templating.PLACEHOLDERS`; ``qr_data_uri`` is made from
    ``verify_url`` when absent). Images may be data: URIs or absolute paths inside
    ``asset_dirs``; anything else is refused by the resource policy and left out.

    The whole render (template and PDF engine) stops after ``time_limit`` seconds (default
    :data:`MAX_RENDER_SECONDS`): cooperatively everywhere, and by a signal in a main thread
    (a worker), which also stops work the cooperative checks cannot see.

    Raises :class:`RenderError` with the reasons: ``TemplateRenderError`` for the template's
    mistakes and limits, ``RenderTimeoutError`` for the time limit.
    """
    seconds = time_limit or MAX_RENDER_SECONDS
    try:
        with hard_time_limit(seconds):
            return _render_pdf(html, css, context, page_size, orientation, asset_dirs, seconds)
    except (HardTimeLimit, RenderTimeoutError) as exc:
        failure = RenderTimeoutError(str(exc))  # a fresh one: no traceback keeping the engine's frames
    _close_abandoned_files()
    raise failure


def _close_abandoned_files() -> None:
    """An interrupted engine leaves spooled temp files to the garbage collector: close them now, in a
    worker that runs for weeks, instead of whenever a collection happens (with a ResourceWarning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _render_pdf(html: str, css: str, context: Mapping[str, Any], page_size: PageSize,
                orientation: Orientation, asset_dirs: Sequence[Path], seconds: float) -> bytes:
    started = time.monotonic()
    document = build_document(html, css, context, page_size, orientation, seconds)
    left = max(seconds - (time.monotonic() - started), 0.001)
    out = io.BytesIO()
    with _captured_log() as messages:
        try:
            status = pisa.CreatePDF(document, dest=out, resource_policy=resource_policy(asset_dirs, left))
        except RenderLimitError as exc:
            if "longer than" in str(exc):
                message = f"the render took longer than its {seconds:g} second limit"
                raise RenderTimeoutError(message) from None
            refused = RenderError(f"the PDF engine refused the document: {exc}", list(messages))
            refused.retryable = False  # a limit of the document itself: the same next time
            raise refused from None
        except Exception as exc:
            raise RenderError(f"the PDF engine failed: {exc}", list(messages)) from exc
    if status.err:
        raise RenderError("the PDF engine reported errors", list(messages))
    return out.getvalue()


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _captured_log() -> Iterator[list[str]]:
    """Collect xhtml2pdf's warnings for this render: its errors only ever go to the log."""
    handler = _ListHandler()
    logger = logging.getLogger("xhtml2pdf")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
    for message in handler.messages:
        log.info("xhtml2pdf: %s", message)


#: One name per lazily loaded piece: each CJK face's CMap (~30 ms the first time) and the Arabic
#: reshaper tuned to DejaVu Sans.
_WARM_UP_NAMES = ("王小明", "山田 さくら", "김민준", "محمد عبد الله")
_WARM_UP_HTML = "<html><head></head><body><p>{{ holder_name }}</p></body></html>"


def warm_up() -> float:
    """Do throwaway renders so fonts, CMaps, the CSS parser and ReportLab are loaded; return seconds.

    Call it in a worker's parent process before it forks work horses: everything loaded here is
    shared copy-on-write, instead of every forked job paying ~250 ms for its first render.
    """
    started = time.perf_counter()
    html, css = default_template()
    context = sample_context()
    render_pdf(html, css, context)
    for name in _WARM_UP_NAMES:
        render_pdf(_WARM_UP_HTML, "", {**context, "holder_name": name})
    return time.perf_counter() - started
