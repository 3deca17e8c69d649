"""The investigators' query syntax, parsed by us (pure): user text never reaches query_string.

Terms, "exact phrases" (also “…” 「…」 『…』), AND / OR / NOT (and ``-term``), parentheses, field
prefixes (姓名: 单位: …, see `Field`) and implicit AND. Anything else that engines treat as
syntax (wildcards, regular expressions, fuzziness, boosts, ranges, escapes) and anything too large
is refused with `QuerySyntaxError` (400), whose message says what to change. docs/search-syntax.md
documents the language for investigators.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from common.errors import DomainError

# Longest query accepted, in characters: a case query is a few names and phrases, not a document.
MAX_QUERY_CHARS = 256
# Most terms and phrases in one query: each is several engine clauses (see search_queries).
MAX_TERMS = 16
# Deepest nesting of parentheses and NOT.
MAX_DEPTH = 8


class QuerySyntaxError(DomainError):
    """The query cannot be parsed or uses a refused form; ``detail`` says which and why."""

    status: ClassVar[int] = 400


class Field(StrEnum):
    """The fields a term may be restricted to; the value is the documented Chinese prefix."""

    ANY = "全文"
    NAME = "姓名"
    UNIT = "单位"
    COMPANY = "企业"
    ADDRESS = "地址"
    CONTENT = "内容"
    POST = "职务"
    NUMBER = "编号"
    CATEGORY = "类别"
    HANDLING_UNIT = "承办单位"


# Prefixes as typed (Chinese and English); the colon may be ASCII or full-width.
FIELD_PREFIXES: dict[str, Field] = {
    **{f.value: f for f in Field},
    "name": Field.NAME,
    "unit": Field.UNIT,
    "company": Field.COMPANY,
    "address": Field.ADDRESS,
    "content": Field.CONTENT,
    "post": Field.POST,
    "no": Field.NUMBER,
    "category": Field.CATEGORY,
    "handling_unit": Field.HANDLING_UNIT,
}

QUOTES = {'"': '"', "“": "”", "「": "」", "『": "』"}
_CLOSING_QUOTES = frozenset({"”", "」", "』"})
_COLONS = (":", "：")
# Whitespace between terms (ASCII, ideographic space, tab and line breaks).
_SPACE = frozenset(" \t\r\n\u3000\u00a0")
_OPERATORS = frozenset({"AND", "OR", "NOT"})
# Characters outside quotes that other engines read as syntax, and why each is refused.
_REFUSED = {
    "*": "wildcards (* and ?) are not supported: type the characters you know",
    "?": "wildcards (* and ?) are not supported: type the characters you know",
    "~": "fuzzy and proximity searches (~) are not supported",
    "^": "boosts (^) are not supported",
    "[": "ranges ([ ] { }) are not supported: use the date and region filters",
    "]": "ranges ([ ] { }) are not supported: use the date and region filters",
    "{": "ranges ([ ] { }) are not supported: use the date and region filters",
    "}": "ranges ([ ] { }) are not supported: use the date and region filters",
    "\\": "escapes (\\) are not supported: put the text in quotes",
}


@dataclass(frozen=True, slots=True)
class Term:
    """Records containing ``text`` (in ``field``); ``phrase``: it was quoted."""

    text: str
    field: Field = Field.ANY
    phrase: bool = False


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Term | And | Or | Not


class _Kind(StrEnum):
    WORD = "word"
    PHRASE = "phrase"
    OPEN = "("
    CLOSE = ")"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    text: str
    glued: bool  # directly after the previous token, without whitespace


def _check_characters(text: str) -> None:
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(f"the query is longer than {MAX_QUERY_CHARS} characters")
    for char in text:
        if char in _SPACE:
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or char in ("\u2028", "\u2029"):
            raise QuerySyntaxError("the query contains a control character")


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, glued = 0, False
    while i < len(text):
        char = text[i]
        if char in _SPACE:
            i, glued = i + 1, False
            continue
        if char in QUOTES:
            end = text.find(QUOTES[char], i + 1)
            if end < 0:
                raise QuerySyntaxError("unbalanced quotes: a phrase is not closed")
            tokens.append(_Token(_Kind.PHRASE, text[i + 1 : end], glued))
            i, glued = end + 1, True
            continue
        if char in _CLOSING_QUOTES:
            raise QuerySyntaxError("unbalanced quotes: a closing quote without its opening one")
        if char in "()":
            tokens.append(_Token(_Kind(char), char, glued))
            i, glued = i + 1, True
            continue
        start = i
        while (
            i < len(text)
            and text[i] not in _SPACE
            and text[i] not in QUOTES
            and text[i] not in _CLOSING_QUOTES
            and text[i] not in "()"
        ):
            i += 1
        tokens.append(_Token(_Kind.WORD, text[start:i], glued))
        glued = True
    return tokens


def _has_searchable(text: str) -> bool:
    return any(unicodedata.category(c)[0] in "LN" for c in text)


def _bare_term(text: str, field: Field) -> Term:
    """A term typed without quotes; refuses the forms other engines treat as syntax."""
    if text.startswith("/"):
        raise QuerySyntaxError("regular expressions (/…/) are not supported")
    for char in text:
        if char in _REFUSED:
            if all(c in "*?" for c in text):
                raise QuerySyntaxError("a term made only of wildcards is not supported")
            raise QuerySyntaxError(_REFUSED[char])
    if not _has_searchable(text):
        raise QuerySyntaxError("a term needs a letter, digit or character to search for")
    return Term(text, field)


def _phrase(text: str, field: Field) -> Term:
    if not _has_searchable(text):
        raise QuerySyntaxError("a phrase in quotes needs a letter, digit or character to search")
    return Term(text, field, phrase=True)


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.terms = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise QuerySyntaxError("the query is empty")
        node = self.or_expr(0)
        if (token := self.peek()) is not None:
            if token.kind is _Kind.CLOSE:
                raise QuerySyntaxError("unbalanced parentheses: ')' without '('")
            raise QuerySyntaxError("unexpected input after the query")  # pragma: no cover
        return node

    def or_expr(self, depth: int) -> Node:
        children = [self.and_expr(depth)]
        while (token := self.peek()) is not None and self._is_op(token, "OR"):
            self.take()
            nxt = self.peek()
            if nxt is None or self._ends_group(nxt) or self._is_op(nxt, "OR", "AND"):
                raise QuerySyntaxError("OR needs a term on both sides")
            children.append(self.and_expr(depth))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self, depth: int) -> Node:
        children = [self.unary(depth)]
        while (token := self.peek()) is not None and not self._ends_group(token):
            if self._is_op(token, "OR"):
                break
            if self._is_op(token, "AND"):
                self.take()
                nxt = self.peek()
                if nxt is None or self._ends_group(nxt) or self._is_op(nxt, "OR", "AND"):
                    raise QuerySyntaxError("AND needs a term on both sides")
            children.append(self.unary(depth))
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise QuerySyntaxError(f"the query nests deeper than {MAX_DEPTH} levels")
        token = self.peek()
        if token is None:
            raise QuerySyntaxError("the query ends with an operator")
        if self._is_op(token, "NOT"):
            self.take()
            nxt = self.peek()
            if nxt is None or self._ends_group(nxt) or self._is_op(nxt, "AND", "OR", "NOT"):
                raise QuerySyntaxError("NOT needs a term after it")
            return Not(self.unary(depth + 1))
        if token.kind is _Kind.WORD and token.text.startswith("-"):
            self.take()
            rest = token.text[1:]
            if rest:
                if rest.startswith("-"):
                    raise QuerySyntaxError("'--' is not an operator: use one '-' or NOT")
                return Not(self._word(rest, depth))
            nxt = self.peek()
            if nxt is None or not nxt.glued or nxt.kind not in (_Kind.PHRASE, _Kind.OPEN):
                raise QuerySyntaxError("a '-' must be written directly before a term")
            return Not(self.unary(depth + 1))
        return self.primary(depth)

    def primary(self, depth: int) -> Node:
        token = self.take()
        if token.kind is _Kind.OPEN:
            nxt = self.peek()
            if nxt is None:
                raise QuerySyntaxError("unbalanced parentheses: '(' without ')'")
            if nxt.kind is _Kind.CLOSE:
                raise QuerySyntaxError("empty parentheses")
            node = self.or_expr(depth + 1)
            close = self.peek()
            if close is None or close.kind is not _Kind.CLOSE:
                raise QuerySyntaxError("unbalanced parentheses: '(' without ')'")
            self.take()
            return node
        if token.kind is _Kind.CLOSE:
            raise QuerySyntaxError("unbalanced parentheses: ')' without '('")
        if token.kind is _Kind.PHRASE:
            return self._count(_phrase(token.text, Field.ANY))
        if token.text in _OPERATORS:
            raise QuerySyntaxError(f"{token.text} needs a term on both sides")  # an operator name
        return self._word(token.text, depth)

    def _word(self, text: str, depth: int) -> Node:
        field, rest = _split_field(text)
        if field is None:
            return self._count(_bare_term(text, Field.ANY))
        if rest:
            return self._count(_bare_term(rest, field))
        nxt = self.peek()
        if nxt is None or not nxt.glued or nxt.kind is not _Kind.PHRASE:
            raise QuerySyntaxError(f"the field prefix {field.value}: needs a term right after it")
        return self._count(_phrase(self.take().text, field))

    def _count(self, term: Term) -> Term:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise QuerySyntaxError(f"the query has more than {MAX_TERMS} terms")
        return term

    @staticmethod
    def _is_op(token: _Token, *names: str) -> bool:
        return token.kind is _Kind.WORD and token.text in names

    @staticmethod
    def _ends_group(token: _Token) -> bool:
        return token.kind is _Kind.CLOSE


def _split_field(text: str) -> tuple[Field | None, str]:
    for index, char in enumerate(text):
        if char in _COLONS:
            field = FIELD_PREFIXES.get(text[:index].lower())
            return (field, text[index + 1 :]) if field is not None else (None, text)
    return None, text


def _positive(node: Node) -> bool:
    """Whether the node matches by itself (not only by excluding)."""
    if isinstance(node, Term):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_positive(c) for c in node.children)
    return all(_positive(c) for c in node.children)


def _check_negation(node: Node) -> None:
    if isinstance(node, Not):
        if isinstance(node.child, Not):
            raise QuerySyntaxError("NOT NOT cancels out: remove both")
        _check_negation(node.child)
    elif isinstance(node, Or):
        if not all(_positive(c) for c in node.children):
            raise QuerySyntaxError("each side of OR needs a term that is not negated")
        for child in node.children:
            _check_negation(child)
    elif isinstance(node, And):
        for child in node.children:
            _check_negation(child)


def parse_query(text: str) -> Node:
    """The query tree of ``text``; raises QuerySyntaxError (400) with the reason."""
    _check_characters(text)
    node = _Parser(_lex(text)).parse()
    if not _positive(node):
        raise QuerySyntaxError("the query needs at least one term that is not negated")
    _check_negation(node)
    return node


def terms_of(node: Node) -> list[Term]:
    """The positive terms of a query (what highlights and ranking look for)."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return []
    return [t for child in node.children for t in terms_of(child)]
