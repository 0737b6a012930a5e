"""The enrichment chain never raises on hostile input: every message comes out as one article or one
dead letter with a stable reason, never as an internal error, and what is kept is sanitised.

10,000 generated messages by default (100 batches of 100); `make test-slow` runs 100,000 with
larger HTML bombs and nesting, and valid bodies just under the limit (about a second each).
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsflow.es.indexer import article_document
from newsflow.models import SourceMessage
from newsflow.pipeline import Enricher
from newsflow.settings import Settings

from ..poison import MUST_BE_REMOVED, near_limit_article, poison_message

BATCH = 100
LIGHT = Settings(entities_model_ner=False, story_embeddings=False)
ENRICHER = Enricher(LIGHT)  # one per process, as in the worker: what it learns carries across batches
REASONS = {
    "message_too_large",
    "invalid_encoding",
    "invalid_json",
    "schema_violation",
    "body_too_long",
    "empty_body",
}


def check_batch(values: list[bytes]) -> None:
    messages = [SourceMessage(value, b"key", "articles.raw", 0, offset) for offset, value in enumerate(values)]
    result = ENRICHER.enrich_batch(messages)

    offsets = sorted([a.source.offset for a in result.articles] + [d.message.offset for d in result.dead_letters])
    assert offsets == list(range(len(values))), "every message must come out exactly once"
    for letter in result.dead_letters:
        assert letter.error.code in REASONS, (letter.error.code, letter.error.detail, letter.message.value[:200])
        assert letter.message.value is values[letter.message.offset], "a dead letter carries the original bytes"
    for article in result.articles:
        for text in (article.title, article.text):
            assert not MUST_BE_REMOVED & set(text), repr(text[:200])
        assert 0 < len(article.text) <= LIGHT.max_body_chars
        orjson.dumps(article_document(article, datetime.now(UTC)))  # what goes to Elasticsearch serialises


@settings(max_examples=10_000 // BATCH, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(poison_message(), min_size=BATCH, max_size=BATCH))
def test_ten_thousand_hostile_messages_each_end_as_an_article_or_a_dead_letter(values: list[bytes]) -> None:
    check_batch(values)


def test_an_article_just_under_the_body_limit_is_enriched() -> None:
    check_batch([near_limit_article(LIGHT.max_body_chars - 10)])


@pytest.mark.slow
@settings(max_examples=100_000 // BATCH, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(poison_message(scale=10), min_size=BATCH, max_size=BATCH))
def test_a_hundred_thousand_hostile_messages_with_bigger_bombs(values: list[bytes]) -> None:
    check_batch(values)
