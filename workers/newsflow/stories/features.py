"""What an article offers for story matching, in any language.

* Canonical entity ids (`article.entities`): language-independent, so an
  English and an Arabic report of one event share them.
* Numbers written with digits (casualties, amounts, scores, years): the same
  in every language once Arabic-Indic digits and separators are read alike.
* Key terms: folded, crudely stemmed words of title and body; they only match
  within one language, so each is tagged with the article's language.
* Optionally a multilingual sentence embedding of title + lead (`embedding`).

Every feature is a plain string key, so the stories index can look candidates
up with `terms` queries and the scorer can weight keys by rarity.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

from newsflow.models import Article

if TYPE_CHECKING:
    from newsflow.stories.embedding import SentenceEncoder

# Words shorter than this carry little (articles, prepositions, most function words).
MIN_TERM_CHARS = 3
# Truncation stemming: the first letters of a word are a fair, language-blind stem
# (Turkish and Arabic inflect at the end; English, Spanish, French plurals and tenses too).
STEM_CHARS = 6
# A title word says more about the event than a body word.
TITLE_WEIGHT = 3


def _code_points(test: Callable[[str], bool]) -> np.ndarray:
    """Whether each code point passes `test`: the lookup table of a whole-text numpy pass."""
    table = np.zeros(sys.maxunicode + 1, dtype=bool)
    table[[code for code in range(sys.maxunicode + 1) if test(chr(code))]] = True
    return table


# What `\w` matches: words are runs of these.
_WORD_CHARS = _code_points(str.isalnum)
_WORD_CHARS[ord("_")] = True
# A word starting with a digit (any script's, circled, superscript...) is a number, not a term.
_DIGIT_CHARS = _code_points(str.isdigit)
# Every combining character (accents, Arabic diacritics and hamza seats once NFKD has split them off).
_COMBINING_CHARS = _code_points(unicodedata.combining)
# Digit groups with inner separators: 14,000 / 14.000 / 27.25 / 2,5 (`\d` reads every script's digits).
# `\d\d*`, not `\d+`: a pattern that starts with a character class lets the regex engine skip to digits.
_NUMBER = re.compile(r"\d\d*(?:[.,\u066b\u066c]\d+)*")
_THOUSANDS_GROUPS = re.compile(r"\d{1,3}(?:[.,\u066c]\d{3})+")
_THOUSANDS_SEPARATOR = re.compile(r"[.,\u066c]")
_CACHED_NUMBERS = 50_000  # written numbers whose canonical form is kept (~200 bytes each)
# Arabic-Indic and Persian digits read as ASCII digits; the Arabic decimal separator as a point.
_DIGITS = {
    **{chr(0x0660 + i): str(i) for i in range(10)},
    **{chr(0x06F0 + i): str(i) for i in range(10)},
    "\u066b": ".",
}
# Arabic letters whose variants NFKD does not unify; tatweel is decoration.
_ARABIC_FOLDS = {"ة": "ه", "ى": "ي", "\u0640": ""}
# Attached conjunction/preposition + article: والقاعدة -> قاعدة. No two share their first two
# letters, so those letters say which one a word can start with. As code points for numpy: each
# prefix's first two letters packed in one number (sorted), and its letters padded with 0.
_ARABIC_PREFIXES = ("وبال", "وال", "بال", "كال", "فال", "لل", "ال")
_PREFIX_LETTERS = np.array([[ord(char) for char in prefix.ljust(4, "\0")] for prefix in _ARABIC_PREFIXES], np.uint32)
_PREFIX_LENGTHS = np.array([len(prefix) for prefix in _ARABIC_PREFIXES])
_PREFIX_PAIRS = (_PREFIX_LETTERS[:, 0].astype(np.uint64) << 21) | _PREFIX_LETTERS[:, 1]
_PREFIX_ORDER = np.argsort(_PREFIX_PAIRS)
_SPACE = np.array([ord(" ")], dtype=np.uint32)  # between texts searched together
_LAM = ord("ل")


@dataclass(frozen=True, slots=True)
class ArticleFeatures:
    """Story-matching features of one article; counts are occurrences in the article."""

    language: str
    entities: Counter[str] = field(default_factory=Counter)
    numbers: Counter[str] = field(default_factory=Counter)
    terms: Counter[str] = field(default_factory=Counter)  # keys are `<language>:<stem>`
    embedding: np.ndarray | None = None  # unit-length float32 vector


def replace_chars(text: str, replacements: dict[str, str]) -> str:
    """`text.translate(replacements)` for small tables whose values are not keys: only the characters present
    are replaced, each by one C scan (translate looks every character up in Python, about 10x slower)."""
    for char, replacement in replacements.items():
        if char in text:
            text = text.replace(char, replacement)
    return text


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _folded_codes(text: str) -> np.ndarray:
    """Code points of `fold(text)`."""
    if text.isascii():  # nothing to decompose
        return _codes(text.casefold())
    codes = _codes(unicodedata.normalize("NFKD", replace_chars(text.casefold(), _ARABIC_FOLDS)))
    return codes[~_COMBINING_CHARS[codes]]


def fold(text: str) -> str:
    """Case, accents, Arabic diacritics and hamza seats folded away (one spelling per word)."""
    return _folded_codes(text).tobytes().decode("utf-32-le", "surrogatepass")


def _stem_starts(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Where the stems of words [starts, ends) of `codes` begin: after an attached Arabic prefix when
    MIN_TERM_CHARS letters follow it."""
    padded = np.append(codes, np.zeros(_PREFIX_LETTERS.shape[1], dtype=np.uint32))  # words of 1-3 letters
    first_two = (padded[starts].astype(np.uint64) << 21) | padded[starts + 1]
    at = _PREFIX_ORDER[np.searchsorted(_PREFIX_PAIRS, first_two, sorter=_PREFIX_ORDER).clip(max=len(_PREFIX_ORDER) - 1)]
    letters = _PREFIX_LETTERS[at]
    attached = (_PREFIX_PAIRS[at] == first_two) & (ends - starts - _PREFIX_LENGTHS[at] >= MIN_TERM_CHARS)
    for position in range(2, letters.shape[1]):
        attached &= (letters[:, position] == 0) | (padded[starts + position] == letters[:, position])
    return starts + _PREFIX_LENGTHS[at] * attached


def _terms_of(texts: list[str]) -> list[list[str]]:
    """`terms` of each text, found in one numpy pass over them all (numpy's set-up outweighs a title)."""
    folded = [_folded_codes(text) for text in texts]
    codes = np.concatenate([part for text_codes in folded for part in (text_codes, _SPACE)])
    edges = np.flatnonzero(np.diff(_WORD_CHARS[codes], prepend=False, append=False))
    starts, ends = edges[0::2], edges[1::2]
    kept = (ends - starts >= MIN_TERM_CHARS) & ~_DIGIT_CHARS[codes[starts]]
    starts, ends = starts[kept], ends[kept]
    if (codes == _LAM).any():  # every Arabic prefix has one
        starts = _stem_starts(codes, starts, ends)
    # Truncation stemming: the first STEM_CHARS letters. Those are kept and every other character becomes
    # a space, so that `str.split` cuts the stems out in C.
    stem_bounds = np.zeros(len(codes) + 1, dtype=np.int8)
    stem_bounds[starts] = 1
    stem_bounds[np.minimum(ends, starts + STEM_CHARS)] -= 1
    in_stem = np.cumsum(stem_bounds[:-1], dtype=np.int8).view(bool)
    spaced = np.where(in_stem, codes, _SPACE).tobytes().decode("utf-32-le", "surrogatepass")
    text_starts = np.cumsum([0] + [len(text_codes) + 1 for text_codes in folded]).tolist()
    return [spaced[start:end].split() for start, end in pairwise(text_starts)]


def terms(text: str) -> list[str]:
    """Stems of the words of `text` that are not numbers and not too short."""
    return _terms_of([text])[0]


@lru_cache(maxsize=_CACHED_NUMBERS)  # years, counts and amounts recur from article to article
def canonical_number(written: str) -> str | None:
    """One spelling per quantity (14,000 = 14.000 = ١٤٠٠٠ -> 14000); None for small counts that say little."""
    written = replace_chars(written, _DIGITS)
    thousands = _THOUSANDS_GROUPS.fullmatch(written)
    written = _THOUSANDS_SEPARATOR.sub("", written) if thousands else written.replace(",", ".")
    if "." in written:
        written = written.rstrip("0").rstrip(".")
    if len(written.lstrip("0")) < 2:
        return None  # 0-9 recur in every text
    return written


def numbers(text: str) -> list[str]:
    # `_NUMBER` reads the digits and separators `_DIGITS` replaces as they are: `canonical_number` replaces them.
    found = (canonical_number(match) for match in _NUMBER.findall(text))
    return [number for number in found if number is not None]


def article_features(article: Article, embedding: np.ndarray | None = None) -> ArticleFeatures:
    body_terms, title_terms = _terms_of([article.text, article.title])
    term_counts = Counter(body_terms)
    for term in title_terms:
        term_counts[term] += TITLE_WEIGHT
    language_key = f"{article.language}:"
    return ArticleFeatures(
        language=article.language,
        entities=Counter(mention.entity_id for mention in article.entities),
        numbers=Counter(numbers(article.title) + numbers(article.text)),
        terms=Counter(dict(zip(map(language_key.__add__, term_counts), term_counts.values(), strict=True))),
        embedding=embedding,
    )


def add_story_features(articles: list[Article], encoder: SentenceEncoder | None, embedded_chars: int) -> None:
    """Batch stage, after entities: story features for every article (embeddings in one model call
    over the title and the first `embedded_chars` of the body)."""
    embeddings = (
        encoder.embed_articles(articles, embedded_chars) if encoder is not None and articles else [None] * len(articles)
    )
    for article, embedding in zip(articles, embeddings, strict=True):
        article.story_features = article_features(article, embedding)
