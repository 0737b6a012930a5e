"""Alias-table matching: one Aho-Corasick pass over the folded text, offsets mapped back to the original.

Rules, in the order they are checked for each raw hit:
* a hit must end at a word end, and start at a word start or, for Arabic
  names, right after attached prefixes (و ف ب ل ك; ل + ال is written لل);
* all-capital Latin aliases (IS, FSB, U.S.) match only with exactly that case,
  so "is" and "Is" are not the Islamic State; in other aliases each capitalised
  word needs a capital in the text ("turkey", "an Islamic state" do not match);
* among overlapping hits the longest wins, then the leftmost.
A mention's span covers the whole written word, attached prefixes included
(والقاعدة), like the Arabic training corpus and so like the Arabic model.
An alias shared by two entities is ambiguous and left to the model.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

import ahocorasick_rs

from newsflow.entities.aliases import Entity, load_entities
from newsflow.entities.arabic import ARTICLE, LAM_PROCLITICS, PROCLITICS, is_arabic_letter
from newsflow.entities.normalise import fold, fold_with_offsets, is_word_char
from newsflow.models import Mention

log = logging.getLogger(__name__)

SOURCE = "table"
_NO_PREFIX = frozenset({""})
_LONGEST_PREFIX = max(map(len, PROCLITICS))
_SURROGATE = re.compile("[\ud800-\udfff]")
# Bounds the memory of each cache of surfaces (an entry takes ~200 bytes); a stream's names are far fewer.
_CACHED_SURFACES = 20_000


@dataclass(frozen=True, slots=True)
class _Pattern:
    entity_id: str
    type: str
    alias: str
    prefixes: frozenset[str]  # what may be attached before the hit inside the same word
    # The alias's case, read once here rather than at every hit:
    all_capitals: bool  # IS, FSB, U.S. (Arabic letters have no case)
    capitalised: tuple[bool, ...]  # per alias word

    @classmethod
    def of(cls, entity: Entity, alias: str, prefixes: frozenset[str]) -> _Pattern:
        cased = [char for char in alias if char.isupper() or char.islower()]
        all_capitals = bool(cased) and not any(char.islower() for char in cased)
        capitalised = tuple(word[:1].isupper() for word in alias.split())
        return cls(entity.id, entity.type, alias, prefixes, all_capitals, capitalised)

    def accepts(self, prefix: str, surface: str) -> bool:
        return prefix in self.prefixes and self._case_matches(surface)

    def _case_matches(self, surface: str) -> bool:
        """All-capital aliases need the exact case; elsewhere each capitalised alias word needs a capital."""
        if self.all_capitals:
            return surface == self.alias
        surface_words = surface.split()
        if len(self.capitalised) != len(surface_words):
            return any(map(str.isupper, surface)) or not any(map(str.isupper, self.alias))
        return all(
            word[:1].isupper() or not capital for capital, word in zip(self.capitalised, surface_words, strict=True)
        )


def _patterns(entity: Entity) -> Iterable[tuple[str, _Pattern]]:
    for name in entity.names():
        key = fold(name)
        if not any(is_word_char(char) for char in key):
            continue
        if is_arabic_letter(key[0]):
            yield key, _Pattern.of(entity, name, PROCLITICS)
            if key.startswith(ARTICLE):
                yield key[1:], _Pattern.of(entity, name, LAM_PROCLITICS)
        else:
            yield key, _Pattern.of(entity, name, _NO_PREFIX)


class Gazetteer:
    def __init__(self, entities: Iterable[Entity]) -> None:
        patterns_by_key: dict[str, list[_Pattern]] = {}
        for entity in entities:
            for key, pattern in _patterns(entity):
                patterns_by_key.setdefault(key, []).append(pattern)
        self.ambiguous_keys = sorted(
            key for key, patterns in patterns_by_key.items() if len({p.entity_id for p in patterns}) > 1
        )
        for key in self.ambiguous_keys:
            log.debug("alias %r names %s: left to the model", key, sorted({p.entity_id for p in patterns_by_key[key]}))
            del patterns_by_key[key]
        self._keys = list(patterns_by_key)
        self._patterns = [tuple(patterns) for patterns in patterns_by_key.values()]
        self._automaton = ahocorasick_rs.AhoCorasick(self._keys) if self._keys else None
        self.size = len(self._keys)
        # Surfaces repeat from article to article ("Russia", "is"): each one's case is judged once, and each
        # name read by the model or from the layout ("Russian", "Reuters") is resolved once.
        self._accepting = lru_cache(maxsize=_CACHED_SURFACES)(self._first_accepting)
        self._resolved = lru_cache(maxsize=_CACHED_SURFACES)(self._resolve)

    def _first_accepting(self, key_index: int, prefix: str, surface: str) -> _Pattern | None:
        return next((pattern for pattern in self._patterns[key_index] if pattern.accepts(prefix, surface)), None)

    def find(self, text: str) -> list[Mention]:
        """Table mentions in `text`, in text order, without overlaps."""
        if self._automaton is None or not text:
            return []
        folded = fold_with_offsets(text)
        search = folded.text
        try:
            hits = self._automaton.find_matches_as_indexes(search, overlapping=True)
        except UnicodeEncodeError:  # a lone surrogate (JSON escapes allow one): in no key, like any non-letter
            hits = self._automaton.find_matches_as_indexes(_SURROGATE.sub("\ufffd", search), overlapping=True)
        if not hits:
            return []
        # Views, not the arrays: a view's item is a Python int, ten times cheaper to read than an array's.
        original_starts, original_ends = memoryview(folded.starts), memoryview(folded.ends)
        accepting, length = self._accepting, len(search)
        candidates = []
        for index, start, end in hits:
            if end < length and is_word_char(search[end]):
                continue
            # Back to the word's start, but no further than the longest attached prefix could reach.
            word_start = start
            while word_start and is_word_char(search[word_start - 1]) and start - word_start <= _LONGEST_PREFIX:
                word_start -= 1
            pattern = accepting(index, search[word_start:start], text[original_starts[start] : original_ends[end - 1]])
            if pattern is not None:
                # Sorted as they are: the longest first, then the leftmost; of hits on the same word, the
                # longest alias (no two hits share a start and an end, so patterns are never compared).
                candidates.append((word_start - end, word_start, start, end, pattern))
        return _longest_first(candidates, length, original_starts, original_ends, text)

    def resolve(self, surface: str) -> Mention | None:
        """The table entry a whole surface form names (a model mention, say), if any."""
        return self._resolved(surface)

    def _resolve(self, surface: str) -> Mention | None:
        found = self.find(surface)
        if len(found) == 1 and found[0].start == 0 and found[0].end == len(surface.rstrip()):
            return found[0]
        return None


def _longest_first(
    candidates: list[tuple[int, int, int, int, _Pattern]],
    folded_length: int,
    original_starts: memoryview,
    original_ends: memoryview,
    text: str,
) -> list[Mention]:
    """Non-overlapping mentions of (-length, word start, alias start, end, pattern) candidates in folded text."""
    taken = bytearray(folded_length)  # 1 where a chosen mention lies
    chosen = []
    for _, start, _, end, pattern in sorted(candidates):
        if taken.find(1, start, end) == -1:
            taken[start:end] = b"\x01" * (end - start)
            chosen.append((start, end, pattern))
    mentions = []
    for start, end, pattern in sorted(chosen):  # chosen mentions start apart: patterns are never compared
        original_start, original_end = original_starts[start], original_ends[end - 1]
        mentions.append(
            Mention(
                original_start, original_end, text[original_start:original_end], pattern.type, pattern.entity_id, SOURCE
            )
        )
    return mentions


@cache
def shipped_gazetteer() -> Gazetteer:
    """The shipped alias table alone, built once per process: the extractor's table when a deployment
    adds no entity files, and the Arabic model's input feature, which must not change with those files."""
    return Gazetteer(load_entities().values())
