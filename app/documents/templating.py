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

import datetime as dt
import difflib
import re
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache, update_wrapper
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2 import Template as JinjaTemplate
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.meta import find_undeclared_variables
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from app.documents import bounded
from app.documents.budget import RenderBudget, TemplateLimitError, TemplateTimeLimit, active, has_budget
from app.documents.budget import current as current_budget
from app.documents.errors import RenderTimeoutError, TemplateError, TemplateRenderError
from app.documents.fitting import fit_size
from app.documents.placeholders import OPTIONAL_DEFAULTS, PLACEHOLDERS
from app.documents.qr import qr_data_uri
from app.documents.samples import (
    WORST_CASE_COURSES,
    file_data_uri,
    minimal_context,
    sample_context,
    worst_case_context,
)

__all__ = [
    "PLACEHOLDERS",
    "default_template",
    "file_data_uri",
    "render_template",
    "sample_context",
    "validate_template",
]

MAX_SOURCE_CHARS = 200_000
#: Seconds all trial renders of one validation may take together (the save form waits for them).
VALIDATION_SECONDS = 5.0

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


class BoundedTemplate(JinjaTemplate):
    """A compiled template whose every render runs under a budget, even one started without
    :func:`render_template` (which passes its own, with the deadline)."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        if has_budget():
            return super().render(*args, **kwargs)
        context = dict(*args, **kwargs)
        with active(RenderBudget.for_context(context)):
            return super().render(context)


class CertificateSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with the work a template does bounded (app/documents/budget.py).

    Calls, operators and formatting are checked here; loops, output and ``~`` have no hook in
    Jinja, so :meth:`_parse` rewrites every template to route them through internal filters
    (app/documents/bounded.py). The optimizer is off: it would run filters on constants at
    compile time, outside any render's budget.
    """

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    template_class = BoundedTemplate

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = bounded.instrument(super()._parse(source, name, filename))
        tree.set_environment(self)
        return tree

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        """Count the call, size its arguments, and check what it returns."""
        budget = current_budget()
        budget.tick_call()
        args = bounded.check_call(budget, __obj, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        return budget.check_value(result, f"'{getattr(__obj, '__name__', 'a call')}'")

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        """Refuse repetitions, concatenations, %-formats and numbers too big to build."""
        budget = current_budget()
        bounded.check_binop(budget, operator_, left, right)
        return budget.check_value(self.binop_table[operator_](left, right), f"'{operator_}'")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` / ``format_map`` through :class:`~app.documents.bounded.BoundedFormatter`."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        owner: str = value.__self__
        is_map = value.__name__ == "format_map"

        def bounded_format(*args: Any, **kwargs: Any) -> str:
            budget = current_budget()
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]
            formatter = (bounded.BoundedEscapeFormatter(self, budget, escape=owner.escape)
                         if isinstance(owner, Markup) else bounded.BoundedFormatter(self, budget))
            return type(owner)(formatter.vformat(owner, args, kwargs))

        return update_wrapper(bounded_format, value)


def _make_environment() -> CertificateSandbox:
    env = CertificateSandbox(autoescape=True, undefined=StrictUndefined, auto_reload=False, optimized=False)
    # No range/lipsum/cycler/joiner/namespace/dict: a certificate needs none of them, and each
    # global is one more object to reach through.
    env.globals.clear()
    # The designer's text boxes pick their size at render time (app/documents/layout.py).
    env.globals["fit_size"] = fit_size
    env.filters["date"] = _date_filter
    env.filters = {name: bounded.bounded_filter(name, f) for name, f in env.filters.items()}
    env.filters.update(bounded.INTERNAL_FILTERS)
    return env


_ENV = _make_environment()


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


def render_template(html: str, context: Mapping[str, Any], *, head: str = "",
                    seconds: float | None = None) -> str:
    """Render the template ``html`` in the sandbox and return the HTML document.

    ``head`` is trusted markup (our stylesheet) inserted before ``</head>``, or at the start
    when the template has no head. The render stops after ``seconds`` and whenever it goes over
    the limits of app/documents/budget.py. Raises :class:`TemplateRenderError` when the
    template fails.
    """
    if len(html) > MAX_SOURCE_CHARS:
        raise TemplateRenderError([TemplateError(None, "the template is too large")])
    try:
        rendered = _render_bounded(html, prepare_context(context), seconds)
    except TemplateSyntaxError as exc:
        raise TemplateRenderError([_syntax_error(exc)]) from None
    except TemplateTimeLimit as exc:
        raise RenderTimeoutError(exc.message or "the render took too long") from None
    except Exception as exc:  # any failure here is the template's fault
        raise TemplateRenderError([_runtime_error(exc)]) from None
    return _insert_head(rendered, head)


def _render_bounded(html: str, context: Mapping[str, Any], seconds: float | None,
                    deadline: float | None = None) -> str:
    with active(RenderBudget.for_context(context, seconds, deadline)):
        return _compile(html).render(context)


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
    return errors + _trial_renders(html)


def _trial_renders(html: str) -> list[TemplateError]:
    """Render with realistic, empty and worst-case data (all within VALIDATION_SECONDS), so a
    template that only misbehaves on long names or many courses is refused now, not at 3 a.m."""
    deadline = time.monotonic() + VALIDATION_SECONDS
    trials = ((sample_context, ""), (minimal_context, _MINIMAL_NOTE),
              (lambda: worst_case_context(images=False), _WORST_NOTE),
              (lambda: worst_case_context(images=True), _WORST_IMAGES_NOTE))
    for make_context, when in trials:
        try:
            _render_bounded(html, make_context(), VALIDATION_SECONDS, deadline)
        except Exception as exc:  # report whatever the template does wrong
            error = _runtime_error(exc)
            return [TemplateError(error.line, when + error.message)]
    return []


_MINIMAL_NOTE = "with the optional values empty (no expiry date, score, images or courses): "
_WORST_NOTE = (f"with the longest names and {len(WORST_CASE_COURSES)} courses a certificate can "
               "have: ")
_WORST_IMAGES_NOTE = "with the longest names and the largest images a template can have: "


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
        unknown = find_undeclared_variables(tree) - PLACEHOLDERS.keys() - _ENV.globals.keys()
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
    if isinstance(exc, TemplateTimeLimit):
        return TemplateError(line, f"{exc.message}: the template does too much work")
    if isinstance(exc, TemplateLimitError):
        return TemplateError(line, f"not allowed in a certificate template: {exc.message}")
    if isinstance(exc, RecursionError):
        return TemplateError(line, "not allowed in a certificate template: macros or loops call "
                                   "themselves too deeply")
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
