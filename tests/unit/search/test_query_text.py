"""The search box language: words, phrases and exclusions only; everything else is text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsflow.search.query_text import MAX_QUERY_CHARS, ParsedQuery, QueryError, parse_query


def test_words_phrases_and_exclusions():
    parsed = parse_query('Lavrov "Islamic State" -football -"world cup" «الدولة الإسلامية»')
    assert parsed == ParsedQuery(
        words=["Lavrov"], phrases=["Islamic State", "الدولة الإسلامية"], excluded=["football", "world cup"]
    )


def test_search_engine_syntax_is_plain_text():
    parsed = parse_query("al-Qaeda AND (ISIS OR *) title:x~2 [a TO b] \\ /re/")
    assert parsed.words == ["al-Qaeda", "AND", "(ISIS", "OR", "*)", "title:x~2", "[a", "TO", "b]", "\\", "/re/"]
    assert not parsed.phrases and not parsed.excluded


def test_a_lone_dash_and_empty_quotes_are_ignored():
    assert parse_query(' - "" ') == ParsedQuery()
    assert parse_query("").is_empty


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('ISIS "Islamic State', "never closed"),
        ("«داعش", "never closed"),
        ("a\x00b", r"control character \(U\+0000\)"),
        ("x" * (MAX_QUERY_CHARS + 1), "limit is"),
        (" ".join(["w"] * 40), "more than"),
    ],
)
def test_input_that_cannot_mean_what_was_intended_is_refused_with_a_reason(text, message):
    with pytest.raises(QueryError, match=message):
        parse_query(text)


@given(st.text(max_size=MAX_QUERY_CHARS))
def test_any_text_either_parses_or_raises_query_error(text):
    try:
        parsed = parse_query(text)
    except QueryError:
        return
    assert all(part.strip() for part in parsed.words + parsed.phrases + parsed.excluded)
