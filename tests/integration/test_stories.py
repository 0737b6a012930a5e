"""Story assignment against the real Elasticsearch node: the stories index, candidate look-ups,
updates in the same bulk as the articles, re-delivery.

The samples go through the real enrichment batch (entities with canonical ids, story features
with embeddings) and the real `ArticleIndexer`; only Kafka is left out, so that the test can
cut the stream into the batches it needs.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest

from newsflow import paths
from newsflow.es.client import async_client
from newsflow.es.indexer import ArticleIndexer
from newsflow.models import Article, SourceMessage
from newsflow.pipeline import Enricher
from newsflow.urls import article_id

pytestmark = pytest.mark.integration

SAMPLES = paths.samples_dir()


def sample_articles(settings) -> list[Article]:
    lines = [line for line in (SAMPLES / "articles.jsonl").read_bytes().splitlines() if line.strip()]
    messages = [SourceMessage(line, None, settings.topic_raw, 0, offset) for offset, line in enumerate(lines)]
    result = Enricher(settings).enrich_batch(messages)
    assert not result.dead_letters
    return result.articles


async def index_in_batches(settings, es, batches: list[list[Article]]) -> None:
    client = async_client(settings)
    try:
        indexer = ArticleIndexer(client, settings)
        for batch in batches:
            report = await indexer.index_batch(batch)
            assert not report.dead_letters
            # The next batch must find this one's stories through the index, not only in memory.
            es.indices.refresh(index=[settings.articles_alias, settings.stories_index])
    finally:
        await client.close()


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


def all_stories(es, settings) -> list[dict]:
    return es.search(index=settings.stories_index, size=1000, source=["article_count"])["hits"]["hits"]
