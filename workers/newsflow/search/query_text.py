"""The search box language, parsed by newsflow so that user text never reaches Elasticsearch as query syntax.

    words          every word must match (in any order)
    "a phrase"     these words in this order (also “…” and «…»)
    -word -"a b"   must not match

Nothing else is syntax: * ? ~ : ( ) [ ] { } / \\ AND OR are plain characters or words, which the
analyzers treat as text. The parts go into `match` and `match_phrase` queries as text values only.
Input that cannot mean what the user intended (an unclosed quote, control characters, too long)
is refused with a `QueryError` naming the problem: HTTP 400, exit code 2.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

MAX_QUERY_CHARS = 500
MAX_QUERY_PARTS = 32
QUOTES = {'"': '"', "“": "”", "«": "»", "„": "“"}


class QueryError(ValueError):
    """The user's search input is invalid; the message says why, for the user."""


@dataclass(frozen=True)
class ParsedQuery:
    words: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)  # words or phrases

    @property
    def is_empty(self) -> bool:
        return not (self.words or self.phrases)


def _check_characters(text: str) -> None:
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}")
    for position, char in enumerate(text):
        if unicodedata.category(char) in ("Cc", "Cs", "Co") and not char.isspace():
            raise QueryError(f"the query contains a control character (U+{ord(char):04X}) at position {position + 1}")


_TOKEN = re.compile(r"\s*(-?)(?:([\"“«„])|(\S+))")


def parse_query(text: str) -> ParsedQuery:
    """Split the search box text into words, phrases and exclusions; raises QueryError."""
    _check_characters(text)
    words: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []
    position = 0
    while position < len(text):
        token = _TOKEN.match(text, position)
        if token is None:  # only whitespace left
            break
        negated, opening, word = token.groups()
        if opening:
            closing = QUOTES[opening]
            end = text.find(closing, token.end())
            if end < 0:
                raise QueryError(f"the quote {opening} at position {token.start(2) + 1} is never closed")
            part = " ".join(text[token.end() : end].split())
            position = end + 1
            if part:
                (excluded if negated else phrases).append(part)
        else:
            position = token.end()
            if negated and len(word) > 0:
                excluded.append(word)
            elif word != "-":
                words.append(word)
    if len(words) + len(phrases) + len(excluded) > MAX_QUERY_PARTS:
        raise QueryError(f"the query has more than {MAX_QUERY_PARTS} words and phrases")
    return ParsedQuery(words, phrases, excluded)
