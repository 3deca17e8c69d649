"""The investigators' query syntax: what parses to what, and what is refused with a 400."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search_api.queries.syntax import (
    MAX_QUERY_CHARS,
    MAX_TERMS,
    And,
    Field,
    Node,
    Not,
    Or,
    QuerySyntaxError,
    Term,
    parse_query,
    terms_of,
)

PARSED: dict[str, Node] = {
    "王伟": Term("王伟"),
    "王伟 李强": And((Term("王伟"), Term("李强"))),
    "王伟 AND 李强": And((Term("王伟"), Term("李强"))),
    "王伟 OR 李强": Or((Term("王伟"), Term("李强"))),
    "王伟 NOT 李强": And((Term("王伟"), Not(Term("李强")))),
    "王伟 -李强": And((Term("王伟"), Not(Term("李强")))),
    '"王 伟"': Term("王 伟", phrase=True),
    "“粮食 购销”": Term("粮食 购销", phrase=True),
    "「粮食购销」": Term("粮食购销", phrase=True),
    "『AND』": Term("AND", phrase=True),
    "姓名:王伟": Term("王伟", Field.NAME),
    "姓名：王伟": Term("王伟", Field.NAME),
    "name:王伟": Term("王伟", Field.NAME),
    '单位:"海口 粮库"': Term("海口 粮库", Field.UNIT, phrase=True),
    "承办单位:纪委": Term("纪委", Field.HANDLING_UNIT),
    "编号:XF001": Term("XF001", Field.NUMBER),
    "10:30": Term("10:30"),  # not a known prefix: a literal term
    "(王伟 OR 李强) 粮库": And((Or((Term("王伟"), Term("李强"))), Term("粮库"))),
    '-"陈粮 顶替" 粮库': And((Not(Term("陈粮 顶替", phrase=True)), Term("粮库"))),
    "粮库 -(王伟 OR 李强)": And((Term("粮库"), Not(Or((Term("王伟"), Term("李强")))))),
    "a OR b c": Or((Term("a"), And((Term("b"), Term("c"))))),
    "某某（集团）有限公司": Term("某某（集团）有限公司"),
    "and": Term("and"),  # operators are upper case only
}


@pytest.mark.parametrize("text", sorted(PARSED))
def test_query_parses_to_its_tree(text: str) -> None:
    assert parse_query(text) == PARSED[text]


REFUSED: dict[str, str] = {
    '"王伟': "unbalanced quotes",
    "“王伟": "unbalanced quotes",
    "王伟」": "unbalanced quotes",
    "(王伟": "unbalanced parentheses",
    "王伟)": "unbalanced parentheses",
    "()": "empty parentheses",
    "AND 王伟": "AND needs",
    "王伟 AND": "AND needs",
    "王伟 OR": "OR needs",
    "王伟 OR OR 李强": "OR needs",
    "NOT": "NOT needs",
    "王伟 NOT": "NOT needs",
    "- 王伟": "directly before",
    "--王伟": "'--'",
    "NOT NOT 王伟": "NOT needs",
    "-王伟": "not negated",
    "王伟 OR -李强": "not negated",
    "王*": "wildcards",
    "王?伟": "wildcards",
    "*": "only of wildcards",
    "?*": "only of wildcards",
    "/王.*/": "regular expressions",
    "王伟~2": "fuzzy",
    "王伟^3": "boosts",
    "[a TO z]": "ranges",
    "王\\伟": "escapes",
    "王\x00伟": "control character",
    "王\x1b伟": "control character",
    "\x7f": "control character",
    "x" * (MAX_QUERY_CHARS + 1): "longer than",
    " ".join(["词"] * (MAX_TERMS + 1)): "more than",
    "(" * 20 + "王" + ")" * 20: "nests deeper",
    '""': "needs a letter",
    "，。": "needs a letter",
    "姓名:": "needs a term",
    "姓名: 王伟": "needs a term",
    "": "empty",
    "   ": "empty",
}


@pytest.mark.parametrize("text", sorted(REFUSED))
def test_refused_query_names_the_reason(text: str) -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        parse_query(text)
    assert raised.value.status == 400
    assert REFUSED[text] in raised.value.detail


def test_refusals_do_not_echo_the_query() -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        parse_query("张三丰*")
    assert "张三丰" not in raised.value.detail


def test_positive_terms_leave_out_the_negated() -> None:
    assert terms_of(parse_query("王伟 -李强 (粮库 OR 粮站)")) == [
        Term("王伟"),
        Term("粮库"),
        Term("粮站"),
    ]


@given(st.text(max_size=300))
def test_arbitrary_text_parses_or_is_refused_with_a_400(text: str) -> None:
    try:
        node = parse_query(text)
    except QuerySyntaxError as exc:
        refused: QuerySyntaxError | None = exc
    else:
        refused = None
        assert terms_of(node)
    if refused is not None:
        assert refused.status == 400
        assert refused.detail


_ALPHABET = st.sampled_from(list('王伟 "“”「」()-:：*?~AND OR NOT姓名单位x1/\\^[]\t'))


@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_syntax_heavy_text_parses_or_is_refused_with_a_400(text: str) -> None:
    try:
        node = parse_query(text)
    except QuerySyntaxError as exc:
        assert str(exc)  # noqa: PT017 - any other exception fails the test
    else:
        assert terms_of(node)
