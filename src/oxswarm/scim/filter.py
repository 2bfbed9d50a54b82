"""The SCIM filter grammar (RFC 7644 section 3.4.2.2, ABNF figure 1) parsed into an AST.

    FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
    valuePath = attrPath "[" valFilter "]"
    attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
    logExp    = FILTER SP ("and" / "or") SP FILTER
    attrPath  = [URI ":"] ATTRNAME *1subAttr

Precedence: ``not`` and parentheses bind tightest, then ``and``, then ``or`` (section
3.4.2.2 "Logical operators ... evaluated in the following order"). Operators and
``and``/``or``/``not`` are case-insensitive. The parser is bounded: a filter longer than
:data:`MAX_LENGTH` characters, nested deeper than :data:`MAX_DEPTH` or with more than
:data:`MAX_TERMS` comparisons is refused with ``invalidFilter``. The PATCH ``path``
grammar (section 3.5.2) is parsed here too (:func:`parse_path`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Final

from oxswarm.scim.errors import InvalidFilter, InvalidPath

MAX_LENGTH: Final = 2048
MAX_DEPTH: Final = 16
MAX_TERMS: Final = 64

COMPARE_OPS: Final = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
_NAME = re.compile(r"^[A-Za-z$][A-Za-z0-9_$-]*$")
_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")

Value = str | int | float | bool | None


@dataclass(frozen=True)
class AttrPath:
    """``[urn:]attr[.sub]``; ``urn`` is None when the attribute is not qualified."""

    attr: str
    sub: str | None = None
    urn: str | None = None

    def __str__(self) -> str:
        text = self.attr + (f".{self.sub}" if self.sub else "")
        return f"{self.urn}:{text}" if self.urn else text


@dataclass(frozen=True)
class Compare:
    path: AttrPath
    op: str
    value: Value


@dataclass(frozen=True)
class Present:
    path: AttrPath


@dataclass(frozen=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    inner: Filter


@dataclass(frozen=True)
class ValuePath:
    """``attr[filter]``: the inner filter's paths are sub-attributes of ``path``."""

    path: AttrPath
    filter: Filter


Filter = Compare | Present | And | Or | Not | ValuePath


def parse_attr_path(text: str) -> AttrPath:
    """``userName``, ``name.familyName``, ``urn:...:User:userName`` -> :class:`AttrPath`."""
    urn = None
    rest = text
    if text.lower().startswith("urn:"):
        urn, sep, rest = text.rpartition(":")
        if not sep or not urn:
            raise InvalidFilter(f"{text!r} is not an attribute path")
        # a bare schema URN (an extension as a whole) has a last segment like "User"
    attr, _, sub = rest.partition(".")
    if not _NAME.match(attr) or (sub and not _NAME.match(sub)):
        raise InvalidFilter(f"{text!r} is not an attribute path")
    return AttrPath(attr, sub or None, urn)


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<punct>[()\[\]])
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<word>[^\s()\[\]"]+)
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise InvalidFilter(f"unexpected character at offset {pos}: {text[pos : pos + 10]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_LENGTH:
            raise InvalidFilter(f"the filter is longer than {MAX_LENGTH} characters")
        if not text.strip():
            raise InvalidFilter("the filter is empty")
        self.tokens = _tokens(text)
        self.pos = 0
        self.terms = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self, what: str) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise InvalidFilter(f"the filter ends where {what} was expected")
        self.pos += 1
        return token

    def expect(self, punct: str) -> None:
        kind, value = self.next(f"{punct!r}")
        if kind != "punct" or value != punct:
            raise InvalidFilter(f"expected {punct!r}, found {value!r}")

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token and token[0] == "word" and token[1].lower() in words:
            self.pos += 1
            return token[1].lower()
        return None

    def parse(self) -> Filter:
        result = self.or_expr(0, in_value_path=False)
        token = self.peek()
        if token is not None:
            raise InvalidFilter(f"unexpected {token[1]!r} after a complete filter")
        return result

    def or_expr(self, depth: int, *, in_value_path: bool) -> Filter:
        if depth > MAX_DEPTH:
            raise InvalidFilter(f"the filter is nested deeper than {MAX_DEPTH} levels")
        left = self.and_expr(depth, in_value_path=in_value_path)
        while self.keyword("or"):
            left = Or(left, self.and_expr(depth, in_value_path=in_value_path))
        return left

    def and_expr(self, depth: int, *, in_value_path: bool) -> Filter:
        left = self.unary(depth, in_value_path=in_value_path)
        while self.keyword("and"):
            left = And(left, self.unary(depth, in_value_path=in_value_path))
        return left

    def unary(self, depth: int, *, in_value_path: bool) -> Filter:
        if self.keyword("not"):
            self.expect("(")
            inner = self.or_expr(depth + 1, in_value_path=in_value_path)
            self.expect(")")
            return Not(inner)
        kind, value = self.next("an attribute path, 'not' or '('")
        if kind == "punct" and value == "(":
            inner = self.or_expr(depth + 1, in_value_path=in_value_path)
            self.expect(")")
            return inner
        if kind != "word":
            raise InvalidFilter(f"expected an attribute path, found {value!r}")
        path = parse_attr_path(value)
        token = self.peek()
        if token == ("punct", "["):
            if in_value_path:
                raise InvalidFilter("a value path cannot hold another value path")
            if path.sub:
                raise InvalidFilter(
                    f"{value!r}: a value path is on an attribute, not a sub-attribute"
                )
            self.pos += 1
            inner = self.or_expr(depth + 1, in_value_path=True)
            self.expect("]")
            return ValuePath(path, inner)
        return self.attr_expr(path)

    def attr_expr(self, path: AttrPath) -> Filter:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise InvalidFilter(f"the filter has more than {MAX_TERMS} comparisons")
        kind, op = self.next(f"an operator after {str(path)!r}")
        op = op.lower()
        if kind == "word" and op == "pr":
            return Present(path)
        if kind != "word" or op not in COMPARE_OPS:
            raise InvalidFilter(f"{op!r} is not a SCIM operator (after {str(path)!r})")
        return Compare(path, op, self.value(path))

    def value(self, path: AttrPath) -> Value:
        kind, text = self.next(f"a value for {str(path)!r}")
        if kind == "string":
            try:
                decoded = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidFilter(f"bad string for {str(path)!r}: {exc.msg}") from exc
            return str(decoded)
        low = text.lower()
        if kind == "word" and low in ("true", "false"):
            return low == "true"
        if kind == "word" and low == "null":
            return None
        if kind == "word" and _NUMBER.match(text):
            return float(text) if any(c in text for c in ".eE") else int(text)
        raise InvalidFilter(
            f"{text!r} is not a value (a string needs double quotes) for {str(path)!r}"
        )


def parse_filter(text: str) -> Filter:
    """Parse a SCIM filter; :class:`InvalidFilter` with what is wrong otherwise."""
    return _Parser(text).parse()


@dataclass(frozen=True)
class PatchPath:
    """A PATCH ``path`` (RFC 7644 section 3.5.2): ``attrPath`` or ``valuePath [subAttr]``."""

    path: AttrPath
    filter: Filter | None = None
    sub: str | None = None  # the sub-attribute after ``[...]``


def parse_path(text: str) -> PatchPath:
    """Parse a PATCH path; :class:`InvalidPath` naming it when malformed."""
    try:
        if "[" not in text:
            return PatchPath(parse_attr_path(text.strip()))
        head, _, rest = text.partition("[")
        inner, sep, tail = rest.rpartition("]")
        if not sep:
            raise InvalidFilter("missing ']'")
        path = parse_attr_path(head.strip())
        sub = None
        if tail:
            if not tail.startswith(".") or not _NAME.match(tail[1:]):
                raise InvalidFilter(f"{tail!r} after ']' is not '.subAttribute'")
            sub = tail[1:]
        parser = _Parser(inner)
        value_filter = parser.or_expr(1, in_value_path=True)
        if parser.peek() is not None:
            raise InvalidFilter(f"unexpected {parser.peek()!r} in the value filter")
        return PatchPath(path, value_filter, sub)
    except InvalidFilter as exc:
        raise InvalidPath(f"path {text!r}: {exc.detail}") from exc
