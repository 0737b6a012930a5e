"""Online story assignment: each article joins the most probable recent story, or opens its own.

`StoryAssigner` holds no I/O: the Elasticsearch side (`newsflow.es.stories`)
gives it the stored candidates and the story ids already known, and sends the
updates it returns. Stories this worker touched recently are kept in memory
(`RecentStories`): the index makes an update searchable only after its next
refresh, and an article must find a story opened earlier in its own batch.
They are forgotten at a count bound, or two story windows after their last
article, so a long-running worker's memory follows the stream's recent days.
A worker also holds the stories other workers update (it follows the index),
so that an article whose candidates all lie within what it holds is placed
without a search (`StoryAssigner.holds_candidates`).
"""

from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from newsflow.models import Article
from newsflow.settings import Settings
from newsflow.stories.features import ArticleFeatures
from newsflow.stories.scoring import (
    ENTITY_PREFIX,
    NUMBER_PREFIX,
    DocumentFrequencies,
    Story,
    StoryScorer,
    entity_keys,
    frequency_keys,
    number_keys,
)

# A story's key namespaces in the key space: entities, numbers, terms (`story_keys`).
KEY_PREFIXES = (ENTITY_PREFIX, NUMBER_PREFIX, "")
# Covers the refresh gap and a batch's own stories, not the window.
RECENT_STORIES = 2000
# Articles whose story is remembered, per story held.
PLACED_PER_STORY = 10
# A held story is forgotten when its last article is this many story windows older than the newest
# article placed: one window for articles that arrive late, one for the window itself.
HELD_WINDOWS = 2


@dataclass(frozen=True, slots=True)
class Assignment:
    """The story an article belongs to, and what it adds to that story."""

    article: Article
    story_id: str
    opened: bool  # the article opened this story
    probability: float | None  # fit to the story it joined by scoring; None when opened or inherited
    key_terms: list[str]
    seen_at: datetime


def seen_at(article: Article, now: datetime) -> datetime:
    """The article's place in time: when it was published, else when it arrived."""
    if article.published_at is None or article.published_at.tzinfo is None:
        return now
    return article.published_at.astimezone(UTC)


def story_keys(features: ArticleFeatures, key_terms: list[str]) -> list[str]:
    """The keys by which a story is found: the same space in memory and in the stories index."""
    return [
        *entity_keys(features.entities),
        *number_keys(features.numbers),
        *key_terms,
    ]


class RecentStories:
    """Stories this worker updated lately, found by shared key; least recently updated forgotten first."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._stories: OrderedDict[str, Story] = OrderedDict()
        # Tuples, not sets: a fraction of a set's bytes (a set keeps its table at most 60 % full), and
        # an update changes few of a story's keys and few of a key's stories. A story's keys are kept
        # as its counts hold them, per namespace (`KEY_PREFIXES`): the story's own strings, where the
        # prefixed keys would be a second copy of each.
        self._items: dict[str, tuple[tuple[str, ...], ...]] = {}
        # Each held story has a slot, a small integer: a key's stories are a tuple of slots, so that an
        # article's shared weights are summed per story in one numpy pass (`candidates`).
        self._slots: dict[str, int] = {}
        self._slot_ids: list[str | None] = []
        self._free_slots: list[int] = []
        # Per slot: the root of the story's key count, by which its shared weight is divided.
        self._key_count_roots = np.ones(16)
        self._by_key: dict[str, tuple[int, ...]] = {}
        # Every story whose last article is later than this is held (None: every story); a story
        # forgotten, or left out when loading, moves it up to its own last article.
        self._complete_after: datetime | None = None

    def __len__(self) -> int:
        return len(self._stories)

    @property
    def capacity(self) -> int:
        return self._capacity

    def complete_after(self, adding: int = 0, before: datetime | None = None) -> datetime | None:
        """The time after which every story is still held once `adding` more stories have been put and
        those inactive `before` forgotten (None: every story)."""
        bounds = [self._complete_after, before]
        evicted = itertools.islice(self._stories.values(), max(0, len(self._stories) + adding - self._capacity))
        bounds.extend(story.last_seen for story in evicted)
        return max((bound for bound in bounds if bound is not None), default=None)

    def left_out(self, last_seen: datetime) -> None:
        """Stories whose last article is at or before `last_seen` may exist that this memory never held."""
        self._complete_after = max(self._complete_after or last_seen, last_seen)

    def get(self, story_id: str) -> Story | None:
        return self._stories.get(story_id)

    def candidates(
        self,
        keys: list[str],
        weight: Callable[[str], float],
        embedding: np.ndarray | None,
        sharing: int,
        nearest: int,
    ) -> list[Story]:
        """The `sharing` stories whose shared keys weigh most, relative to the story's size (the index
        ranks its candidates alike), and (as kNN does in the index) the `nearest` by centroid.
        Scoring every story that shares a key would cost more with each story held, as common keys
        are shared by most of them."""
        # An ordered set: the order decides between equally probable stories.
        ids = dict.fromkeys(story_id for _, story_id in self._most_shared(keys, weight, sharing))
        if embedding is not None:
            embedded = [story for story in self._stories.values() if story.centroid is not None]
            if embedded:
                centroids = np.stack([story.centroid for story in embedded])
                closeness = centroids @ embedding / np.linalg.norm(centroids, axis=1)
                nearest_first = np.argsort(-closeness, kind="stable")[:nearest]
                ids.update(dict.fromkeys(embedded[index].id for index in nearest_first))
        return [self._stories[story_id] for story_id in ids]

    def _most_shared(self, keys: list[str], weight: Callable[[str], float], sharing: int) -> list[tuple[float, str]]:
        """The `sharing` stories sharing the weightiest keys with `keys`, as (score, story id), best first.
        A story's score is the sum of its shared keys' weights (in the order of `keys`: numpy's per-slot
        sums add in input order, as a loop would) over the root of its key count, as a cosine is over its
        norm: a large story shares some key with every article. Ties by story id, so that the choice does
        not depend on set order."""
        shared_keys = [(held, weight(key)) for key in keys if (held := self._by_key.get(key))]
        if not shared_keys:
            return []
        members, weights = zip(*shared_keys, strict=True)
        lengths = list(map(len, members))
        slots = np.fromiter(itertools.chain.from_iterable(members), np.intp, sum(lengths))
        size = len(self._slot_ids)
        shared_slots = np.flatnonzero(np.bincount(slots, minlength=size))
        sums = np.bincount(slots, weights=np.repeat(weights, lengths), minlength=size)
        scores = sums[shared_slots] / self._key_count_roots[shared_slots]
        if len(scores) > sharing:
            # Every story scoring at least the sharing-th best, ties included; the exact order below.
            kept = scores >= np.partition(scores, len(scores) - sharing)[len(scores) - sharing]
            shared_slots, scores = shared_slots[kept], scores[kept]
        slot_ids = self._slot_ids
        ranked = zip(scores.tolist(), map(slot_ids.__getitem__, shared_slots.tolist()), strict=True)
        return sorted(ranked, reverse=True)[:sharing]

    def put(self, story: Story) -> None:
        self._stories[story.id] = story
        self._stories.move_to_end(story.id)
        items = (story.entities.keys(), story.numbers.keys(), story.terms.keys())
        known = self._items.get(story.id, ((), (), ()))
        self._items[story.id] = tuple(map(tuple, items))
        slot = self._slot(story.id)
        self._key_count_roots[slot] = math.sqrt(sum(map(len, items)))
        # An update changes few of a story's keys: only those are re-indexed.
        for prefix, held, known_held in zip(KEY_PREFIXES, items, known, strict=True):
            known_set = set(known_held)
            self._unindex(slot, map(prefix.__add__, known_set.difference(held)))
            for key in map(prefix.__add__, held - known_set):
                self._by_key[key] = (*self._by_key.get(key, ()), slot)
        while len(self._stories) > self._capacity:
            self._forget_least_recent()

    def forget_inactive(self, before: datetime) -> None:
        """Forget the least recently updated stories while their last article is older than `before`."""
        while self._stories and next(iter(self._stories.values())).last_seen < before:
            self._forget_least_recent()

    def _forget_least_recent(self) -> None:
        forgotten, story = self._stories.popitem(last=False)
        self.left_out(story.last_seen)
        slot = self._slots.pop(forgotten)
        for prefix, held in zip(KEY_PREFIXES, self._items.pop(forgotten), strict=True):
            self._unindex(slot, map(prefix.__add__, held))
        self._slot_ids[slot] = None
        self._free_slots.append(slot)

    def _slot(self, story_id: str) -> int:
        """The story's slot, given on its first put (a forgotten story's slot is given again)."""
        slot = self._slots.get(story_id)
        if slot is None:
            if self._free_slots:
                slot = self._free_slots.pop()
                self._slot_ids[slot] = story_id
            else:
                slot = len(self._slot_ids)
                self._slot_ids.append(story_id)
                if slot == len(self._key_count_roots):
                    self._key_count_roots = np.concatenate([self._key_count_roots, np.ones(slot)])
            self._slots[story_id] = slot
        return slot

    def _unindex(self, slot: int, keys: Iterable[str]) -> None:
        for key in keys:
            members = self._by_key[key]
            if len(members) == 1:
                del self._by_key[key]
            else:
                at = members.index(slot)
                self._by_key[key] = members[:at] + members[at + 1 :]


class StoryAssigner:
    def __init__(
        self,
        settings: Settings,
        frequencies: DocumentFrequencies | None = None,
        recent_capacity: int = RECENT_STORIES,
        hold_all: bool = False,
    ) -> None:
        """`hold_all`: keep stories until the capacity bound, however old (the evaluation's stream, where
        memory stands in for the stories index); a worker forgets those `HELD_WINDOWS` windows older than
        the newest article, as no article in order can join them any more and the index keeps them."""
        # `is None`, not `or`: empty frequencies are falsy, and a worker's shared ones start empty.
        self.scorer = StoryScorer(DocumentFrequencies() if frequencies is None else frequencies)
        # Each profile's models were fitted and cut on their own (docs/quality.md).
        self.threshold = (
            settings.story_threshold if settings.story_embeddings else settings.story_threshold_without_embeddings
        )
        self.window = timedelta(hours=settings.story_window_hours)
        self.candidates = settings.story_candidates
        self.recent_candidates = settings.story_recent_candidates
        self.recent = RecentStories(recent_capacity)
        self._held_for = None if hold_all else HELD_WINDOWS * self.window
        self._newest: datetime | None = None
        # The story of each article placed lately: its near duplicates may follow before the next refresh.
        self._placed: OrderedDict[str, str] = OrderedDict()
        self._placed_capacity = recent_capacity * PLACED_PER_STORY

    @property
    def placed(self) -> Mapping[str, str]:
        """Article id -> story id, for the articles placed lately."""
        return self._placed

    def story_of(self, article_id: str) -> str | None:
        return self._placed.get(article_id)

    def prepare(self, features: ArticleFeatures) -> tuple[list[str], list[str]]:
        """Learn the article's key frequencies; return its key terms and the keys to look stories up by."""
        self.scorer.frequencies.add(frequency_keys(features))
        key_terms = self.scorer.key_terms(features)
        return key_terms, story_keys(features, key_terms)

    def assign(
        self,
        article: Article,
        features: ArticleFeatures,
        key_terms: list[str],
        stored: list[Story],
        now: datetime,
        known_story: Story | str | None = None,
    ) -> Assignment:
        """Place one article. `known_story`: the story it must join (its own on re-delivery, or its
        original's), as a loaded story or an id; else the best of `stored` and the recent stories
        within the window, above the threshold; else a new story under the article's own id.
        The article is folded into a copy of a story the caller gave (a stored story serves every
        article of a batch that found it), into the story itself when this worker holds it."""
        when = seen_at(article, now)
        self._forget_inactive(self._newest_with(when, now))
        if known_story is not None:
            story_id = known_story if isinstance(known_story, str) else known_story.id
            story = self.recent.get(story_id) or (known_story.copy() if isinstance(known_story, Story) else None)
            self._place(article, story_id, story, features, key_terms, when)
            return Assignment(article, story_id, False, None, key_terms, when)
        best, best_probability = None, self.threshold
        vectors = self.scorer.article_vectors(features)
        for story in self._candidates(stored, features, key_terms, when):
            probability = self.scorer.probability(vectors, story)
            if probability >= best_probability:
                best, best_probability = story, probability
        if best is None:
            story = Story(id=article.id, first_seen=when, last_seen=when)
            self._place(article, story.id, story, features, key_terms, when)
            return Assignment(article, story.id, True, None, key_terms, when)
        story = best if self.recent.get(best.id) is best else best.copy()
        self._place(article, best.id, story, features, key_terms, when)
        return Assignment(article, best.id, False, best_probability, key_terms, when)

    def held_from(self, whens: list[datetime], now: datetime) -> datetime | None:
        """While placing articles seen at `whens` (each may open a story, and moves the newest time):
        the time after which this worker holds every story. None: it holds them all."""
        newest = self._newest_with(max(whens, default=now), now)
        before = None if self._held_for is None else newest - self._held_for
        return self.recent.complete_after(len(whens), before)

    def holds_candidates(self, when: datetime, held_from: datetime | None) -> bool:
        """Whether every story that an article seen at `when` could join is held (`held_from`)."""
        return held_from is None or when - self.window > held_from

    def _newest_with(self, when: datetime, now: datetime) -> datetime:
        """The newest article's time once an article seen at `when` is placed: never past now (a date
        wrongly in the future must not empty the memory), never back."""
        newest = min(when, now)
        return newest if self._newest is None else max(newest, self._newest)

    def _forget_inactive(self, newest: datetime) -> None:
        """Move the newest article's time to `newest` and forget the stories inactive since `_held_for`
        before it."""
        if self._held_for is None or newest == self._newest:
            return
        self._newest = newest
        self.recent.forget_inactive(newest - self._held_for)

    def _candidates(
        self, stored: list[Story], features: ArticleFeatures, key_terms: list[str], when: datetime
    ) -> list[Story]:
        """Stored and recent stories active within the window; this worker's copy is the fresher one."""
        by_id = {story.id: story for story in stored}
        keys = story_keys(features, key_terms)
        recent = self.recent.candidates(
            keys, self.scorer.frequencies.idf, features.embedding, self.recent_candidates, self.candidates
        )
        for story in recent:
            if story.article_count >= by_id.get(story.id, story).article_count:
                by_id[story.id] = story
        return [
            story
            for story in by_id.values()
            if story.last_seen >= when - self.window and story.first_seen <= when + self.window
        ]

    def _place(
        self,
        article: Article,
        story_id: str,
        story: Story | None,
        features: ArticleFeatures,
        key_terms: list[str],
        when: datetime,
    ) -> None:
        """Remember where the article went and, when the story is at hand, fold the article into it."""
        self._placed[article.id] = story_id
        self._placed.move_to_end(article.id)
        while len(self._placed) > self._placed_capacity:
            self._placed.popitem(last=False)
        if story is not None:
            story.add(features, key_terms, article.outlet, when)
            self.recent.put(story)
