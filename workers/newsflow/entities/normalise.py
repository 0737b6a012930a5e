"""One folding for alias keys and for the text they are searched in, with offsets back to the original.

Folding: Arabic spelling variants (see `arabic`), case, Latin accents
(Erdoğan = Erdogan), hyphens and typographic apostrophes, runs of whitespace.
Each folded character remembers the original span it came from, so a match
in folded text maps back to an exact slice of the article text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from newsflow.entities.arabic import DELETED_MARKS, fold_arabic

# Hyphen-like characters join name parts the same way a space does (al-Qaeda = al Qaeda).
_SEPARATORS = frozenset("-‐‑‒–—―_")
_APOSTROPHES = frozenset("'’‘`ʼ")


@dataclass(frozen=True, slots=True)
class FoldedText:
    """Folded text; `starts[i]`/`ends[i]` bound the original characters behind folded character i."""

    text: str
    starts: list[int]
    ends: list[int]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        return self.starts[start], self.ends[end - 1]


def _fold_char(char: str) -> str:
    if char.isspace() or char in _SEPARATORS:
        return " "
    if char in _APOSTROPHES:
        return "'"
    if char.isascii():
        return char.lower()
    folded = fold_arabic(char)
    if folded != char or not char.isalpha():
        return folded
    # Latin and other scripts: drop accents, then fold case (may give two letters, e.g. ß -> ss).
    base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    return base.casefold()


def fold_with_offsets(text: str) -> FoldedText:
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for index, char in enumerate(text):
        folded = _fold_char(char)
        if not folded or (folded == " " and (not chars or chars[-1] == " ")):
            # A dropped mark still belongs to the letter before it, so a span never splits a letter from its marks.
            if char in DELETED_MARKS and ends and chars[-1] != " ":
                ends[-1] = index + 1
            continue
        for folded_char in folded:
            chars.append(folded_char)
            starts.append(index)
            ends.append(index + 1)
    return FoldedText("".join(chars), starts, ends)


def fold(text: str) -> str:
    """Folded form of a name: the alias key space."""
    return fold_with_offsets(text).text.strip()


def is_word_char(char: str) -> bool:
    return char.isalnum()


def slug(text: str) -> str:
    """Folded words joined by hyphens, in any script: `Sergei Shoigu` -> `sergei-shoigu`."""
    return "-".join(re.findall(r"\w+", fold(text)))
