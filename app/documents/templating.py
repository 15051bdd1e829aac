"""Sandboxed Jinja for admin-authored certificate templates (HTML + CSS).

Admins write the HTML as a Jinja template over the placeholders in :data:`PLACEHOLDERS`; the CSS
is plain CSS (not a template) and is inserted verbatim into the document's ``<head>``, so
autoescaping never mangles it. Data is always autoescaped.

Why a sandbox: template authors are admins, but a template is still data stored in the database
and rendered by a worker that holds secrets (database URL, SMTP and S3 credentials). The
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` refuses ``_``-prefixed attributes (the
``''.__class__.__mro__`` route to arbitrary code) and any method that mutates data, and
:class:`~jinja2.StrictUndefined` turns a misspelt placeholder into an error instead of a blank.

Image placeholders (``logo_url``, ``signature_url``, ``background_url``, ``qr_data_uri``) hold
either a ``data:image/...;base64,...`` URI or an absolute path to a file inside one of the
``asset_dirs`` passed to :func:`app.documents.pdf.render_pdf` (e.g. the uploads directory).
Use :func:`file_data_uri` to turn an uploaded file into a data URI when in doubt. Nothing else
is ever fetched: no http(s), no other files.
"""

from __future__ import annotations

import base64
import datetime as dt
import difflib
import mimetypes
import operator
import re
import traceback
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2 import Template as JinjaTemplate
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.meta import find_undeclared_variables
from jinja2.sandbox import ImmutableSandboxedEnvironment

from app.documents.errors import TemplateError, TemplateRenderError
from app.documents.qr import qr_data_uri

__all__ = [
    "PLACEHOLDERS",
    "default_template",
    "file_data_uri",
    "render_template",
    "sample_context",
    "validate_template",
]

#: Every value a certificate template can use, with what it holds. Dates are ``datetime.date``
#: objects: print them with the ``date`` filter (``{{ issued_on|date }}`` -> "14 March 2026",
#: ``{{ issued_on|date("%Y-%m-%d") }}``); the filter prints nothing for None.
PLACEHOLDERS: dict[str, str] = {
    "holder_name": "Full name of the certificate holder, as frozen at issue.",
    "certification_name": "Name of the certification that was earned.",
    "courses": "Courses that were completed: a list of {code, title}; use {% for c in courses %}.",
    "score": "Final score in percent (a number), or None when the certification has no score.",
    "issued_on": "Date of issue (a date; format with |date).",
    "expires_on": "Expiry date (a date), or None when the certificate never expires.",
    "serial": "Human-readable serial number, e.g. LAU-2026-000123.",
    "verify_url": "Public URL where anyone can check the certificate is genuine.",
    "qr_data_uri": "PNG data URI of a QR code for verify_url; use as <img src=\"{{ qr_data_uri }}\">.",
    "issuer_name": "Name of the issuing body or department (may be empty).",
    "signatory_name": "Name of the person signing (may be empty).",
    "signatory_title": "Title of the person signing, e.g. Head of Training (may be empty).",
    "organisation_name": "Name of the organisation running Laurel.",
    "logo_url": "Organisation logo: a data URI or an allowed asset path, or None.",
    "signature_url": "Image of the signature: a data URI or an allowed asset path, or None.",
    "background_url": (
        "Full-page background image (data URI or allowed asset path), or None. The renderer puts "
        "it under the whole page itself; a template only needs it to adapt (e.g. drop a tint)."
    ),
    "page_size": "Set by the renderer: 'A4' or 'Letter'.",
    "orientation": "Set by the renderer: 'landscape' or 'portrait' (<body class=\"{{ orientation }}\">).",
}

#: Placeholders a caller may leave out; they render as None (or an empty list) rather than
#: failing, so templates can always write ``{% if logo_url %}``.
OPTIONAL_DEFAULTS: dict[str, Any] = {
    "courses": (),
    "score": None,
    "expires_on": None,
    "issuer_name": "",
    "signatory_name": "",
    "signatory_title": "",
    "organisation_name": "",
    "logo_url": None,
    "signature_url": None,
    "background_url": None,
}

#: Bounds on what a template may build with * and **: enough for any certificate, far below
#: what it takes to exhaust a worker's memory ('x' * 10**10).
MAX_REPEAT_LEN = 100_000
MAX_EXPONENT = 100
MAX_SOURCE_CHARS = 200_000

_TEMPLATE_FILENAME = "<template>"

DEFAULT_TEMPLATE_DIR: Path = Path(__file__).parent / "default_template"


def default_template() -> tuple[str, str]:
    """The built-in certificate design (A4 landscape) as ``(html, css)``."""
    return (
        (DEFAULT_TEMPLATE_DIR / "certificate.html").read_text(encoding="utf-8"),
        (DEFAULT_TEMPLATE_DIR / "certificate.css").read_text(encoding="utf-8"),
    )


def _date_filter(value: dt.date | dt.datetime | None, fmt: str | None = None) -> str:
    """Format a date for print; None (a certificate that never expires) prints as ''."""
    if value is None or value == "":
        return ""
    if not isinstance(value, dt.date):
        return str(value)
    if fmt is None:
        # Not "%-d": that is a glibc extension; the day without a leading zero reads better.
        return f"{value.day} {value:%B %Y}"
    return value.strftime(fmt)


class CertificateSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with the arithmetic that can allocate unbounded memory bounded."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        """Refuse repetitions and powers big enough to take a worker down."""
        if operator_ == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponent {right} is larger than {MAX_EXPONENT}")
            return operator.pow(left, right)
        for seq, times in ((left, right), (right, left)):
            sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
            if sized and len(seq) * times > MAX_REPEAT_LEN:
                raise SecurityError(f"repetition would build more than {MAX_REPEAT_LEN} items")
        return operator.mul(left, right)


def _make_environment() -> CertificateSandbox:
    env = CertificateSandbox(autoescape=True, undefined=StrictUndefined, auto_reload=False)
    # No range/lipsum/cycler/joiner/namespace/dict: a certificate needs none of them, and each
    # global is one more object to reach through.
    env.globals.clear()
    env.filters["date"] = _date_filter
    return env


_ENV = _make_environment()


# --------------------------------------------------------------------------------------------
# Sample data
# --------------------------------------------------------------------------------------------


def sample_context() -> dict[str, Any]:
    """Realistic data for template previews and the trial render in :func:`validate_template`."""
    verify_url = "https://certs.example.org/verify/q3V8xK2mR7tZ9wLpA1bC4d"
    return {
        "holder_name": "Zoë Ångström-Núñez",
        "certification_name": "Certified Workplace First Aider",
        "courses": [
            {"code": "FA-101", "title": "Emergency First Aid at Work"},
            {"code": "FA-205", "title": "Paediatric First Aid"},
            {"code": "HS-110", "title": "Manual Handling and Safe Lifting"},
        ],
        "score": 92.5,
        "issued_on": dt.date(2026, 3, 14),
        "expires_on": dt.date(2029, 3, 14),
        "serial": "LAU-2026-000123",
        "verify_url": verify_url,
        "qr_data_uri": qr_data_uri(verify_url),
        "issuer_name": "Learning & Development",
        "signatory_name": "Dr. Margaret O'Connell",
        "signatory_title": "Head of Training",
        "organisation_name": "Northbridge College",
        "logo_url": None,
        "signature_url": None,
        "background_url": None,
        "page_size": "A4",
        "orientation": "landscape",
    }


def _minimal_context() -> dict[str, Any]:
    """Sample data with every optional value absent, to catch templates that assume them."""
    ctx = sample_context()
    ctx.update(OPTIONAL_DEFAULTS)
    return ctx


def file_data_uri(path: Path) -> str:
    """Read an image file (e.g. an uploaded logo) and return it as a base64 data URI."""
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if not mime.startswith("image/"):
        raise ValueError(f"{path.name} is not an image")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _compile(html: str) -> JinjaTemplate:
    # Compiling costs about as much as a small render; a worker renders the same few templates.
    return _ENV.from_string(html)


def prepare_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """Fill in the optional placeholders and the QR code the caller did not provide."""
    full = dict(OPTIONAL_DEFAULTS)
    full.update(context)
    if not full.get("qr_data_uri") and full.get("verify_url"):
        full["qr_data_uri"] = qr_data_uri(str(full["verify_url"]))
    return full


def render_template(html: str, context: Mapping[str, Any], *, head: str = "") -> str:
    """Render the template ``html`` in the sandbox and return the HTML document.

    ``head`` is trusted markup (our stylesheet) inserted before ``</head>``, or at the start
    when the template has no head. Raises :class:`TemplateRenderError` when the template fails.
    """
    if len(html) > MAX_SOURCE_CHARS:
        raise TemplateRenderError([TemplateError(None, "the template is too large")])
    try:
        rendered = _compile(html).render(prepare_context(context))
    except TemplateSyntaxError as exc:
        raise TemplateRenderError([_syntax_error(exc)]) from None
    except Exception as exc:  # any failure here is the template's fault
        raise TemplateRenderError([_runtime_error(exc)]) from None
    return _insert_head(rendered, head)


def _insert_head(document: str, head: str) -> str:
    if not head:
        return document
    # Data is escaped, so a "</head>" in the output can only come from the template itself.
    match = re.search(r"</head\s*>", document, flags=re.IGNORECASE)
    if match is None:
        return head + document
    return document[: match.start()] + head + document[match.start() :]


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def validate_template(html: str, css: str) -> list[TemplateError]:
    """Check a template before it is saved; return every problem found (empty when fine).

    Reports syntax errors, unknown filters and tests, unknown placeholders, ``_`` attributes,
    resources that would never be loaded, and whatever a trial render against
    :func:`sample_context` (and the same data with every optional value absent) raises.
    """
    errors = _check_css(css)
    if len(html) > MAX_SOURCE_CHARS:
        return [*errors, TemplateError(None, f"the template is longer than {MAX_SOURCE_CHARS} characters")]
    try:
        tree = _ENV.parse(html)
    except TemplateSyntaxError as exc:
        return [_syntax_error(exc), *errors]
    static = sorted(_check_tree(tree), key=lambda e: e.line or 0)
    errors = static + _check_resources(html, "html") + errors
    if static:
        # The trial render would only repeat these, less clearly.
        return errors
    for ctx, when in ((sample_context(), ""), (_minimal_context(), _MINIMAL_NOTE)):
        try:
            _compile(html).render(ctx)
        except Exception as exc:  # report whatever the template does wrong
            error = _runtime_error(exc)
            errors.append(TemplateError(error.line, when + error.message))
            break
    return errors


_MINIMAL_NOTE = "with the optional values empty (no expiry date, score, images or courses): "


def _check_tree(tree: nodes.Template) -> Iterator[TemplateError]:
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        known = _ENV.filters if isinstance(node, nodes.Filter) else _ENV.tests
        if node.name not in known:
            kind = "filter" if isinstance(node, nodes.Filter) else "test"
            yield TemplateError(node.lineno, f"unknown {kind} '{node.name}'{_suggest(node.name, known)}")
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else _const_key(node)
        if isinstance(name, str) and name.startswith("_"):
            yield TemplateError(node.lineno, _underscore_message(name))
    yield from _check_names(tree)


def _check_names(tree: nodes.Template) -> Iterator[TemplateError]:
    try:
        unknown = find_undeclared_variables(tree) - PLACEHOLDERS.keys()
    except TemplateSyntaxError:
        return  # an unknown filter or test stops the analysis; _check_tree reported it
    reported: set[str] = set()
    for node in tree.find_all(nodes.Name):
        if node.name in unknown and node.name not in reported:
            reported.add(node.name)
            message = f"unknown placeholder '{node.name}'{_suggest(node.name, PLACEHOLDERS)}"
            yield TemplateError(node.lineno, message)


def _const_key(node: nodes.Getitem) -> object:
    return node.arg.value if isinstance(node.arg, nodes.Const) else None


def _underscore_message(name: str) -> str:
    return f"'{name}' is not allowed: templates cannot use names that start with an underscore"


def _suggest(name: str, known: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _syntax_error(exc: TemplateSyntaxError) -> TemplateError:
    return TemplateError(exc.lineno, exc.message or "syntax error")


def _runtime_error(exc: BaseException) -> TemplateError:
    line = _template_line(exc)
    if isinstance(exc, SecurityError | UndefinedError):
        return TemplateError(line, _undefined_message(exc))
    if isinstance(exc, TemplateSyntaxError):
        return _syntax_error(exc)
    if isinstance(exc, JinjaTemplateError):
        return TemplateError(line, exc.message or type(exc).__name__)
    return TemplateError(line, f"{type(exc).__name__}: {exc}")


def _undefined_message(exc: SecurityError | UndefinedError) -> str:
    text = exc.message or "undefined value"
    # The sandbox reports a refused attribute as an undefined one ("access to attribute
    # '__class__' of 'str' object is unsafe"); say what that means for a template author.
    found = re.search(r"attribute '([^']+)' of .* is unsafe", text)
    if found and found.group(1).startswith("_"):
        return _underscore_message(found.group(1))
    if isinstance(exc, SecurityError):
        return f"not allowed in a certificate template: {text}"
    return text.replace("is undefined", "is not a known placeholder")


def _template_line(exc: BaseException) -> int | None:
    # Jinja rewrites tracebacks so template frames carry the template's own line numbers.
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == _TEMPLATE_FILENAME]
    return frames[-1].lineno if frames else getattr(exc, "lineno", None)


# --------------------------------------------------------------------------------------------
# CSS and resources
# --------------------------------------------------------------------------------------------

_URL_RE = re.compile(
    r"""(?:url\(\s*['"]?|(?:src|href)\s*=\s*['"]?|@import\s+['"])\s*(?P<url>[^'")\s>]+)""",
    flags=re.IGNORECASE,
)
_BLOCKED_SCHEMES = ("http:", "https:", "file:", "ftp:", "//")


def _check_resources(source: str, part: str) -> list[TemplateError]:
    """Flag references that the renderer is guaranteed to refuse, so the admin hears of it now."""
    errors = []
    for match in _URL_RE.finditer(source):
        url = match.group("url")
        if url.lower().startswith(_BLOCKED_SCHEMES):
            line = source.count("\n", 0, match.start()) + 1
            message = (
                f"'{url[:80]}' will not be loaded: certificates only use uploaded images and "
                "data: URIs, never remote or local file URLs"
            )
            errors.append(TemplateError(line, message, part))  # type: ignore[arg-type]
    return errors


def _check_css(css: str) -> list[TemplateError]:
    errors = _check_resources(css, "css")
    for needle, message in _CSS_FORBIDDEN:
        index = css.lower().find(needle)
        if index >= 0:
            errors.append(TemplateError(css.count("\n", 0, index) + 1, message, "css"))
    if len(css) > MAX_SOURCE_CHARS:
        errors.append(TemplateError(None, f"the CSS is longer than {MAX_SOURCE_CHARS} characters", "css"))
    return errors


_CSS_FORBIDDEN: tuple[tuple[str, str], ...] = (
    ("</style", "the CSS cannot contain '</style': it is inserted into a <style> element"),
    ("<!--", "the CSS cannot contain HTML comments"),
)
