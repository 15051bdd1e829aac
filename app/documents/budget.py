"""What one certificate render may spend: loop iterations, calls, characters and seconds.

The sandbox (app/documents/templating.py) stops code from *escaping*; this module stops a template
from *running away*. Every limit is counted per render, across loops, macros and filters together,
so nesting cannot multiply them: ``{% for a in s %}{% for b in s %}`` spends one iteration budget.

A budget is activated around a render (:func:`active`) and found by the sandbox through a context
variable, so concurrent renders in a threaded web server never share one. Over-spending raises
:class:`TemplateLimitError` (a Jinja ``SecurityError``), which the renderer reports with the
template line like any other sandbox refusal.

The deadline is checked at every iteration, call and output (cooperative: it works in a web
request thread too). In a worker's main thread :func:`hard_time_limit` adds a signal-based stop for
whatever runs long between those checks (the PDF engine laying out one huge paragraph, say).
"""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from jinja2.exceptions import SecurityError

#: Characters of HTML a template may produce in all (plus room for its images, see
#: :meth:`RenderBudget.for_context`). A certificate page is 5-20 KB; 100 KB already takes the PDF
#: engine 10-20 s to lay out, so nothing useful is lost.
MAX_OUTPUT_CHARS = 300_000
#: Each image placeholder (a data URI of up to ~2.8 MB) may appear this many times.
IMAGE_COPIES = 3
#: Loop iterations in one render, all loops and nesting levels together.
MAX_ITERATIONS = 10_000
#: Calls (macros, methods, filters) in one render: bounds recursion that needs no loop.
MAX_CALLS = 10_000
#: Characters (list items count ~5) that filters, methods and operators may take in, all calls
#: together: what bounds a loop of 10,000 iterations that each sort or wrap a long value. Uploaded
#: images count as one short value each (they are opaque data, not text to process).
MAX_WORK = 2_000_000
#: Items in a list, tuple, dict or set a template builds.
MAX_ITEMS = 10_000
#: Nesting of lists/dicts: deeper structures only serve to blow up |pprint and |tojson.
MAX_NESTING = 32
#: Integers: ~1,200 digits, plenty for arithmetic in a certificate.
MAX_INT_BITS = 4096
#: Exponents of ``**``.
MAX_EXPONENT = 100

_IMAGE_PLACEHOLDERS = ("logo_url", "signature_url", "background_url", "qr_data_uri")


class TemplateLimitError(SecurityError):
    """A template went over one of the render's limits (size, work or time)."""


class TemplateTimeLimit(TemplateLimitError):
    """The render's deadline passed while the template was running."""


class HardTimeLimit(BaseException):  # noqa: N818 (not an error the code can handle: a stop)
    """Raised by :func:`hard_time_limit`. A BaseException on purpose: the PDF engine and Jinja
    catch ``Exception`` in places and would otherwise swallow the stop and carry on."""


class RenderBudget:
    """The counters and limits of one render."""

    def __init__(self, max_chars: int = MAX_OUTPUT_CHARS, seconds: float | None = None,
                 deadline: float | None = None) -> None:
        """``seconds`` from now, or until ``deadline`` (``time.monotonic()``) when several
        renders share one limit."""
        self.max_chars = max_chars
        self.seconds = seconds
        self.deadline = deadline or (time.monotonic() + seconds if seconds else None)
        self.iterations = 0
        self.calls = 0
        self.output = 0
        self.work = 0
        self.opaque: frozenset[int] = frozenset()  # ids of the context's image data URIs

    @classmethod
    def for_context(cls, context: Mapping[str, Any], seconds: float | None = None,
                    deadline: float | None = None) -> RenderBudget:
        """A budget sized for ``context``: uploaded images are big data URIs the template must be
        able to print, so each one widens the character limit (a few copies' worth)."""
        images = [v for k in _IMAGE_PLACEHOLDERS if isinstance(v := context.get(k), str)]
        budget = cls(MAX_OUTPUT_CHARS + IMAGE_COPIES * sum(map(len, images)), seconds, deadline)
        budget.opaque = frozenset(map(id, images))
        return budget

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TemplateTimeLimit(f"the render took longer than its {self.seconds:g} second limit")

    def tick_iteration(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_ITERATIONS:
            raise TemplateLimitError(f"the template loops more than {MAX_ITERATIONS:,} times in all")
        self.check_time()

    def tick_call(self) -> None:
        self.calls += 1
        if self.calls > MAX_CALLS:
            raise TemplateLimitError(f"the template makes more than {MAX_CALLS:,} calls "
                                     "(macros, methods, filters) in all")
        self.check_time()

    def charge_work(self, units: int) -> None:
        """Count what a filter, method or operator is about to read (its inputs' sizes)."""
        self.work += units
        if self.work > MAX_WORK:
            raise TemplateLimitError(f"the template processes more than {MAX_WORK:,} characters "
                                     "in filters, methods and operators in all")

    def charge_output(self, chars: int) -> None:
        self.output += chars
        if self.output > self.max_chars:
            raise TemplateLimitError(f"the template produces more than {self.max_chars:,} characters")
        self.check_time()

    def check_chars(self, chars: int, what: str) -> None:
        """Refuse, *before* building it, a value of ``chars`` characters."""
        if chars > self.max_chars:
            raise TemplateLimitError(f"{what} would build {chars:,} characters; "
                                     f"the limit is {self.max_chars:,}")

    def check_items(self, items: int, what: str) -> None:
        if items > MAX_ITEMS:
            raise TemplateLimitError(f"{what} would build {items:,} items; the limit is {MAX_ITEMS:,}")

    def check_value(self, value: Any, what: str) -> Any:
        """Refuse a value that came out too big (the last line of defence, after the fact)."""
        if value is None or type(value) is bool or type(value) is float:
            return value
        if isinstance(value, str):
            self.check_chars(len(value), what)
        elif isinstance(value, list | tuple | dict | set | frozenset):
            self.check_items(len(value), what)
        elif isinstance(value, int) and not isinstance(value, bool):
            check_int(value, what)
        elif isinstance(value, Iterator):
            return CountedIterable(value, self)  # lazily made items count as loop iterations
        return value

    def text_size(self, value: Any, what: str) -> int:
        """What ``str(value)`` would cost, refused if it is over the limit (never building it)."""
        if type(value) is str or type(value) is bool or value is None:
            return len(value) if type(value) is str else 8  # the common case, kept cheap
        size = text_size(value, self.max_chars)
        self.check_chars(size, what)
        return size

    def take_in(self, values: Iterable[Any], what: str) -> None:
        """Size the inputs of one call (refusing any too big to print) and charge them as work."""
        self.charge_work(sum(64 if id(value) in self.opaque else self.text_size(value, what)
                             for value in values))


class CountedIterable:
    """An iterable whose items are charged as loop iterations (``loop.length`` still works)."""

    def __init__(self, iterable: Iterable[Any], budget: RenderBudget) -> None:
        self._iterable = iterable
        self._budget = budget

    def __len__(self) -> int:
        return len(self._iterable)  # type: ignore[arg-type]  # TypeError for generators, as before

    def __iter__(self) -> Iterator[Any]:
        for item in self._iterable:
            self._budget.tick_iteration()
            yield item


def check_int(value: int, what: str) -> None:
    if value.bit_length() > MAX_INT_BITS:
        raise TemplateLimitError(f"{what} would build a number of more than {MAX_INT_BITS} bits")


def text_size(value: Any, limit: int) -> int:
    """Characters ``str(value)`` would take, counted without building it; stops past ``limit``.

    Containers count their brackets and separators, so a structure sharing one string many
    times (``[s, s, s]``) or nested many times over costs what printing it would cost.
    """
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack and total <= limit:
        item, depth = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, list | tuple | set | frozenset | dict):
            if depth >= MAX_NESTING:
                raise TemplateLimitError(f"the template nests lists or dicts more than {MAX_NESTING} deep")
            total += 2 + 4 * len(item)
            children = item.items() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2  # a bound on the digits; never str() a huge int
        elif isinstance(item, float | dt.date | dt.datetime | type(None)):
            total += 32
        else:
            total += 64  # a macro, loop, undefined...: printed as a short repr, if at all
    return total


_current: ContextVar[RenderBudget | None] = ContextVar("laurel_render_budget", default=None)


def current() -> RenderBudget:
    """The active render's budget. Outside a render (nothing should render there) a fresh budget
    each time: the size limits still hold, the totals cannot."""
    return _current.get() or RenderBudget()


def has_budget() -> bool:
    return _current.get() is not None


@contextmanager
def active(budget: RenderBudget) -> Iterator[RenderBudget]:
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def _quiet_about_swallowed_stops(hook: Any) -> Any:
    """An unraisable-exception hook that drops the stops Python swallowed: the next tick raises
    them again, so "Exception ignored in ..." about them is noise (and fails a strict test run)."""

    def quiet(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, HardTimeLimit):
            hook(unraisable)

    return quiet


@contextmanager
def hard_time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`HardTimeLimit` in this thread after ``seconds`` (main thread only).

    RQ times in-process jobs with SIGALRM too: its alarm is saved, and put back (minus the time
    spent here) on the way out. Elsewhere (web threads) this does nothing and the cooperative
    deadline of :class:`RenderBudget` is the limit.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return
    started = time.monotonic()
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    if outer_left and outer_left <= seconds:
        yield  # the outer alarm fires first anyway
        return

    done = False

    def stop(signum: int, frame: Any) -> None:
        if not done:
            raise HardTimeLimit(f"the render took longer than its {seconds:g} second limit")

    previous = signal.signal(signal.SIGALRM, stop)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_about_swallowed_stops(previous_hook)
    # Keeps firing every 0.1 s: a stop that lands in a finalizer, weakref or gc callback (where
    # Python ignores exceptions) is simply raised again.
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)
    try:
        yield
    finally:
        try:
            done = True
        finally:  # also when a last tick interrupted the line above
            done = True
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            sys.unraisablehook = previous_hook
            if outer_left:
                signal.setitimer(signal.ITIMER_REAL, max(outer_left - (time.monotonic() - started), 0.001))
