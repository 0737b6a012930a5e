"""Names read from the layout and the words of English text, without a model.

Newswire has line shapes whose names a reader types at once: results tables
(teams, players), datelines (places); and nationality words are MISC however
they are capitalised. Both profiles use this: the light one alone, the full
one over the model's spans.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import NamedTuple

DEMONYMS_FILE = Path(__file__).resolve().parent / "data" / "demonyms_en.txt"

# The shapes are searched in the text behind a newline (`_lined`), and a line starts after "\n", not at `^`:
# the regex engine skips from newline to newline where it tries `^` at every character. Likewise a
# lookbehind comes after the first character, a capital, which the engine skips to.

# Results tables: "Reading 22 7 5 10", "NEW YORK 74 59 .556" (standings rows), "Montrose 2 Ross County 1"
# (match line), "West Bromwich v Bolton" and "Fixtures: Birmingham v Barnsley , Leeds v Derby" (fixtures).
_TEAM = r"[A-Z][\w.&'-]*(?: (?:[A-Z][\w.&'-]*|de|del|la|of))*"
# Golf leaderboards: "291 Phillip Price 72 76 74 69", ", Adam Hunter 70 79 73": a player, not a team.
_ROUNDS = r"(?: [6-8]\d){2,4}(?= ,| \(|$)"
_GOLF_ROW = re.compile(rf"(?:\n|, | (?<=\d{{3}} ))({_TEAM}){_ROUNDS}", re.MULTILINE)
_STANDINGS_ROW = re.compile(
    rf"\n({_TEAM})(?!{_ROUNDS})(?:(?: \d{{1,3}}){{4}}| \d{{1,3}} \d{{1,3}} \.\d{{3}})", re.MULTILINE
)
_MATCH_LINE = re.compile(rf"\n({_TEAM}) \d{{1,3}} ({_TEAM}) \d{{1,3}}(?!\S)")
_FIXTURE_LINE = re.compile(rf"(?:\n|: |, )({_TEAM}) (?:v|vs) ({_TEAM})(?= [,.]|$)", re.MULTILINE)
# "Colorado at St Louis": the visiting team, then the place of the game.
_AWAY_LINE = re.compile(rf"\n({_TEAM}) (?:at|AT) ({_TEAM})$", re.MULTILINE)
# Datelines: "MANCHESTER , England 1996-08-31", "BONN 1996-08-30", "MADRID (Reuters) -".
_DATELINE = re.compile(rf"\n({_TEAM})(?: ?, ({_TEAM}))? (?:\d{{4}}-\d\d-\d\d|\(Reuters\))")
# Section slugs of wire headlines ("SOCCER - FRENCH LEAGUE", "COAL - ..."): a topic, not an organisation.
_SLUG = re.compile(r"\n([A-Z]+) - ")
# Wire sign-offs: "-- Moscow Newsroom +7 095 941 8520", "New York Newsdesk": the bureau is an organisation.
_NEWSROOM = re.compile(rf"(?<![\w-])({_TEAM} News(?:room|desk))\b")
# An initial and a surname is a person: "P. Simmons", "T.O'Gorman" (not "U.S. Open": one initial only).
_INITIALLED_NAME = re.compile(r"[A-Z](?<![\w.].)\. ?[A-Z][a-z][\w'-]*(?: [A-Z][a-z][\w'-]*)?")
# Tournaments: "U.S. Open", "Asian Cup", "World Series of Golf"... MISC, as events are.
_EVENT_WORDS = r"(?:Cup|Open|Championships?|Series|Trophy|Grand Prix)"
_EVENT = re.compile(rf"(?<![\w-])((?:(?!The |A )[A-Z][\w.'-]* )+{_EVENT_WORDS}(?: of [A-Z]\w+)?)(?![\w-])")
# Line-ups: "15 - Andre Joubert , 14 - James Small", "13 - Japie Mulder ( Joel Stransky )" (shirt number, name).
_PLAYER = re.compile(
    r"(?:\n|, |; |: )\d{1,2} - ([A-Z][\w.'-]*(?: (?:[A-Z][\w.'-]*|van|der|de|da|le))*)(?= [,;.(]|$)", re.MULTILINE
)
# Cricket scorecards: "Sohail c Croft b Gough 0", "Waqar Younis lbw b Gough 4": batsman, fielder, bowler.
_DISMISSAL_LINE = re.compile(rf"\n({_TEAM})(?: c ({_TEAM}))?(?: lbw| st ({_TEAM}))? b ({_TEAM}) \d{{1,3}}(?!\S)")
# Goal scorers by country: "Panama - Jorge Luis Dely Valdes ( 50th )".
_SCORER_LINE = re.compile(rf"\n({_TEAM}) - ({_TEAM}) \( \d{{1,3}}(?:st|nd|rd|th)\b")


class EntitySpan(NamedTuple):
    start: int
    end: int
    type: str
    # Read from the layout of a line (results table, dateline): stronger evidence than an alias-table match
    # ("Reading" the club).
    by_layout: bool = False


def _holding(*words: str) -> Callable[[str], bool]:
    """Whether a text holds any of `words`."""
    return lambda text: any(word in text for word in words)


# Two rounds in a row, as every golf row has: a scan for them costs a fifth of the row's (tried at each space).
_ROUND_PAIR = re.compile(r" [6-8]\d [6-8]\d")

# Each shape, the types of its groups, and a test the text must pass for the shape to be tried at all
# (a substring test, or a short pattern, is much cheaper than the shape's scan of a whole article).
_SHAPES: tuple[tuple[re.Pattern[str], list[str], Callable[[str], object] | None], ...] = (
    (_STANDINGS_ROW, ["ORG"], None),
    (_MATCH_LINE, ["ORG", "ORG"], None),
    (_FIXTURE_LINE, ["ORG", "ORG"], _holding(" v ", " vs ")),
    (_AWAY_LINE, ["ORG", "LOC"], _holding(" at ", " AT ")),
    (_PLAYER, ["PER"], _holding(" - ")),
    (_DISMISSAL_LINE, ["PER", "PER", "PER", "PER"], _holding(" b ")),
    (_SCORER_LINE, ["LOC", "PER"], _holding(" - ")),
    (_DATELINE, ["LOC", "LOC"], None),
    (_NEWSROOM, ["ORG"], _holding("News")),
    (_INITIALLED_NAME, ["PER"], None),
    (_EVENT, ["MISC"], _holding("Cup", "Open", "Championship", "Series", "Trophy", "Grand Prix")),
    (_GOLF_ROW, ["PER"], _ROUND_PAIR.search),
)


def with_line_names(spans: list[EntitySpan], text: str) -> list[EntitySpan]:
    """`spans` (a model's, or none) with the names of line layouts and the nationality words of `text`."""
    lined = _lined(text)
    slugs = {(match.start(1) - 1, match.end(1) - 1) for match in _SLUG.finditer(lined)}
    if slugs:
        spans = [span for span in spans if span.type != "ORG" or (span.start, span.end) not in slugs]
    return _with_demonyms(_with_table_layout(spans, lined), text)


def _lined(text: str) -> str:
    """`text` behind a newline, where the shapes are searched: offsets there are one more than in `text`."""
    return "\n" + text


def _with_table_layout(spans: list[EntitySpan], lined: str) -> list[EntitySpan]:
    """Teams of standings rows, match and fixture lines (ORG), players of line-ups (PER), places of
    datelines (LOC), newsrooms of sign-offs (ORG), initialled people (PER), golfers (PER), tournaments (MISC),
    in place of what the model made of them."""
    laid_out = [
        EntitySpan(match.start(group) - 1, match.end(group) - 1, entity_type, by_layout=True)
        for pattern, types, needs in _SHAPES
        if needs is None or needs(lined)
        for match in pattern.finditer(lined)
        for group, entity_type in enumerate(types, start=1 if pattern.groups else 0)
        if match.start(group) >= 0
    ]
    if not laid_out:
        return spans
    # Where two shapes claim overlapping words, the first in the list above wins.
    claimed: list[EntitySpan] = []
    for name in laid_out:
        if not any(name.start < other.end and other.start < name.end for other in claimed):
            claimed.append(name)
    laid_out = claimed
    kept = [span for span in spans if not any(span.start < name.end and name.start < span.end for name in laid_out)]
    return sorted(kept + laid_out)


# Capitalised words, and the next one when it is capitalised too ("South Korean"); a set lookup is
# much faster than one regex alternative per nationality.
_CAPITALISED = re.compile(r"([A-Z](?<![\w-].)[\w']*)(?: ([A-Z][\w']*))?(?![\w-])")


@cache
def _demonyms() -> frozenset[str]:
    lines = DEMONYMS_FILE.read_text(encoding="utf-8").splitlines()
    words = [line for line in lines if line and not line.startswith("#")]
    return frozenset(form for word in words for form in (word, word.upper()))


def _demonym_spans(text: str) -> list[tuple[int, int]]:
    demonyms = _demonyms()
    spans = []
    for match in _CAPITALISED.finditer(text):
        first, second = match.groups()
        if second and match.group() in demonyms:
            spans.append(match.span())
        elif first in demonyms:
            spans.append(match.span(1))
            if second in demonyms:
                spans.append(match.span(2))
        elif second in demonyms:
            spans.append(match.span(2))
    return spans


def _with_demonyms(spans: list[EntitySpan], text: str) -> list[EntitySpan]:
    """Nationality words ("Mexican", "SCOTTISH", "South Korean") as MISC where the model found nothing
    there or took the word alone for another type ("Welsh referee" -> PER); longer names keep theirs."""
    found = []
    for start, end in _demonym_spans(text):
        overlapping = [span for span in spans if span.start < end and start < span.end]
        if all((span.start, span.end) == (start, end) for span in overlapping):
            found.append(EntitySpan(start, end, "MISC"))
    if not found:
        return spans
    kept = [span for span in spans if (span.start, span.end) not in {(d.start, d.end) for d in found}]
    return sorted(kept + found)
