"""The sandbox's size and work checks: filters, methods, operators and formatting, bounded.

Every way a template can amplify a small input into a large value -- padding (``center``,
``ljust``, ``zfill``, ``'%0999d'``, ``'{:>999}'``), joining and replacing, repetition and
concatenation, tab expansion, wrapping and indenting with long strings, batching with fill values,
printing shared or deep structures (``pprint``, ``tojson``, ``~``) -- is estimated *before* the
work is done and refused with a :class:`TemplateLimitError` when it would exceed the render's
:class:`RenderBudget`. Every result is checked again afterwards, and lazily produced sequences
(``map``, ``select``, ``batch``...) count their items as loop iterations.

:func:`instrument` rewrites a parsed template so that loops, output and ``~`` go through the
internal filters below: Jinja itself has no hook for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import wraps
from typing import Any

from jinja2 import nodes, pass_context
from jinja2.runtime import Context, LoopContext, markup_join, str_join
from jinja2.sandbox import SandboxedFormatter
from jinja2.utils import _PassArg
from jinja2.visitor import NodeTransformer
from markupsafe import EscapeFormatter, escape

from app.documents.budget import (
    MAX_EXPONENT,
    MAX_INT_BITS,
    MAX_ITEMS,
    MAX_NESTING,
    CountedIterable,
    RenderBudget,
    TemplateLimitError,
    current,
    text_size,
)

# --------------------------------------------------------------------------------------------
# Loops, output and ~ (internal filters the instrumented template calls)
# --------------------------------------------------------------------------------------------

#: Names no template can write (a filter name must be an identifier), so only :func:`instrument`
#: can call them.
LOOP, EMIT, CONCAT = "laurel:loop", "laurel:emit", "laurel:concat"


def _loop(iterable: Any) -> CountedIterable:
    return CountedIterable(iterable, current())


@pass_context
def _emit(context: Context, value: Any) -> str:
    """Charge what an ``{{ ... }}`` or a piece of template text adds to the document.

    Returns exactly what Jinja would print next (escaped, or ``str``), so nothing changes but
    the count -- and a huge structure is refused before ``str()`` builds it.
    """
    budget = current()
    if not isinstance(value, str):
        budget.text_size(value, "printing this value")
    text = escape(value) if context.eval_ctx.autoescape else str(value)
    budget.charge_output(len(text))
    return text


@pass_context
def _concat(context: Context, parts: list[Any]) -> str:
    budget = current()
    budget.check_chars(sum(budget.text_size(part, "'~'") for part in parts), "'~'")
    budget.take_in(parts, "'~'")
    joined = (markup_join if context.eval_ctx.autoescape else str_join)(parts)
    return budget.check_value(joined, "'~'")


INTERNAL_FILTERS: dict[str, Callable[..., Any]] = {LOOP: _loop, EMIT: _emit, CONCAT: _concat}


class _Instrument(NodeTransformer):
    def visit_For(self, node: nodes.For) -> nodes.For:
        node = self.generic_visit(node)
        node.iter = _internal(LOOP, node.iter)
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Output:
        node = self.generic_visit(node)
        node.nodes = [_internal(EMIT, child) for child in node.nodes]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Filter:
        node = self.generic_visit(node)
        return _internal(CONCAT, nodes.List(node.nodes, lineno=node.lineno))


def _internal(name: str, node: nodes.Expr) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


def instrument(tree: nodes.Template) -> nodes.Template:
    """Route every loop, every output and every ``~`` of ``tree`` through the budget."""
    return _Instrument().visit(tree)


# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------


def bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` with its arguments measured, its known amplification estimated first, and its
    result checked. Context-taking filters keep their flag (copied by ``wraps``)."""
    skip = 1 if _PassArg.from_obj(func) is not None else 0
    precheck = _FILTER_CHECKS.get(name)
    what = f"the '{name}' filter"

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        budget = current()
        budget.tick_call()
        budget.take_in((*args[skip:], *kwargs.values()), what)
        if precheck is not None:
            replaced = precheck(budget, what, _Args(args[skip:], kwargs))
            if replaced is not None:
                args = (*args[:skip], *replaced)
        return budget.check_value(func(*args, **kwargs), what)

    return wrapper


class _Args:
    """A call's arguments, looked up by position or keyword the way the callee would."""

    def __init__(self, args: tuple, kwargs: Mapping[str, Any]) -> None:
        self.args, self.kwargs = args, kwargs

    def get(self, index: int, name: str, default: Any = None) -> Any:
        if name in self.kwargs:
            return self.kwargs[name]
        return self.args[index] if len(self.args) > index else default

    def text(self, index: int = 0, name: str = "s") -> str:
        return str(self.get(index, name, ""))


Check = Callable[[RenderBudget, str, _Args], "tuple | None"]


def _width(value: Any) -> int:
    return value if isinstance(value, int) else len(value) if isinstance(value, str) else 0


def _center(budget: RenderBudget, what: str, a: _Args) -> None:
    budget.check_chars(_width(a.get(1, "width", 80)), what)


def _indent(budget: RenderBudget, what: str, a: _Args) -> None:
    text = a.text()
    budget.check_chars(len(text) + (text.count("\n") + 1) * _width(a.get(1, "width", 4)), what)


def _wordwrap(budget: RenderBudget, what: str, a: _Args) -> None:
    text, width = a.text(), a.get(1, "width", 79)
    wrapstring = str(a.get(3, "wrapstring", None) or "\n")
    breaks = len(text) // max(width if isinstance(width, int) else 1, 1) + text.count("\n") + 1
    budget.check_chars(len(text) + breaks * len(wrapstring), what)


def _join(budget: RenderBudget, what: str, a: _Args) -> tuple:
    items = materialize(budget, a.get(0, "value"), what)
    separator = str(a.get(1, "d", ""))
    budget.check_chars(sum(text_size(i, budget.max_chars) for i in items)
                       + len(items) * len(separator), what)
    return (items, *a.args[1:])


def _replace(budget: RenderBudget, what: str, a: _Args) -> None:
    count = a.get(3, "count", None)
    size = replaced_size(a.text(), str(a.get(1, "old", "")), str(a.get(2, "new", "")),
                         count if isinstance(count, int) else -1)
    budget.check_chars(size, what)


def _format(budget: RenderBudget, what: str, a: _Args) -> None:
    check_percent(budget, a.text(0, "value"), a.kwargs or a.args[1:], what)


def _batch(budget: RenderBudget, what: str, a: _Args) -> None:
    count = a.get(1, "linecount", a.get(1, "slices", 1))
    budget.check_items(count if isinstance(count, int) else 0, what)


def _sum(budget: RenderBudget, what: str, a: _Args) -> None:
    # Adding lists is quadratic and builds millions of items from a few: sum adds numbers.
    if not isinstance(a.get(2, "start", 0), int | float):
        raise TemplateLimitError(f"{what} only adds numbers")


def _urlize(budget: RenderBudget, what: str, a: _Args) -> None:
    text = a.text(0, "value")
    extra = sum(len(str(a.get(i, k, "") or "")) for i, k in ((3, "target"), (4, "rel")))
    budget.check_chars(3 * len(text) + len(text.split()) * (80 + extra), what)


def _pprint(budget: RenderBudget, what: str, a: _Args) -> None:
    # pprint indents every line by its depth: a few characters more per item printed.
    budget.check_chars(text_size(a.get(0, "value"), budget.max_chars) * (1 + MAX_NESTING // 4), what)


def _date(budget: RenderBudget, what: str, a: _Args) -> None:
    fmt = a.get(1, "fmt")
    if isinstance(fmt, str):
        check_strftime(budget, fmt, what)


_FILTER_CHECKS: dict[str, Check] = {
    "center": _center, "indent": _indent, "wordwrap": _wordwrap, "join": _join,
    "replace": _replace, "format": _format, "batch": _batch, "slice": _batch, "sum": _sum,
    "urlize": _urlize, "pprint": _pprint, "date": _date,
}


def materialize(budget: RenderBudget, value: Any, what: str) -> list[Any]:
    """``value`` as a list, refused past :data:`MAX_ITEMS` items without reading further."""
    items: list[Any] = []
    for item in value if isinstance(value, Iterable) else ():
        items.append(item)
        if len(items) > MAX_ITEMS:
            budget.check_items(len(items), what)
    return items


def replaced_size(text: str, old: str, new: str, count: int = -1) -> int:
    hits = text.count(old) if old else len(text) + 1
    if count >= 0:
        hits = min(hits, count)
    return len(text) + hits * (len(new) - len(old))


# --------------------------------------------------------------------------------------------
# Methods and operators
# --------------------------------------------------------------------------------------------


def check_call(budget: RenderBudget, obj: Any, args: tuple, kwargs: dict) -> tuple:
    """Measure a call's arguments and estimate what a str method would build; return the
    positional arguments to use (a recursive ``loop(...)`` gets its items counted)."""
    name = getattr(obj, "__name__", "a call")
    what = f"'{name}'"
    owner = getattr(obj, "__self__", None)
    budget.take_in((*args, *kwargs.values(), owner if isinstance(owner, str) else None), what)
    if isinstance(obj, LoopContext) and args:
        return (CountedIterable(args[0], budget), *args[1:])
    if isinstance(owner, str) and name in _STR_METHODS:
        # str methods take their arguments after the string itself, like the filters.
        replaced = _STR_METHODS[name](budget, what, _Args((owner, *args), kwargs))
        return args if replaced is None else replaced
    if name == "strftime" and args and isinstance(args[0], str):
        check_strftime(budget, args[0], what)
    return args


def _expandtabs(budget: RenderBudget, what: str, a: _Args) -> None:
    text = a.text()
    budget.check_chars(len(text) + text.count("\t") * max(_width(a.get(1, "tabsize", 8)), 0), what)


def _str_join(budget: RenderBudget, what: str, a: _Args) -> tuple:
    items = materialize(budget, a.get(1, "iterable", ()), what)
    separator = a.text()
    budget.check_chars(sum(text_size(i, budget.max_chars) for i in items)
                       + len(items) * len(separator), what)
    return (items,)


def _str_replace(budget: RenderBudget, what: str, a: _Args) -> None:
    old, new, count = a.get(1, "old", ""), a.get(2, "new", ""), a.get(3, "count", -1)
    if isinstance(old, str) and isinstance(new, str):
        budget.check_chars(replaced_size(a.text(), old, new, count if isinstance(count, int) else -1), what)


def _translate(budget: RenderBudget, what: str, a: _Args) -> None:
    table = a.get(1, "table")
    if isinstance(table, Mapping):
        longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
        budget.check_chars(len(a.text()) * max(longest, 1), what)


_STR_METHODS: dict[str, Check] = {
    "center": _center, "ljust": _center, "rjust": _center, "zfill": _center,
    "expandtabs": _expandtabs, "join": _str_join, "replace": _str_replace, "translate": _translate,
}


def check_binop(budget: RenderBudget, operator: str, left: Any, right: Any) -> None:
    """Refuse ``+ - * / // % **`` results too large to build."""
    what = f"'{operator}'"
    if isinstance(left, str | list | tuple) or isinstance(right, str | list | tuple):
        budget.take_in((left, right), what)
    if operator == "%" and isinstance(left, str):
        check_percent(budget, left, right, what)
    elif operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(times, int) and isinstance(seq, str):
                budget.check_chars(len(seq) * times, what)
            elif isinstance(times, int) and isinstance(seq, list | tuple):
                budget.check_items(len(seq) * times, what)
    elif operator == "+" and isinstance(left, str) and isinstance(right, str):
        budget.check_chars(len(left) + len(right), what)
    elif operator == "+" and isinstance(left, list | tuple) and isinstance(right, list | tuple):
        budget.check_items(len(left) + len(right), what)
    _check_numbers(operator, left, right, what)


def _check_numbers(operator: str, left: Any, right: Any, what: str) -> None:
    if operator not in ("*", "**"):
        return  # + - / // % never add more than a bit to the larger operand
    if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
        raise TemplateLimitError(f"exponent {right} is larger than {MAX_EXPONENT}")
    if not (isinstance(left, int) and isinstance(right, int)):
        return
    bits = {"*": left.bit_length() + right.bit_length(),
            "**": left.bit_length() * max(right, 0)}.get(operator, 0)
    if bits > MAX_INT_BITS:
        raise TemplateLimitError(f"{what} would build a number of more than {MAX_INT_BITS} bits")


# --------------------------------------------------------------------------------------------
# Formatting: %, str.format, strftime
# --------------------------------------------------------------------------------------------

_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.)", re.DOTALL)
_STRFTIME_WIDTH = re.compile(r"%[-_0^#]*(\d+)")
_DIGITS = re.compile(r"\d+")


def _number(digits: str, budget: RenderBudget, what: str) -> int:
    """A width written in a format; refused before ``int()`` if it is absurdly long."""
    if len(digits) > 9:
        raise TemplateLimitError(f"{what} uses a width of {len(digits)} digits")
    value = int(digits)
    budget.check_chars(value, what)
    return value


def check_percent(budget: RenderBudget, fmt: str, args: Any, what: str) -> None:
    """Estimate ``fmt % args`` (widths, precisions, and each conversion printing the largest
    argument) and refuse it when it would be too long."""
    widths, conversions = 0, 0
    for match in _PERCENT.finditer(fmt):
        if match.group(3) == "%":
            continue
        conversions += 1
        for group in (match.group(1), match.group(2)):
            if group == "*":
                raise TemplateLimitError(f"{what}: '*' widths are not supported in templates")
            if group:
                widths += _number(group, budget, what)
    values = args.values() if isinstance(args, Mapping) else args if isinstance(args, tuple) else (args,)
    largest = max((text_size(v, budget.max_chars) for v in values), default=0)
    budget.check_chars(len(fmt) + widths + conversions * largest, what)


def check_strftime(budget: RenderBudget, fmt: str, what: str) -> None:
    for digits in _STRFTIME_WIDTH.findall(fmt):
        _number(digits, budget, what)


class BoundedFormatter(SandboxedFormatter):
    """``str.format`` in the sandbox, refusing huge widths and counting what it has built."""

    def __init__(self, env: Any, budget: RenderBudget, **kwargs: Any) -> None:
        super().__init__(env, **kwargs)
        self._budget = budget
        self._built = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        for digits in _DIGITS.findall(format_spec):
            _number(digits, self._budget, "'format'")
        self._budget.text_size(value, "'format'")
        result = super().format_field(value, format_spec)
        self._built += len(result)
        self._budget.check_chars(self._built, "'format'")
        return result


class BoundedEscapeFormatter(BoundedFormatter, EscapeFormatter):
    """The same for ``Markup.format`` (escapes its arguments)."""
