"""Story assignment against the real Elasticsearch node: the stories index, candidate look-ups,
updates in the same bulk as the articles, re-delivery.

The samples go through the real enrichment batch (entities with canonical ids, story features
with embeddings) and the real `ArticleIndexer`; only Kafka is left out, so that the test can
cut the stream into the batches it needs.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest

from newsflow import paths
from newsflow.deployment import isolated
from newsflow.es import stories as stories_module
from newsflow.es.client import async_client
from newsflow.es.indexer import ArticleIndexer
from newsflow.es.stories import Stories, story_from_source
from newsflow.models import Article, SourceMessage
from newsflow.pipeline import Enricher
from newsflow.settings import Settings
from newsflow.stories.assign import Assignment, RecentStories, StoryAssigner, seen_at
from newsflow.stories.scoring import STORY_TERMS, Story
from newsflow.urls import article_id

pytestmark = pytest.mark.integration

SAMPLES = paths.samples_dir()


def sample_articles(settings) -> list[Article]:
    lines = [line for line in (SAMPLES / "articles.jsonl").read_bytes().splitlines() if line.strip()]
    messages = [SourceMessage(line, None, settings.topic_raw, 0, offset) for offset, line in enumerate(lines)]
    result = Enricher(settings).enrich_batch(messages)
    assert not result.dead_letters
    return result.articles


def bilingual_pair(settings, prefix: str) -> tuple[Settings, dict[str, Article], Article, Article]:
    """Settings of a deployment of its own without near duplicates (a near duplicate joins its original's
    story without a candidate search: not these tests' path), the enriched samples by id, and the English
    and Arabic reports of one event."""
    english_url, arabic_url = orjson.loads((SAMPLES / "expectations.json").read_bytes())["same_story"][0]
    story_settings = settings.model_copy(
        update={"neardup_enabled": False, "name_prefix": f"{settings.name_prefix}{prefix}-"}
    )
    articles = {article.id: article for article in sample_articles(story_settings)}
    return story_settings, articles, articles[article_id(english_url)], articles[article_id(arabic_url)]


async def index_in_batches(settings, es, batches: list[list[Article]]) -> None:
    async with async_client(settings) as client:
        indexer = ArticleIndexer(client, settings)
        for batch in batches:
            report = await indexer.index_batch(batch)
            assert not report.dead_letters
            # The next batch must find this one's stories through the index, not only in memory.
            es.indices.refresh(index=[settings.articles_alias, settings.stories_index])


def story_ids(es, settings) -> dict[str, str | None]:
    hits = es.search(index=settings.articles_alias, size=1000, source=["story_id"])["hits"]["hits"]
    return {hit["_id"]: hit["_source"].get("story_id") for hit in hits}


def test_bilingual_pair_shares_one_story_with_both_languages_and_outlets(settings, es):
    english_url, arabic_url = orjson.loads((SAMPLES / "expectations.json").read_bytes())["same_story"][0]
    pair_ids = {article_id(english_url), article_id(arabic_url)}
    articles = sample_articles(settings)
    arabic = next(article for article in articles if article.id == article_id(arabic_url))
    # The Arabic report comes in a later batch: it finds the story through the stories index.
    asyncio.run(index_in_batches(settings, es, [[a for a in articles if a is not arabic], [arabic]]))

    stories = story_ids(es, settings)
    assert all(stories.values()), "every indexed article has a story"
    assert stories[article_id(english_url)] == stories[article_id(arabic_url)]
    story = es.get(index=settings.stories_index, id=stories[article_id(arabic_url)])["_source"]
    assert {"en", "ar"} <= set(story["languages"])
    outlets = {article.outlet for article in articles if article.id in pair_ids}
    assert outlets <= set(story["outlets"])
    assert "org:islamic-state" in story["entity_ids"]  # ISIS and داعش: one canonical id
    assert story["first_seen"] <= story["last_seen"]
    assert len(story["centroid"]) == 512
    # Other news of those days keeps its own stories.
    assert stories[article_id(english_url)] not in {stories[a.id] for a in articles if a.language == "de"}
    sport_and_business = [a.id for a in articles if "/sport/" in a.url or "/business/" in a.url]
    assert stories[article_id(english_url)] not in {stories[id] for id in sport_and_business}

    # Re-delivery: same stories, and no article is counted twice.
    counts = {hit["_id"]: hit["_source"]["article_count"] for hit in all_stories(es, settings)}
    redelivered = sample_articles(settings)
    asyncio.run(index_in_batches(settings, es, [redelivered]))
    assert story_ids(es, settings) == stories
    assert {hit["_id"]: hit["_source"]["article_count"] for hit in all_stories(es, settings)} == counts


def test_a_worker_holding_fewer_stories_than_the_index_searches_for_the_older_ones(settings, es):
    """A worker starting on an index with more stories than it holds loads the latest ones; an article
    whose window reaches past them is looked up in the index and joins its story."""
    story_settings, articles, english, arabic = bilingual_pair(settings, "c")
    sport = [article for article in articles.values() if "/sport/" in article.url][:2]
    for days, article in enumerate(sport, start=4):
        article.published_at = english.published_at + timedelta(days=days)

    async def run() -> tuple[list[list[Article]], set[str]]:
        async with async_client(story_settings) as client:
            first = ArticleIndexer(client, story_settings)
            for batch in ([english], *([article] for article in sport)):
                assert not (await first.index_batch(batch)).dead_letters
            es.indices.refresh(index=[story_settings.articles_alias, story_settings.stories_index])
            second = ArticleIndexer(client, story_settings)
            second._stories.assigner.recent = RecentStories(capacity=2)
            searched: list[list[Article]] = []
            record_calls(second._stories, "_stored_candidates", searched)
            assert not (await second.index_batch([arabic])).dead_letters
            es.indices.refresh(index=story_settings.articles_alias)
            held = {story.id for story in second._stories.assigner.recent._stories.values()}
            return searched, held

    with isolated(story_settings):
        searched, held = asyncio.run(run())
        stories = story_ids(es, story_settings)
    assert [[article.id for article in batch] for batch in searched] == [[arabic.id]]
    assert stories[arabic.id] == english.id, "found through the index, not held"
    assert held == {sport[1].id, english.id}, "the latest story loaded, and the one the article joined"


def record_calls(stories: Stories, method: str, calls: list) -> None:
    """Record the first argument of every call of one of a worker's `Stories` methods."""
    original = getattr(stories, method)

    async def recording(first, *args):
        calls.append(first)
        return await original(first, *args)

    setattr(stories, method, recording)


def all_stories(es, settings) -> list[dict]:
    return es.search(index=settings.stories_index, size=1000, source=["article_count"])["hits"]["hits"]


def test_workers_read_a_story_they_hold_only_when_another_worker_added_to_it(settings, es, monkeypatch):
    """Two workers (indexers with their own memory) place one story's articles in turn. A worker uses
    its own copy of a story while the index has no newer one, and reads the stored story once another
    worker has added to it, so that its copy never lags the index."""
    monkeypatch.setattr(stories_module, "FOLLOW_PAGE", 1)  # following the index reads on past a full page
    story_settings, _, english, arabic = bilingual_pair(settings, "w")
    follow_ups = [_follow_up(story_settings, english, part) for part in (1, 2)]

    searched: list[list[Article]] = []

    async def run() -> tuple[list[set[str]], int]:
        async with async_client(story_settings) as client:
            first, second = ArticleIndexer(client, story_settings), ArticleIndexer(client, story_settings)
            read: list[set[str]] = []
            steps: list[set[str]] = []
            for indexer in (first, second):
                record_calls(indexer._stories, "_sources", read)
                record_calls(indexer._stories, "_stored_candidates", searched)
            for indexer, article in (
                (first, english),
                (first, follow_ups[0]),
                (second, arabic),
                (first, follow_ups[1]),
            ):
                read.clear()
                assert not (await indexer.index_batch([article])).dead_letters
                es.indices.refresh(index=[story_settings.articles_alias, story_settings.stories_index])
                steps.append(set().union(*map(set, read)))
            return steps, first._stories.assigner.recent.get(english.id).article_count

    with isolated(story_settings):
        steps, first_worker_count = asyncio.run(run())
        stories = story_ids(es, story_settings)
        story = es.get(index=story_settings.stories_index, id=english.id)["_source"]
    assert set(stories.values()) == {english.id}, "all four articles are in the story the first one opened"
    # Opened: nothing stored yet. Then the first worker holds the story as stored: no read.
    assert steps[:2] == [set(), set()]
    assert steps[2] == {english.id}, "the second worker does not hold the story: it reads it"
    assert steps[3] == {english.id}, "the second worker added to it: the first worker's copy is stale"
    # Each worker follows the index, so it holds every story within the articles' windows.
    assert not any(searched), "no article needed the index's candidate search"
    assert story["article_count"] == first_worker_count == 4
    assert {"en", "ar"} <= set(story["languages"])


def test_the_stored_story_keeps_the_keys_and_counts_the_worker_keeps(settings, es):
    """The update script mirrors `Story.add`: once a story holds more keys than it keeps, both cut to the
    same keys (ties by key), so a worker's copy and the stored story stay interchangeable."""
    articles = sample_articles(settings)
    assigner, now = StoryAssigner(settings), datetime.now(UTC)
    first_seen = seen_at(articles[0], now)
    story = Story(id="mirror", first_seen=first_seen, last_seen=first_seen)
    changes = []
    for article in articles:
        key_terms, _ = assigner.prepare(article.story_features)
        when = seen_at(article, now)
        story.add(article.story_features, key_terms, article.outlet, when)
        changes.append((article, Stories._article_change(Assignment(article, story.id, False, None, key_terms, when))))
    assert len(story.terms) == STORY_TERMS, "the samples' key terms are more than a story keeps"

    async def update_ops():
        async with async_client(settings) as client:
            stories = ArticleIndexer(client, settings)._stories
            # Two updates: the second cuts a story read back from the index.
            half = len(changes) // 2
            return [stories._update_op(story.id, part) for part in (changes[:half], changes[half:])]

    operations = asyncio.run(update_ops())
    for op in operations:
        es.bulk(operations=[op.action, op.body], refresh=True)
    stored = story_from_source(es.get(index=settings.stories_index, id=story.id)["_source"])
    assert stored.terms == story.terms
    assert stored.entities == story.entities
    assert stored.numbers == story.numbers
    assert stored.language_counts == story.language_counts
    assert (stored.article_count, stored.first_seen, stored.last_seen) == (
        story.article_count,
        story.first_seen,
        story.last_seen,
    )
    assert stored.outlets == story.outlets
    assert np.allclose(stored.centroid, story.centroid, atol=1e-5)
    # A bulk re-sent after its answer was lost applies an update again: each article still counts once.
    es.bulk(operations=[operations[-1].action, operations[-1].body], refresh=True)
    again = story_from_source(es.get(index=settings.stories_index, id=story.id)["_source"])
    assert (again.article_count, again.terms, again.entities, again.language_counts) == (
        story.article_count,
        story.terms,
        story.entities,
        story.language_counts,
    )
    # Workers follow each other's updates by the node's clock (epoch milliseconds), not their own.
    updated_at = es.get(index=settings.stories_index, id=story.id)["_source"]["updated_at"]
    assert abs(updated_at / 1000 - datetime.now(UTC).timestamp()) < 600


def test_an_article_later_than_the_worker_holds_finds_its_story_through_the_index(settings, es):
    """A worker places an article from memory when it holds every story the article's window can hold.
    An article older than that (here: more than a window older than the newest one, after the worker
    forgot the story) is looked up in the stories index and still joins its story."""
    story_settings, articles, english, arabic = bilingual_pair(settings, "l")
    later = next(article for article in articles.values() if "/sport/" in article.url)
    later.published_at = english.published_at + timedelta(days=10)

    async def run() -> tuple[list[list[Article]], bool]:
        async with async_client(story_settings) as client:
            indexer = ArticleIndexer(client, story_settings)
            searched: list[list[Article]] = []
            record_calls(indexer._stories, "_stored_candidates", searched)
            forgotten = False
            for batch in ([english], [later], [arabic]):
                assert not (await indexer.index_batch(batch)).dead_letters
                es.indices.refresh(index=[story_settings.articles_alias, story_settings.stories_index])
                if batch == [later]:
                    forgotten = indexer._stories.assigner.recent.get(english.id) is None
            return searched, forgotten

    with isolated(story_settings):
        searched, forgotten = asyncio.run(run())
        stories = story_ids(es, story_settings)
    assert forgotten, "the worker no longer holds the story ten days on"
    assert [[article.id for article in articles] for articles in searched] == [[], [], [arabic.id]], (
        "only the late article needs the index's candidates"
    )
    assert stories[arabic.id] == stories[english.id] == english.id
    assert stories[later.id] == later.id


def _follow_up(settings, article: Article, part: int) -> Article:
    """Another outlet's shorter report of the same event: a part of the article's paragraphs."""
    paragraphs = [p for p in article.text.split("\n") if p.strip()]
    body = "\n\n".join(paragraphs[part - 1 :: 2])
    document = {
        "schema_version": 1,
        "url": f"https://follow-up-{part}.example/{article.id}",
        "outlet": f"Follow-up {part}",
        "title": article.title,
        "body": body,
        "content_type": "text/plain",
        "published_at": article.published_at.isoformat() if article.published_at else None,
    }
    message = SourceMessage(orjson.dumps(document), None, settings.topic_raw, 0, 100 + part)
    result = Enricher(settings).enrich_batch([message])
    assert not result.dead_letters
    return result.articles[0]
