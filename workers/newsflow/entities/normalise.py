"""One folding for alias keys and for the text they are searched in, with offsets back to the original.

Folding: Arabic spelling variants (see `arabic`), case, Latin accents
(Erdoğan = Erdogan), hyphens and typographic apostrophes, runs of whitespace.
Each folded character remembers the original span it came from, so a match
in folded text maps back to an exact slice of the article text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from newsflow.entities.arabic import DELETED_MARKS, fold_arabic

# Hyphen-like characters join name parts the same way a space does (al-Qaeda = al Qaeda).
_SEPARATORS = frozenset("-‐‑‒–—―_")
_APOSTROPHES = frozenset("'’‘`ʼ")


@dataclass(frozen=True, slots=True)
class FoldedText:
    """Folded text; `starts[i]`/`ends[i]` bound the original characters behind folded character i."""

    text: str
    starts: np.ndarray
    ends: np.ndarray


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


class _CharTable(dict[int, str]):
    """`str.translate` table that folds each code point on first sight and remembers it."""

    def __init__(self, value: Callable[[str], str]) -> None:
        super().__init__()
        self._value = value

    def __missing__(self, code: int) -> str:
        self[code] = value = self._value(chr(code))
        return value


_FOLDS = _CharTable(_fold_char)
# Length of each character's fold (0 to 3) as a character, to count output per input in C.
_FOLD_LENGTHS = _CharTable(lambda char: chr(len(_fold_char(char))))
_DELETED_MARK = re.compile("[" + "".join(sorted(DELETED_MARKS)) + "]")
# Every Basic Multilingual Plane character's fold as array rows (length, up to 3 code points), built
# once (~50 ms): a text of those characters folds by numpy indexing, without `str.translate`'s
# lookup of each character in a Python dict (twice ~0.08 ms per 3 KB article).
_BMP = 0x10000
_BMP_FOLDS = [_fold_char(chr(code)) for code in range(_BMP)]
_BMP_FOLD_LENGTHS = np.array([len(fold) for fold in _BMP_FOLDS], dtype=np.intp)
_BMP_FOLD_CODES = np.zeros((_BMP, int(_BMP_FOLD_LENGTHS.max())), dtype=np.uint32)
for _code, _fold in enumerate(_BMP_FOLDS):
    _BMP_FOLD_CODES[_code, : len(_fold)] = [ord(char) for char in _fold]
del _BMP_FOLDS


def _spread_folds(text: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """(code points of every character's fold, spaces not yet collapsed; the text index each comes from;
    whether a character folds to nothing, as the deleted marks do)."""
    text_codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if text_codes.size and int(text_codes.max()) >= _BMP:  # rare (emoji): per-character tables
        lengths = np.frombuffer(text.translate(_FOLD_LENGTHS).encode("latin-1"), dtype=np.uint8)
        spread = text.translate(_FOLDS).encode("utf-32-le", "surrogatepass")
        return np.frombuffer(spread, dtype=np.uint32), np.repeat(np.arange(len(text)), lengths), not lengths.all()
    lengths = _BMP_FOLD_LENGTHS[text_codes]
    if (lengths == 1).all():  # most texts: one folded character per character, nothing to spread
        return _BMP_FOLD_CODES[text_codes, 0], np.arange(len(text)), False
    sources = np.repeat(np.arange(len(text)), lengths)
    # Output k is character `within[k]` of its source's fold.
    within = np.arange(len(sources)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return _BMP_FOLD_CODES[text_codes[sources], within], sources, not lengths.all()


def fold_with_offsets(text: str) -> FoldedText:
    # Whole-text numpy index arithmetic: a Python loop per character cost ~1 ms per article.
    codes, sources, dropped = _spread_folds(text)
    # A space survives only after a non-space: runs collapse to one, leading spaces go.
    spaces = codes == ord(" ")
    keep = ~spaces
    keep[1:] |= ~spaces[:-1]
    starts = sources[keep]
    ends = starts + 1
    folded = codes[keep].tobytes().decode("utf-32-le", "surrogatepass")
    # A dropped mark still belongs to the letter before it, so a span never splits a letter from its marks.
    if dropped:
        marks = [mark.start() for mark in _DELETED_MARK.finditer(text)]
        for before, mark in zip(np.searchsorted(starts, marks).tolist(), marks, strict=True):
            if before and folded[before - 1] != " ":
                ends[before - 1] = mark + 1
    return FoldedText(folded, starts, ends)


def fold(text: str) -> str:
    """Folded form of a name: the alias key space."""
    # `fold_with_offsets(text).text.strip()` without offsets: on a name, `str.translate` beats numpy's set-up.
    return " ".join(filter(None, text.translate(_FOLDS).split(" "))).strip()


# A method descriptor, not a Python function: it runs for every hit of the alias table.
is_word_char = str.isalnum


def slug(text: str) -> str:
    """Folded words joined by hyphens, in any script: `Sergei Shoigu` -> `sergei-shoigu`."""
    return "-".join(re.findall(r"\w+", fold(text)))
