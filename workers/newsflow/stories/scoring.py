"""How well an article fits a story: weighted key overlap per signal, combined into one probability.

A story is the running aggregate of its articles (`Story`): for each key, how
many of its articles carry it, plus the mean of their embeddings. Keys are
weighted by rarity (`DocumentFrequencies`, learned online from the articles
seen), so "Egypt" or "government" say little and "Bortnikov" or "125" a lot.

Each signal gives a cosine between the article's and the story's weighted keys:
entities, numbers, terms (only against the story's articles in the article's
own language), and the embedding centroid. A logistic model turns them into
P(same story), one model per set of signals a comparison can have: terms
cannot match across languages, so an article meeting a story with no article
in its language is scored by a model fitted without them (likewise without the
embedding when it is off). All were fitted on one half of the development pairs
(docs/quality.md).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from itertools import repeat, tee
from operator import itemgetter, mul, sub

import numpy as np

from newsflow.stories.features import ArticleFeatures

# Key terms an article contributes to its story (highest tf-idf first), and that a story keeps.
ARTICLE_TERMS = 40
STORY_TERMS = 200
STORY_KEYS = 200  # entities and numbers kept per story
SIGNALS = ("entities", "numbers", "terms", "embedding")
Vector = tuple[dict[str, float], float]  # weight per item, and the sum of their squares
# A story's items for one signal, their keys in the frequency space, and the share of the story's
# articles (of those in the language, for terms) carrying each.
Shares = tuple[list[str], list[str], list[float]]


@dataclass(frozen=True, slots=True)
class SignalModel:
    """Logistic combination of the signal cosines; missing signals count as 0."""

    intercept: float
    weights: Mapping[str, float]

    def probability(self, signals: Mapping[str, float]) -> float:
        z = self.intercept + sum(map(mul, self.weights.values(), map(signals.get, self.weights, repeat(0.0))))
        return 1.0 / (1.0 + math.exp(-z))


def model_signals(same_language: bool, embedded: bool) -> tuple[str, ...]:
    """The signals a comparison can have: terms only within one language, the embedding only when on."""
    return tuple(s for s in SIGNALS if (same_language or s != "terms") and (embedded or s != "embedding"))


MODEL_KEYS = ((True, True), (False, True), (True, False), (False, False))  # (same language, embedded)
# Fitted by `newsflow.evaluation.stories.fit_models` on the fitting half of the development pairs
# (cumulative logit on the score; a signal whose weight came out negative is left out: on these
# monolingual pairs entity ids only repeat what terms and the embedding say).
MODELS = {
    (True, True): SignalModel(-4.38, {"numbers": 0.18, "terms": 6.93, "embedding": 5.13}),
    (False, True): SignalModel(-4.7, {"numbers": 0.39, "embedding": 7.89}),
    (True, False): SignalModel(-2.46, {"numbers": 0.81, "terms": 11.72}),
    (False, False): SignalModel(-0.96, {"entities": 0.91, "numbers": 2.39}),
}


MAX_FREQUENCY_KEYS = 500_000
# Keys are weighed anew once the articles counted grew by 1/STEP_GROWTH, and at least every MAX_STEP_ARTICLES:
# a thousand articles barely move a key's weight; a story's new keys must not weigh as unseen for long.
STEP_GROWTH = 100
MAX_STEP_ARTICLES = 250


class DocumentFrequencies:
    """In how many of the articles seen each key occurs; bounded by forgetting the rarest keys.

    Keys are weighed by the counts as they stood at the last step (`version`): a step is taken once the
    articles counted grew by 1 % (after every article of the first hundred, at least every
    `MAX_STEP_ARTICLES`). The weights a story's keys get are kept until the next step, so a story met by
    one small batch after another is weighed once, not again after every article.

    Shared by several workers (`record_changes`): what was added since the last flush is also kept
    apart (pending); the worker stores it merged into the shared counts (`merged_counts`),
    `acknowledge`s it, and takes the merged counts back (`restore_merged`)."""

    def __init__(self, max_keys: int = MAX_FREQUENCY_KEYS, record_changes: bool = False) -> None:
        self.documents = 0
        self._counts: Counter[str] = Counter()
        self._added_since_step: Counter[str] = Counter()  # the counts at the step: _counts minus these
        self.max_keys = max_keys
        self._pending_documents = 0
        self._pending: Counter[str] | None = Counter() if record_changes else None
        self._step()

    def _step(self) -> None:
        # A new version, so that weights computed from the counts before know they are stale. The idf
        # depends on a key's count alone, so it is computed once per count and step: the keys of a
        # batch's stories have a few hundred distinct counts, and each key's count is a lookup in C.
        self.version = object()
        self._step_documents = self.documents
        self._added_since_step.clear()
        self._idf_of_count = _IdfOfCount(self.documents)

    def add(self, keys: Iterable[str]) -> None:
        # In the article's order, not a set's (string hashing differs per process): bounded_counts keeps ties in order.
        distinct = dict.fromkeys(keys).keys()
        self.documents += 1
        self._counts.update(distinct)
        self._added_since_step.update(distinct)
        bounded = bounded_counts(self._counts, self.max_keys)
        step = min(MAX_STEP_ARTICLES, max(1, self._step_documents // STEP_GROWTH))
        if bounded is not self._counts or self.documents - self._step_documents >= step:
            self._counts = bounded
            self._step()
        if self._pending is not None:
            self._pending_documents += 1
            self._pending.update(distinct)
            self._pending = bounded_counts(self._pending, self.max_keys)

    def __len__(self) -> int:
        """Keys counted."""
        return len(self._counts)

    def idf(self, key: str) -> float:
        """Smoothed inverse document frequency at the last step: 1 for a key in every article, higher for
        rarer keys."""
        return self._idf_of_count[self._counts.get(key, 0) - self._added_since_step.get(key, 0)]

    def idfs(self, keys: Iterable[str]) -> Iterator[float]:
        """The idf of each key (as `idf`), without a Python call per key."""
        counted, added = tee(keys)
        counts = map(sub, map(self._counts.get, counted, repeat(0)), map(self._added_since_step.get, added, repeat(0)))
        return map(self._idf_of_count.__getitem__, counts)

    def pending_changes(self) -> tuple[int, Counter[str]]:
        """Articles added since the changes last acknowledged, and their key counts (a copy)."""
        return self._pending_documents, Counter(self._pending)

    def acknowledge(self, documents: int, counts: Mapping[str, int]) -> None:
        """Drop pending changes now in the shared counts; what was added since stays pending."""
        if self._pending is None:
            return
        self._pending_documents -= documents
        self._pending.subtract(counts)
        self._pending = +self._pending  # counts at zero (or below, for keys dropped by the bound) go

    def restore_merged(self, documents: int, counts: Mapping[str, int]) -> None:
        """Take the shared counts, with the pending changes added to them."""
        self.documents = documents + self._pending_documents
        self._counts = merged_counts(counts, self._pending or {}, self.max_keys)
        self._step()


class _IdfOfCount(dict[int, float]):
    """The idf of a key counted in so many of `documents` articles; computed on first lookup."""

    def __init__(self, documents: int) -> None:
        super().__init__()
        self._documents = documents

    def __missing__(self, count: int) -> float:
        idf = self[count] = math.log((1 + self._documents) / (1 + count)) + 1.0
        return idf


def bounded_counts(counts: Counter[str], max_keys: int) -> Counter[str]:
    """At most `max_keys` keys: keys seen once go first (mostly typos and one-off names, so the common
    keys' weights stay), then the least frequent."""
    if len(counts) <= max_keys:
        return counts
    counts = Counter({key: count for key, count in counts.items() if count > 1})
    return counts if len(counts) <= max_keys else Counter(dict(counts.most_common(max_keys)))


def merged_counts(stored: Mapping[str, int], changes: Mapping[str, int], max_keys: int) -> Counter[str]:
    """Stored key counts with pending changes added, cut to `max_keys`."""
    merged = Counter(stored)
    merged.update(changes)
    return bounded_counts(merged, max_keys)


# Key namespaces; term keys are `<language>:<stem>`, and no language code is one letter.
ENTITY_PREFIX = "e:"
NUMBER_PREFIX = "n:"


def entity_keys(entity_ids: Iterable[str]) -> Iterator[str]:
    return map(ENTITY_PREFIX.__add__, entity_ids)


def number_keys(numbers: Iterable[str]) -> Iterator[str]:
    return map(NUMBER_PREFIX.__add__, numbers)


def frequency_keys(features: ArticleFeatures) -> list[str]:
    """The keys of an article in the document-frequency space (one namespace for all signals)."""
    return [
        *entity_keys(features.entities),
        *number_keys(features.numbers),
        *features.terms,
    ]


@dataclass(slots=True)
class Story:
    """Running aggregate of a story's articles (mirrors a stories-index document)."""

    id: str
    first_seen: datetime
    last_seen: datetime
    article_count: int = 0
    entities: Counter[str] = field(default_factory=Counter)  # articles mentioning each entity id
    numbers: Counter[str] = field(default_factory=Counter)
    terms: Counter[str] = field(default_factory=Counter)  # articles having each `<language>:<stem>` as key term
    language_counts: Counter[str] = field(default_factory=Counter)  # articles per language
    outlets: set[str] = field(default_factory=set)
    centroid: np.ndarray | None = None  # mean of the articles' embeddings
    embedded_count: int = 0
    # The story's weighted keys per signal (`StoryScorer`), valid for the frequencies' `version` in
    # `weighted_at`: an article is scored against many stories, and a story against many articles.
    weighted: dict[str, Vector] = field(default_factory=dict, repr=False, compare=False)
    weighted_at: object = field(default=None, repr=False, compare=False)
    # What those weights are computed from, per signal until the story changes (not with every version).
    shares: dict[str, Shares] = field(default_factory=dict, repr=False, compare=False)

    def add(self, features: ArticleFeatures, key_terms: list[str], outlet: str, seen_at: datetime) -> None:
        """Fold one article into the aggregate (the same arithmetic as the index's update script)."""
        self.weighted_at = None
        self.shares = {}
        self.article_count += 1
        self.first_seen = min(self.first_seen, seen_at)
        self.last_seen = max(self.last_seen, seen_at)
        self.entities.update(features.entities.keys())
        self.numbers.update(features.numbers.keys())
        self.terms.update(key_terms)
        self.language_counts[features.language] += 1
        self.outlets.add(outlet)
        if features.embedding is not None:
            total = features.embedding
            if self.centroid is not None:
                total = total + self.centroid * self.embedded_count
            self.embedded_count += 1
            self.centroid = total / self.embedded_count
        self.entities = _top(self.entities, STORY_KEYS)
        self.numbers = _top(self.numbers, STORY_KEYS)
        self.terms = _top(self.terms, STORY_TERMS)

    def copy(self) -> Story:
        """A story of its own with the same aggregate (and weighted keys, valid until either changes)."""
        return replace(
            self,
            entities=Counter(self.entities),
            numbers=Counter(self.numbers),
            terms=Counter(self.terms),
            language_counts=Counter(self.language_counts),
            outlets=set(self.outlets),
            weighted=dict(self.weighted),
            shares=dict(self.shares),
        )


def _top(counts: Counter[str], limit: int) -> Counter[str]:
    """The `limit` keys carried by most articles, ties by key as in the update script: which keys a story
    keeps depends on its articles only, not on the order they came in or the process's string hashing."""
    if len(counts) <= limit:
        return counts
    # Two stable sorts in C (a Python key function per item would cost more; a story is cut on most updates).
    ranked = sorted(sorted(counts.items(), key=itemgetter(0)), key=itemgetter(1), reverse=True)
    return Counter(dict(ranked[:limit]))


@dataclass(frozen=True, slots=True)
class ArticleVectors:
    """An article's weighted keys per signal (None: the article has no such keys), computed once for
    all the stories it is scored against."""

    features: ArticleFeatures
    entities: Vector | None
    numbers: Vector | None
    terms: Vector | None  # its key terms only


class StoryScorer:
    def __init__(self, frequencies: DocumentFrequencies) -> None:
        self.frequencies = frequencies
        # The stories weighted under `_weighted_version`: once the frequencies change, their weighted
        # keys are stale and are dropped, else a story not scored again keeps them until it is forgotten.
        self._weighted_stories: list[Story] = []
        self._weighted_version: object = None

    def key_terms(self, features: ArticleFeatures) -> list[str]:
        """The article's most distinctive terms (tf-idf), the ones it contributes to a story."""
        return _strongest(self._weights(features.terms, features.terms))

    def article_vectors(self, features: ArticleFeatures) -> ArticleVectors:
        """The article's side of every comparison, under the current document frequencies."""
        terms = None
        if features.terms:
            term_weights = self._weights(features.terms, features.terms)
            terms = _vector({term: term_weights[term] for term in _strongest(term_weights)})
        entities, numbers = features.entities, features.numbers
        return ArticleVectors(
            features,
            _vector(self._weights(entities, entity_keys(entities))) if entities else None,
            _vector(self._weights(numbers, number_keys(numbers))) if numbers else None,
            terms,
        )

    def signals(self, article: ArticleVectors, story: Story, wanted: Container[str] = SIGNALS) -> dict[str, float]:
        """Cosine per signal between the article and the story; absent when either side lacks it or
        it is not `wanted`."""
        features = article.features
        found: dict[str, float] = {}
        if "entities" in wanted and article.entities and story.entities:
            found["entities"] = _cosine(article.entities, self._story_vector(story, "entities"))
        if "numbers" in wanted and article.numbers and story.numbers:
            found["numbers"] = _cosine(article.numbers, self._story_vector(story, "numbers"))
        if "terms" in wanted and article.terms and story.language_counts.get(features.language, 0):
            story_terms = self._story_vector(story, f"terms:{features.language}")
            if story_terms[0]:
                found["terms"] = _cosine(article.terms, story_terms)
        if "embedding" in wanted and features.embedding is not None and story.centroid is not None:
            norm = float(np.linalg.norm(story.centroid))
            found["embedding"] = float(features.embedding @ story.centroid) / norm if norm else 0.0
        return found

    def probability(self, article: ArticleVectors, story: Story) -> float:
        """P(the article belongs to the story)."""
        features = article.features
        same_language = bool(story.language_counts.get(features.language))
        embedded = features.embedding is not None and story.centroid is not None
        model = MODELS[same_language, embedded]
        # Only the signals the model weighs (entity ids, for one, only across languages without embeddings).
        return model.probability(self.signals(article, story, model.weights))

    def _weights(self, counts: Mapping[str, int], keys: Iterable[str]) -> dict[str, float]:
        """Sublinear term frequency x idf, per item of `counts` (occurrences, so at least 1); `keys`: the
        items' keys in the frequency space, in the same order."""
        weights = map(mul, map(_sublinear_tf, counts.values()), self.frequencies.idfs(keys))
        return dict(zip(counts, weights, strict=True))

    def _story_vector(self, story: Story, signal: str) -> Vector:
        """The story's weighted keys for a signal (`terms:<language>`: its key terms in that language):
        share of its articles carrying a key (of those in that language, for terms) x idf."""
        version = self.frequencies.version
        if story.weighted_at is not version:
            if self._weighted_version is not version:
                for stale in self._weighted_stories:
                    stale.weighted.clear()
                self._weighted_stories, self._weighted_version = [], version
            story.weighted.clear()
            story.weighted_at = version
            self._weighted_stories.append(story)
        vector = story.weighted.get(signal)
        if vector is None:
            shares = story.shares.get(signal)
            if shares is None:
                shares = story.shares[signal] = _story_shares(story, signal)
            items, keys, item_shares = shares
            vector = _vector(dict(zip(items, map(mul, item_shares, self.frequencies.idfs(keys)), strict=True)))
            story.weighted[signal] = vector
        return vector


def _story_shares(story: Story, signal: str) -> Shares:
    if signal == "entities":
        counts, members, keys = story.entities, story.article_count, list(entity_keys(story.entities))
    elif signal == "numbers":
        counts, members, keys = story.numbers, story.article_count, list(number_keys(story.numbers))
    else:
        language = signal.removeprefix("terms:")
        prefix = f"{language}:"
        counts = {term: count for term, count in story.terms.items() if term.startswith(prefix)}
        members, keys = story.language_counts[language], list(counts)
        return keys, keys, [count / members for count in counts.values()]  # a term is its own key: one list
    return list(counts), keys, [count / members for count in counts.values()]


@cache  # counts are small numbers, met over and over
def _sublinear_tf(count: int) -> float:
    return 1.0 + math.log(count)


def _strongest(weights: dict[str, float]) -> list[str]:
    return sorted(weights, key=weights.__getitem__, reverse=True)[:ARTICLE_TERMS]


def _vector(weights: dict[str, float]) -> Vector:
    return weights, sum(map(mul, weights.values(), weights.values()))


def _cosine(article: Vector, story: Vector) -> float:
    """Cosine of the article's tf-idf vector with the story's."""
    weights, squares = article
    story_weights, story_squares = story
    # The products summed in the article's key order, all in C (no Python frame per key).
    dot = sum(map(mul, weights.values(), map(story_weights.get, weights, repeat(0.0))))
    if not dot:
        return 0.0
    return dot / math.sqrt(squares * story_squares)
