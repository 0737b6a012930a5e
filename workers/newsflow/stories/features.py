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
from dataclasses import dataclass, field
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

# Digits `\d` does not match (Ethiopic, circled, ...): a word starting with one is a number too.
_OTHER_DIGITS = "".join(chr(cp) for cp in range(sys.maxunicode + 1) if chr(cp).isdigit() and not chr(cp).isdecimal())
# A word of MIN_TERM_CHARS or more that does not start with a digit (what `terms` keeps of `\w+`).
_TERM_WORD = re.compile(rf"\b(?![\d{re.escape(_OTHER_DIGITS)}])\w{{{MIN_TERM_CHARS},}}")
# Digit groups with inner separators: 14,000 / 14.000 / 27.25 / 2,5.
_NUMBER = re.compile(r"\d+(?:[.,\u066b\u066c]\d+)*")
_THOUSANDS_GROUPS = re.compile(r"\d{1,3}(?:[.,\u066c]\d{3})+")
# Arabic-Indic and Persian digits read as ASCII digits; the Arabic decimal separator as a point.
_DIGITS = {
    **{chr(0x0660 + i): str(i) for i in range(10)},
    **{chr(0x06F0 + i): str(i) for i in range(10)},
    "\u066b": ".",
}
# Arabic letters whose variants NFKD does not unify; tatweel is decoration.
_ARABIC_FOLDS = {"ة": "ه", "ى": "ي", "\u0640": ""}
# Every combining character (accents, Arabic diacritics and hamza seats once NFKD has split them off).
_COMBINING = {chr(cp): "" for cp in range(sys.maxunicode + 1) if unicodedata.combining(chr(cp))}
# Attached conjunction/preposition + article: والقاعدة -> قاعدة. No two share their first two
# letters, so those letters say which one a word can start with.
_ARABIC_PREFIXES = {prefix[:2]: prefix for prefix in ("وبال", "وال", "بال", "كال", "فال", "لل", "ال")}


@dataclass(frozen=True, slots=True)
class ArticleFeatures:
    """Story-matching features of one article; counts are occurrences in the article."""

    language: str
    entities: Counter[str] = field(default_factory=Counter)
    numbers: Counter[str] = field(default_factory=Counter)
    terms: Counter[str] = field(default_factory=Counter)  # keys are `<language>:<stem>`
    embedding: np.ndarray | None = None  # unit-length float32 vector


def replace_chars(text: str, replacements: dict[str, str]) -> str:
    """`text.translate(replacements)` for tables whose values are not keys: only the characters present
    are replaced, each by one C scan (translate looks every character up in Python, about 10x slower)."""
    for char in replacements.keys() & set(text):
        text = text.replace(char, replacements[char])
    return text


def fold(text: str) -> str:
    """Case, accents, Arabic diacritics and hamza seats folded away (one spelling per word)."""
    if text.isascii():  # nothing to decompose
        return text.casefold()
    return replace_chars(unicodedata.normalize("NFKD", replace_chars(text.casefold(), _ARABIC_FOLDS)), _COMBINING)


def stem(word: str) -> str:
    prefix = _ARABIC_PREFIXES.get(word[:2])
    if prefix is not None and word.startswith(prefix) and len(word) - len(prefix) >= MIN_TERM_CHARS:
        word = word[len(prefix) :]
    return word[:STEM_CHARS]


def terms(text: str) -> list[str]:
    """Stems of the words of `text` that are not numbers and not too short."""
    folded = fold(text)
    words = _TERM_WORD.findall(folded)
    if folded.isascii():  # no Arabic prefix to strip
        return [word[:STEM_CHARS] for word in words]
    return [stem(word) for word in words]


def canonical_number(written: str) -> str | None:
    """One spelling per quantity (14,000 = 14.000 = ١٤٠٠٠ -> 14000); None for small counts that say little."""
    written = replace_chars(written, _DIGITS)
    thousands = _THOUSANDS_GROUPS.fullmatch(written)
    written = re.sub(r"[.,\u066c]", "", written) if thousands else written.replace(",", ".")
    if "." in written:
        written = written.rstrip("0").rstrip(".")
    if len(written.lstrip("0")) < 2:
        return None  # 0-9 recur in every text
    return written


def numbers(text: str) -> list[str]:
    found = (canonical_number(match) for match in _NUMBER.findall(replace_chars(text, _DIGITS)))
    return [number for number in found if number is not None]


def article_features(article: Article, embedding: np.ndarray | None = None) -> ArticleFeatures:
    term_counts = Counter(terms(article.text))
    for term in terms(article.title):
        term_counts[term] += TITLE_WEIGHT
    return ArticleFeatures(
        language=article.language,
        entities=Counter(mention.entity_id for mention in article.entities),
        numbers=Counter(numbers(article.title) + numbers(article.text)),
        terms=Counter({f"{article.language}:{term}": count for term, count in term_counts.items()}),
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
