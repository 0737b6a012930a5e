"""What an enriched article mentions, as terms the detector counts: its canonical entity ids, the
watch-list keywords found in its title and body, and (when enabled) significant terms: the words and
adjacent word pairs of its title and lead that are no stop word, watch-list word or entity name.

Text is matched after the folding that search's exact-text analyzer applies (schemas/elasticsearch/
text_analysis.v1.json): NFKC, case folding, Arabic letter and diacritic folds, Arabic-Indic digits;
an Arabic word also matches without its attached conjunction/preposition and article (والاندماج and
للاندماج match اندماج). English words are not stemmed: list the forms to watch (merger, mergers).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import yaml

from newsflow.entities.arabic import ARTICLE, FOLD_TABLE, PROCLITICS, is_arabic_letter, without_proclitics
from newsflow.errors import ConfigError

if TYPE_CHECKING:
    from newsflow.settings import Settings

KEYWORD_PREFIX = "keyword:"
SIGNIFICANT_PREFIX = "significant:"
WORD = re.compile(r"\w+")
# Significant terms are read in the title and the first words of the body, where an article says what it is
# about; shorter words are function words or abbreviations too ambiguous to count on their own.
LEAD_WORDS = 30
MIN_SIGNIFICANT_LETTERS = 3
# Arabic letter and diacritic folds, and Arabic-Indic digits, in one translation pass.
_FOLDS = {**FOLD_TABLE, **{zero + digit: str(digit) for zero in (0x0660, 0x06F0) for digit in range(10)}}


def term_kind(term: str) -> str:
    if term.startswith(KEYWORD_PREFIX):
        return "keyword"
    return "significant" if term.startswith(SIGNIFICANT_PREFIX) else "entity"


class Mention(NamedTuple):
    """One article mentioning one term (a tuple: millions are made in a replay)."""

    term: str
    at: float  # the article's time, epoch seconds: it decides the window
    article_id: str
    outlet: str
    story_id: str | None
    counted: bool  # False for a syndicated copy: its outlet counts, its text was counted with the original


def normalise(text: str) -> str:
    if text.isascii():
        return text.lower()  # what NFKC and case folding do to ASCII, much faster
    return unicodedata.normalize("NFKC", text).casefold().translate(_FOLDS)


def _bare(word: str) -> str:
    """A watch-list word as the detector looks for it: an Arabic word without its article."""
    if word.startswith(ARTICLE) and len(word) > len(ARTICLE) + 1:
        return word[len(ARTICLE) :]
    return word


@lru_cache(maxsize=200_000)
def word_readings(word: str) -> tuple[str, ...]:
    """Watch-list words a normalised text word can be: itself, or for Arabic without attached prefixes."""
    if not is_arabic_letter(word[0]):
        return (word,)
    return tuple(dict.fromkeys(_bare(reading) for reading in [word, *without_proclitics(word)]))


@dataclass(frozen=True, slots=True)
class Keyword:
    id: str
    phrases: tuple[tuple[str, ...], ...]  # each a sequence of bare normalised words
    entities: frozenset[str]  # counted only in articles that also mention all of these

    @property
    def term(self) -> str:
        return KEYWORD_PREFIX + self.id


class WatchList:
    """Keywords and phrases in any language (see deploy/watchlist.example.yaml)."""

    def __init__(self, keywords: list[Keyword]) -> None:
        self.keywords = keywords
        self._by_first_word: dict[str, list[tuple[tuple[str, ...], Keyword]]] = {}
        for keyword in keywords:
            for phrase in keyword.phrases:
                self._by_first_word.setdefault(phrase[0], []).append((phrase, keyword))
        self.words = frozenset(word for keyword in keywords for phrase in keyword.phrases for word in phrase)
        # Every way a first word can be written (Arabic: with attached prefixes), so that most texts are
        # dismissed by one set intersection.
        self._written_first_words = frozenset(
            written
            for word in self._by_first_word
            for written in _written_forms(word)
            if word in word_readings(written)
        )

    @classmethod
    def load(cls, path: Path) -> WatchList:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read the watch list {path}: {exc}") from exc
        entries = document.get("keywords") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ConfigError(f"{path}: expected a mapping with a `keywords` list")
        return cls([_keyword(entry, f"{path}: keyword {index + 1}") for index, entry in enumerate(entries)])

    def matches(self, text: str, entity_ids: Collection[str]) -> list[Keyword]:
        """Keywords with a phrase in `text` (and all their required entities among `entity_ids`)."""
        words = WORD.findall(normalise(text))
        if self._written_first_words.isdisjoint(words):
            return []
        found: dict[str, Keyword] = {}
        for position, word in enumerate(words):
            if word not in self._written_first_words:
                continue
            for reading in word_readings(word):
                for phrase, keyword in self._by_first_word.get(reading, ()):
                    if keyword.id not in found and _phrase_at(phrase, words, position):
                        found[keyword.id] = keyword
        return [keyword for keyword in found.values() if keyword.entities.issubset(entity_ids)]


def _written_forms(word: str) -> list[str]:
    """`word` and, if Arabic, the same with attached prefixes and article (ل + ال is written لل)."""
    if not is_arabic_letter(word[0]):
        return [word]
    forms = [clitic + article + word for clitic in PROCLITICS for article in ("", ARTICLE)]
    return forms + [clitic + "ل" + word for clitic in PROCLITICS if clitic.endswith("ل")]


def _phrase_at(phrase: tuple[str, ...], words: list[str], position: int) -> bool:
    if position + len(phrase) > len(words):
        return False
    return all(phrase[offset] in word_readings(words[position + offset]) for offset in range(1, len(phrase)))


def _keyword(entry: Any, where: str) -> Keyword:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"].strip():
        raise ConfigError(f"{where}: expected a mapping with a non-empty `id`")
    phrases = entry.get("phrases")
    if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) for p in phrases):
        raise ConfigError(f"{where} ({entry['id']}): `phrases` must be a non-empty list of strings")
    entities = entry.get("entities", [])
    if not isinstance(entities, list) or not all(isinstance(e, str) for e in entities):
        raise ConfigError(f"{where} ({entry['id']}): `entities` must be a list of entity ids")
    normalised = [tuple(_bare(word) for word in WORD.findall(normalise(phrase))) for phrase in phrases]
    if not all(normalised):
        raise ConfigError(f"{where} ({entry['id']}): a phrase has no words")
    return Keyword(entry["id"].strip(), tuple(dict.fromkeys(normalised)), frozenset(entities))


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """spaCy's English and Arabic stop words, folded as texts are (imported once, when first needed)."""
    from spacy.lang.ar.stop_words import STOP_WORDS as ARABIC
    from spacy.lang.en.stop_words import STOP_WORDS as ENGLISH

    return frozenset(_bare(normalise(word)) for word in ENGLISH | ARABIC)


class SignificantTerms:
    """The significant terms of an article: words of its title, then of its lead (`LEAD_WORDS`), that pass a
    cheap filter (at least `MIN_SIGNIFICANT_LETTERS` letters, not a number, not a stop word, not a word of a
    watch-list phrase nor of an entity name found in the article, which are counted as such), and each pair of
    adjacent such words; at most `per_article`, in reading order, so the title's come first."""

    def __init__(self, per_article: int, watch_list: WatchList | None) -> None:
        self.per_article = per_article
        self.stop_words = stop_words()
        self.watched = watch_list.words if watch_list else frozenset()

    @classmethod
    def from_settings(cls, settings: Settings, watch_list: WatchList | None) -> SignificantTerms | None:
        """The significant terms the settings ask for; None when they are off."""
        return cls(settings.alerts_significant_per_article, watch_list) if settings.alerts_significant_terms else None

    def of(self, document: dict[str, Any]) -> list[str]:
        named = {
            _bare(word) for entity in document.get("entities") or () for word in WORD.findall(normalise(entity["text"]))
        }
        lead = " ".join((document.get("body") or "").split()[:LEAD_WORDS])
        terms: dict[str, None] = {}  # ordered and unique
        for text in (document.get("title") or "", lead):
            previous = None
            for word in map(_bare, WORD.findall(normalise(text))):
                if word in named or not self._counted(word):
                    previous = None
                    continue
                terms[SIGNIFICANT_PREFIX + word] = None
                if previous is not None:
                    terms[f"{SIGNIFICANT_PREFIX}{previous} {word}"] = None
                if len(terms) >= self.per_article:
                    return list(terms)[: self.per_article]
                previous = word
        return list(terms)

    def _counted(self, word: str) -> bool:
        return (
            len(word) >= MIN_SIGNIFICANT_LETTERS
            and not word.isdigit()
            and word not in self.stop_words
            and self.watched.isdisjoint(word_readings(word))
        )


def article_time(document: dict[str, Any], field: str) -> float | None:
    """The article's time from `field` (else the other of ingested_at / published_at), epoch seconds."""
    other = "published_at" if field == "ingested_at" else "ingested_at"
    value = document.get(field) or document.get(other)
    return datetime.fromisoformat(value).timestamp() if value else None


def mentions_of(
    document: dict[str, Any], at: float, watch_list: WatchList | None, significant: SignificantTerms | None = None
) -> list[Mention]:
    """The terms an enriched article (schemas/enriched_article.v1.json) at time `at` mentions, once each."""
    entity_ids = document.get("entity_ids") or []
    terms = list(dict.fromkeys(entity_ids))
    if watch_list is not None:
        text = f"{document.get('title') or ''}\n{document.get('body') or ''}"
        terms += [keyword.term for keyword in watch_list.matches(text, set(entity_ids))]
    if significant is not None:
        terms += significant.of(document)
    counted = document.get("duplicate_status") != "syndicated"
    return [Mention(term, at, document["id"], document["outlet"], document.get("story_id"), counted) for term in terms]
