"""The SCIM filter grammar (RFC 7644 section 3.4.2.2), parsed by hand into a small tree: no eval, bounded.

    filter     = or ; or = and ("or" and)* ; and = unary ("and" unary)*
    unary      = "not" "(" filter ")" | "(" filter ")" | attrPath "[" filter "]" | attrPath "pr"
               | attrPath op value
    op         = eq ne co sw ew gt ge lt le ; value = "string" | true | false | null | number
    attrPath   = [schema URN ":"] name ["." subName]

The same tree filters lists (the service turns it into SQL for the attributes it can search) and selects
values of a multi-valued attribute in a PATCH path (`emails[type eq "work"]`, `members[value eq "..."]`),
evaluated here by `matches`. Anything else is `FilterError` (400 invalidFilter).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

MAX_FILTER = 2000  # characters
MAX_TOKENS = 300
MAX_DEPTH = 16
OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")

_TOKEN = re.compile(r'\s*(?:(?P<string>"(?:[^"\\\x00-\x1f]|\\.)*")|(?P<punct>[()\[\]])|'
                    r'(?P<word>[A-Za-z0-9$_:.+\-]+))')


class FilterError(ValueError):
    """Not a filter Laurel understands; the message says why (400 invalidFilter)."""


@dataclass(frozen=True)
class AttrPath:
    schema: str | None
    name: str  # as written; compare with .key
    sub: str | None = None

    @property
    def key(self) -> str:
        """`emails.value`, `username`: lower-cased, without the schema."""
        return f"{self.name}.{self.sub}".lower() if self.sub else self.name.lower()


@dataclass(frozen=True)
class Compare:
    path: AttrPath
    op: str  # one of OPERATORS, or "pr"
    value: object = None


@dataclass(frozen=True)
class Logical:
    op: str  # "and" | "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    inner: Node


@dataclass(frozen=True)
class ValuePath:
    """`attr[filter]`: some value of the multi-valued `attr` matches `filter` (on its sub-attributes)."""

    path: AttrPath
    inner: Node


Node = Compare | Logical | Not | ValuePath


def parse_path(text: str) -> AttrPath:
    """An attribute path: `userName`, `name.givenName`, `urn:...:core:2.0:User:userName`,
    `urn:...:enterprise:2.0:User:department`."""
    schema = None
    rest = text
    if ":" in text:
        schema, _, rest = text.rpartition(":")
        if not schema.lower().startswith("urn:") or not rest:
            raise FilterError(f"{text[:80]!r} is not an attribute path.")
    name, dot, sub = rest.partition(".")
    if not _is_name(name) or (dot and not _is_name(sub)):
        raise FilterError(f"{text[:80]!r} is not an attribute path.")
    return AttrPath(schema, name, sub or None)


def _is_name(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z$][A-Za-z0-9$_\-]{0,63}", text))


def parse(text: str) -> Node:
    if not isinstance(text, str) or not text.strip():
        raise FilterError("The filter is empty.")
    if len(text) > MAX_FILTER:
        raise FilterError(f"The filter is longer than {MAX_FILTER} characters.")
    parser = _Parser(_tokens(text))
    node = parser.filter(0)
    if parser.peek() is not None:
        raise FilterError(f"Unexpected {parser.peek()[1][:40]!r} after the filter.")
    return node


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FilterError(f"Unexpected character at position {position + 1} of the filter.")
        kind = match.lastgroup or "word"
        tokens.append((kind, match.group(kind)))
        position = match.end()
        if len(tokens) > MAX_TOKENS:
            raise FilterError("The filter is too long.")
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.index = tokens, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FilterError("The filter ends too early.")
        self.index += 1
        return token

    def expect(self, punct: str) -> None:
        kind, value = self.take()
        if kind != "punct" or value != punct:
            raise FilterError(f"Expected {punct!r} in the filter.")

    def is_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1].lower() in words

    def filter(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise FilterError("The filter nests too deeply.")
        node = self.conjunction(depth)
        while self.is_word("or"):
            self.take()
            node = Logical("or", node, self.conjunction(depth))
        return node

    def conjunction(self, depth: int) -> Node:
        node = self.unary(depth)
        while self.is_word("and"):
            self.take()
            node = Logical("and", node, self.unary(depth))
        return node

    def unary(self, depth: int) -> Node:
        if self.is_word("not"):
            self.take()
            self.expect("(")
            inner = self.filter(depth + 1)
            self.expect(")")
            return Not(inner)
        kind, value = self.take()
        if kind == "punct" and value == "(":
            inner = self.filter(depth + 1)
            self.expect(")")
            return inner
        if kind != "word":
            raise FilterError(f"Expected an attribute name, found {value[:40]!r}.")
        path = parse_path(value)
        token = self.peek()
        if token == ("punct", "["):
            self.take()
            inner = self.filter(depth + 1)
            self.expect("]")
            return ValuePath(path, inner)
        op_kind, op = self.take()
        op = op.lower()
        if op_kind != "word" or (op not in OPERATORS and op != "pr"):
            raise FilterError(f"Unknown operator {op[:20]!r} (use eq, ne, co, sw, ew, gt, ge, lt, le or pr).")
        if op == "pr":
            return Compare(path, "pr")
        return Compare(path, op, self.value())

    def value(self) -> object:
        kind, text = self.take()
        if kind == "string":
            try:
                return json.loads(text)
            except ValueError:
                raise FilterError("A string in the filter is not valid.") from None
        if kind == "word":
            lowered = text.lower()
            if lowered in ("true", "false", "null"):
                return {"true": True, "false": False, "null": None}[lowered]
            if re.fullmatch(r"-?\d{1,18}(\.\d{1,18})?", text):
                return float(text) if "." in text else int(text)
        raise FilterError("Expected a value (a quoted string, true, false, null or a number), "
                          f"found {text[:40]!r}.")


def matches(node: Node, item: dict) -> bool:
    """Whether one value of a multi-valued attribute (a dict of sub-attributes) matches `node`.

    Names compare case-insensitively; string values too (Laurel's sub-attributes are not case-exact)."""
    if isinstance(node, Logical):
        left = matches(node.left, item)
        if node.op == "and":
            return left and matches(node.right, item)
        return left or matches(node.right, item)
    if isinstance(node, Not):
        return not matches(node.inner, item)
    if isinstance(node, ValuePath):
        raise FilterError("A value filter cannot hold another one.")
    if node.path.sub is not None:
        raise FilterError("Inside brackets, name a sub-attribute without a dot (e.g. value, type).")
    actual = next((v for k, v in item.items() if k.lower() == node.path.name.lower()), None)
    return compare(node.op, actual, node.value)


def compare(op: str, actual: object, expected: object) -> bool:
    if op == "pr":
        return actual not in (None, "", [], {})
    if isinstance(actual, str) and isinstance(expected, str):
        actual, expected = actual.lower(), expected.lower()
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if (not isinstance(actual, str) or not isinstance(expected, str)) and op in ("co", "sw", "ew"):
        return False
    if op == "co":
        return expected in actual
    if op == "sw":
        return actual.startswith(expected)
    if op == "ew":
        return actual.endswith(expected)
    try:
        return {"gt": actual > expected, "ge": actual >= expected, "lt": actual < expected,
                "le": actual <= expected}[op]
    except TypeError:
        return False
