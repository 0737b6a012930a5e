"""The story scorer's cached, batched arithmetic against the formulas computed afresh for every pair.

The scorer keeps each story's weighted keys per version of the document frequencies, the idf of
each key per version, and compares only the signals the chosen model weighs; none of that may
change a probability, to the last bit, so the checks below are exact equalities.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np

from newsflow.models import Article, SourceMessage
from newsflow.settings import Settings
from newsflow.stories.assign import RecentStories, StoryAssigner
from newsflow.stories.features import ArticleFeatures
from newsflow.stories.scoring import (
    ARTICLE_TERMS,
    MODELS,
    STORY_TERMS,
    DocumentFrequencies,
    Story,
    StoryScorer,
    frequency_keys,
)

NOW = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
ENTITIES = [f"org:{i}" for i in range(30)]
NUMBERS = [str(n) for n in (7, 12, 125, 2026, 14000, 27.25, 3, 40)]
STEMS = [f"stem{i}" for i in range(120)]


def random_features(rng: random.Random, embedded: bool) -> ArticleFeatures:
    language = rng.choice(["en", "ar"])
    embedding = None
    if embedded:
        vector = np.asarray([rng.gauss(0, 1) for _ in range(16)], dtype=np.float32)
        embedding = vector / np.linalg.norm(vector)
    return ArticleFeatures(
        language=language,
        entities=Counter({rng.choice(ENTITIES): rng.randint(1, 4) for _ in range(rng.randint(0, 6))}),
        numbers=Counter({rng.choice(NUMBERS): rng.randint(1, 2) for _ in range(rng.randint(0, 3))}),
        terms=Counter({f"{language}:{rng.choice(STEMS)}": rng.randint(1, 5) for _ in range(rng.randint(0, 70))}),
        embedding=embedding,
    )


def reference_idf(documents: int, counts: Counter[str], key: str) -> float:
    return math.log((1 + documents) / (1 + counts.get(key, 0))) + 1.0


def reference_cosine(article: dict[str, float], story: dict[str, float]) -> float:
    dot = sum(weight * story.get(key, 0.0) for key, weight in article.items())
    if not dot:
        return 0.0
    return dot / math.sqrt(sum(w * w for w in article.values()) * sum(w * w for w in story.values()))


def reference_signals(
    features: ArticleFeatures, story: Story, documents: int, counts: Counter[str]
) -> dict[str, float]:
    """Every signal, each weight computed from the counts for this one pair."""

    def idf(key: str) -> float:
        return reference_idf(documents, counts, key)

    def article_weights(items: Counter[str], prefix: str) -> dict[str, float]:
        return {item: (1.0 + math.log(count)) * idf(prefix + item) for item, count in items.items() if count > 0}

    def story_weights(items: dict[str, int], members: int, prefix: str) -> dict[str, float]:
        return {item: count / members * idf(prefix + item) for item, count in items.items()}

    found = {}
    if features.entities and story.entities:
        found["entities"] = reference_cosine(
            article_weights(features.entities, "e:"), story_weights(story.entities, story.article_count, "e:")
        )
    if features.numbers and story.numbers:
        found["numbers"] = reference_cosine(
            article_weights(features.numbers, "n:"), story_weights(story.numbers, story.article_count, "n:")
        )
    members = story.language_counts.get(features.language, 0)
    in_language = {term: n for term, n in story.terms.items() if term.startswith(f"{features.language}:")}
    if features.terms and members and in_language:
        all_terms = article_weights(features.terms, "")
        key_terms = sorted(all_terms, key=all_terms.__getitem__, reverse=True)[:ARTICLE_TERMS]
        found["terms"] = reference_cosine(
            {term: all_terms[term] for term in key_terms}, story_weights(in_language, members, "")
        )
    if features.embedding is not None and story.centroid is not None:
        norm = float(np.linalg.norm(story.centroid))
        found["embedding"] = float(features.embedding @ story.centroid) / norm if norm else 0.0
    return found


def reference_probability(features: ArticleFeatures, story: Story, documents: int, counts: Counter[str]) -> float:
    same_language = bool(story.language_counts.get(features.language))
    embedded = features.embedding is not None and story.centroid is not None
    return MODELS[same_language, embedded].probability(reference_signals(features, story, documents, counts))


class Learned:
    """Document frequencies and, beside them, the plain counts the reference reads."""

    def __init__(self) -> None:
        self.frequencies = DocumentFrequencies(record_changes=True)
        self.documents = 0
        self.counts: Counter[str] = Counter()

    def add(self, features: ArticleFeatures) -> None:
        keys = frequency_keys(features)
        self.frequencies.add(keys)
        self.documents += 1
        self.counts.update(set(keys))


def constructed(seed: int) -> tuple[Learned, StoryScorer, list[Story], list[ArticleFeatures]]:
    rng = random.Random(seed)
    learned = Learned()
    for _ in range(60):
        learned.add(random_features(rng, embedded=False))
    scorer = StoryScorer(learned.frequencies)
    stories = []
    for index in range(25):
        story = Story(id=f"story-{index}", first_seen=NOW, last_seen=NOW)
        embedded = index % 3 == 0
        for member in range(rng.randint(1, 6)):
            features = random_features(rng, embedded)
            story.add(features, scorer.key_terms(features), f"outlet-{member}", NOW)
        stories.append(story)
    articles = [random_features(rng, embedded=index % 2 == 0) for index in range(30)]
    return learned, scorer, stories, articles


def assert_scores_match_reference(learned: Learned, scorer: StoryScorer, stories, articles) -> None:
    for features in articles:
        vectors = scorer.article_vectors(features)
        for story in stories:
            reference = reference_signals(features, story, learned.documents, learned.counts)
            assert scorer.signals(vectors, story) == reference
            expected = reference_probability(features, story, learned.documents, learned.counts)
            assert scorer.probability(vectors, story) == expected


def test_signals_and_probabilities_equal_the_formulas_computed_for_each_pair():
    for seed in range(3):
        assert_scores_match_reference(*constructed(seed))


def test_cached_weights_follow_new_frequencies_merged_counts_and_changed_stories():
    learned, scorer, stories, articles = constructed(11)
    assert_scores_match_reference(learned, scorer, stories, articles)  # fills the caches
    rng = random.Random(12)
    for _ in range(5):
        learned.add(random_features(rng, embedded=False))
    assert_scores_match_reference(learned, scorer, stories, articles)
    # Counts merged from other workers replace the local ones.
    documents, counts = learned.documents + 40, learned.counts + Counter({key: 9 for key in ("e:org:1", "en:stem3")})
    pending_documents, pending = learned.frequencies.pending_changes()
    learned.frequencies.acknowledge(pending_documents, pending)
    learned.frequencies.restore_merged(documents, counts)
    learned.documents, learned.counts = documents, counts
    assert_scores_match_reference(learned, scorer, stories, articles)
    for story, features in zip(stories, articles, strict=False):
        story.add(features, scorer.key_terms(features), "outlet-late", NOW)
    assert_scores_match_reference(learned, scorer, stories, articles)


def test_weighted_keys_go_when_the_frequencies_change_even_from_stories_not_scored_again():
    learned, scorer, stories, articles = constructed(13)
    vectors = scorer.article_vectors(articles[0])
    first, second = stories[:2]
    scorer.probability(vectors, first)
    assert first.weighted
    learned.add(articles[1])
    scorer.probability(scorer.article_vectors(articles[0]), second)
    assert not first.weighted and second.weighted
    assert_scores_match_reference(learned, scorer, stories, articles)  # and they are computed again when needed


def bench_article(id: str) -> Article:
    return Article(
        id=id,
        url=f"https://wire.example/{id}",
        canonical_url=f"https://wire.example/{id}",
        outlet="wire",
        title="-",
        body="-",
        content_type="text/plain",
        published_at=NOW,
        source=SourceMessage(b"{}", None, "articles.raw", 0, 0),
    )


def test_a_stored_story_found_by_several_articles_is_not_changed_by_the_one_that_joins_it():
    features = ArticleFeatures(
        language="en", entities=Counter({"org:1": 1}), numbers=Counter({"125": 1}), terms=Counter({"en:raid": 3})
    )
    learned = Learned()
    for _ in range(20):
        learned.add(ArticleFeatures(language="en", terms=Counter({"en:common": 1})))
    assigner = StoryAssigner(Settings(story_window_hours=72), learned.frequencies)
    stored = Story(id="stored", first_seen=NOW, last_seen=NOW)
    stored.add(features, ["en:raid"], "outlet-a", NOW)
    before = stored.copy()
    key_terms, _ = assigner.prepare(features)
    assignment = assigner.assign(bench_article("first"), features, key_terms, [stored], NOW)
    assert assignment.story_id == "stored"
    assert stored == before  # the batch's next article finds the story as stored
    assert assigner.recent.get("stored").article_count == 2


def test_recent_stories_are_found_by_their_current_keys_only():
    recent = RecentStories(capacity=2)
    story = Story(id="s", first_seen=NOW, last_seen=NOW)
    story.add(ArticleFeatures(language="en", entities=Counter({"org:1": 1})), ["en:raid"], "a", NOW)
    recent.put(story)
    story.entities = Counter({"org:2": 1})  # as when a story's least shared keys are cut
    story.terms["en:dam"] += 1
    recent.put(story)
    assert recent.candidates(["e:org:1"], unit_weight, None, 10, 0) == []
    assert recent.candidates(["e:org:2", "en:raid"], unit_weight, None, 10, 0) == [story]
    assert recent.candidates(["en:dam"], unit_weight, None, 10, 0) == [story]
    for index in range(2):
        recent.put(Story(id=f"other-{index}", first_seen=NOW, last_seen=NOW, terms=Counter({"en:dam": 1})))
    assert recent.get("s") is None  # the least recently updated is forgotten, with its keys
    found = recent.candidates(["en:dam", "en:raid"], unit_weight, None, 10, 0)
    assert {story.id for story in found} == {"other-0", "other-1"}


def test_recent_stories_drop_a_story_from_a_key_it_shares_with_others():
    recent = RecentStories(capacity=3)
    stories = [Story(id=f"s{index}", first_seen=NOW, last_seen=NOW, terms=Counter({"en:dam": 1})) for index in range(3)]
    for story in stories:
        recent.put(story)
    stories[1].terms = Counter({"en:sea": 1})
    recent.put(stories[1])  # the middle of the key's stories leaves it
    assert {story.id for story in recent.candidates(["en:dam"], unit_weight, None, 10, 0)} == {"s0", "s2"}
    recent.put(Story(id="s3", first_seen=NOW, last_seen=NOW, terms=Counter({"en:sea": 1})))  # s0 is forgotten
    assert [story.id for story in recent.candidates(["en:dam"], unit_weight, None, 10, 0)] == ["s2"]
    assert {story.id for story in recent.candidates(["en:sea"], unit_weight, None, 10, 0)} == {"s1", "s3"}


def unit_weight(key: str) -> float:
    return 1.0


def test_recent_candidates_are_the_stories_sharing_the_weightiest_keys_for_their_size():
    recent = RecentStories(capacity=10)
    weights = {"en:dam": 5.0, "en:raid": 1.0, "en:city": 1.0}
    # "small" shares the rare key; "large" shares two common ones and holds many keys of its own.
    recent.put(Story(id="small", first_seen=NOW, last_seen=NOW, terms=Counter({"en:dam": 1, "en:x": 1})))
    large_terms = Counter({"en:raid": 3, "en:city": 3, **{f"en:other{index}": 1 for index in range(30)}})
    recent.put(Story(id="large", first_seen=NOW, last_seen=NOW, terms=large_terms))
    recent.put(Story(id="unrelated", first_seen=NOW, last_seen=NOW, terms=Counter({"en:sea": 1})))
    keys = ["en:dam", "en:raid", "en:city"]
    assert [story.id for story in recent.candidates(keys, weights.__getitem__, None, 1, 0)] == ["small"]
    assert {story.id for story in recent.candidates(keys, weights.__getitem__, None, 5, 0)} == {"small", "large"}
    # Equal weights for equal sizes: the story id decides, not the set order.
    for index in range(3):
        recent.put(Story(id=f"twin-{index}", first_seen=NOW, last_seen=NOW, terms=Counter({"en:sea": 1})))
    assert [story.id for story in recent.candidates(["en:sea"], unit_weight, None, 1, 0)] == ["unrelated"]


def test_recent_candidates_rank_as_weight_sums_over_the_root_of_key_counts_while_stories_come_and_go():
    rng = random.Random(11)
    vocabulary = [f"en:word{index}" for index in range(60)]
    weights = {key: rng.choice([0.5, 1.0, 2.0, 3.5]) for key in vocabulary}  # repeated: ties happen
    recent = RecentStories(capacity=40)
    held: dict[str, Story] = {}
    for index in range(300):  # slots of forgotten stories are given again; more slots than at first
        story = Story(id=f"s{index:03d}", first_seen=NOW, last_seen=NOW)
        story.terms = Counter(rng.sample(vocabulary, rng.randint(1, 8)))
        recent.put(story)
        held[story.id] = story
        if len(held) > 40:
            del held[min(held)]
        keys = rng.sample(vocabulary, 6)
        expected = heapq.nlargest(
            5,
            (
                (sum(weights[key] for key in keys if key in story.terms) / math.sqrt(len(story.terms)), story.id)
                for story in held.values()
                if story.terms.keys() & set(keys)
            ),
        )
        found = recent.candidates(keys, weights.__getitem__, None, 5, 0)
        assert [story.id for story in found] == [story_id for _, story_id in expected]


def test_a_story_keeps_its_most_shared_terms_ties_by_key_whatever_order_they_came_in():
    rng = random.Random(5)
    story, shuffled = (Story(id=name, first_seen=NOW, last_seen=NOW) for name in ("s", "shuffled"))
    expected: Counter[str] = Counter()
    for _ in range(12):
        key_terms = rng.sample([f"en:word{index}" for index in range(400)], 40)
        story.add(ArticleFeatures(language="en"), key_terms, "wire", NOW)
        shuffled.add(ArticleFeatures(language="en"), rng.sample(key_terms, len(key_terms)), "wire", NOW)
        expected.update(key_terms)
        if len(expected) > STORY_TERMS:
            expected = Counter(dict(sorted(expected.items(), key=lambda item: (-item[1], item[0]))[:STORY_TERMS]))
        assert story.terms == shuffled.terms == expected
    assert len(story.terms) == STORY_TERMS


def test_recent_stories_know_after_when_they_hold_every_story():
    recent = RecentStories(capacity=2)
    days = [NOW - timedelta(days=3), NOW - timedelta(days=1)]
    for index, day in enumerate(days):
        recent.put(Story(id=f"s{index}", first_seen=day, last_seen=day))
    assert recent.complete_after() is None, "nothing forgotten: every story is held"
    # A third story would push out the least recently updated one: its last article bounds what is held.
    assert recent.complete_after(adding=1) == days[0]
    assert recent.complete_after(adding=2) == days[1]
    assert recent.complete_after(before=NOW - timedelta(days=2)) == NOW - timedelta(days=2)
    recent.put(Story(id="s2", first_seen=NOW, last_seen=NOW))
    assert recent.get("s0") is None
    assert recent.complete_after() == days[0]
    recent.left_out(NOW - timedelta(days=2))  # e.g. stories a worker did not load at start
    assert recent.complete_after() == NOW - timedelta(days=2)
    recent.left_out(NOW - timedelta(days=5))  # an older bound does not lower it
    assert recent.complete_after() == NOW - timedelta(days=2)


def test_a_worker_holds_an_articles_candidates_until_its_window_reaches_a_forgotten_story():
    window = timedelta(hours=72)
    assigner = StoryAssigner(Settings(story_window_hours=72), recent_capacity=3)
    # Nothing forgotten yet, but placing an article forgets stories two windows older than it.
    assert assigner.held_from([NOW], NOW) == NOW - 2 * window
    assert StoryAssigner(Settings(), hold_all=True).held_from([NOW], NOW) is None
    for index in range(3):
        day = NOW - timedelta(days=index)
        assigner.recent.put(Story(id=f"s{index}", first_seen=day, last_seen=day))
    # Placing one article may forget the least recently updated story (last article NOW).
    held_from = assigner.held_from([NOW], NOW)
    assert held_from == NOW
    assert not assigner.holds_candidates(NOW, held_from)
    assert assigner.holds_candidates(NOW + window + timedelta(seconds=1), held_from)
    # A worker forgets stories two windows older than its newest article: a late one is not covered.
    later = NOW + timedelta(days=30)
    held_from = StoryAssigner(Settings(story_window_hours=72)).held_from([later], later + timedelta(days=1))
    assert held_from == later - 2 * window
    assert assigner.holds_candidates(later, held_from)
    assert not assigner.holds_candidates(later - window - timedelta(seconds=1), held_from)
