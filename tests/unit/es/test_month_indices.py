"""Which month index holds an article, and the record timestamp that decides it without published_at."""

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from newsflow.es.indices import IndexNames, article_month, articles_template, index_month
from newsflow.es.placement import Placement
from newsflow.models import Article, SourceMessage
from newsflow.settings import Settings
from newsflow.worker.app import Retry, kafka_time, source_message

# 2026-12-01T00:00:00Z in milliseconds
DECEMBER_MS = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp() * 1000)


def article(published_at: datetime | None = None, timestamp_ms: int | None = None) -> Article:
    source = SourceMessage(b"{}", None, "articles.raw", 0, 0, timestamp_ms)
    return Article("a" * 32, "https://x/1", "https://x/1", "X", "t", "b", "text/plain", published_at, source)


def test_the_month_is_the_utc_month_of_published_at_even_with_a_record_timestamp():
    assert article_month(article(datetime(2026, 3, 15, 12, tzinfo=UTC), DECEMBER_MS)) == "2026.03"
    # 01:30 on 1 April in Riyadh is still March in UTC; 23:30 on 31 March in New York is April
    assert article_month(article(datetime(2026, 4, 1, 1, 30, tzinfo=timezone(timedelta(hours=3))))) == "2026.03"
    assert article_month(article(datetime(2026, 3, 31, 23, 30, tzinfo=timezone(timedelta(hours=-4))))) == "2026.04"
    # no offset: UTC, as Elasticsearch reads the stored value
    assert article_month(article(datetime(2026, 3, 31, 23, 59, 59))) == "2026.03"


def test_without_published_at_the_record_timestamp_decides_to_the_millisecond():
    assert article_month(article(timestamp_ms=DECEMBER_MS - 1)) == "2026.11"
    assert article_month(article(timestamp_ms=DECEMBER_MS)) == "2026.12"
    with pytest.raises(ValueError, match="neither published_at nor a record timestamp"):
        article_month(article())


def test_retries_and_dead_letters_are_sent_with_the_timestamp_their_consumer_reads_back():
    for timestamp_ms in (DECEMBER_MS - 1, DECEMBER_MS, 1_764_150_000_123):
        message = SourceMessage(b"{}", b"k", "articles.raw", 2, 41, timestamp_ms)
        # what faust's producer puts on the record, then what its consumer hands the worker
        on_the_record = int(kafka_time(message) * 1000.0)
        retried = SimpleNamespace(
            value=b"{}",
            key=b"k",
            topic="articles.retry",
            partition=0,
            offset=7,
            timestamp=on_the_record / 1000.0,
            headers=Retry(message, 1, "429").headers(delay_s=1),
        )
        assert source_message(SimpleNamespace(message=retried)) == (message, 1)


def test_month_index_names():
    names = IndexNames.from_settings(Settings(name_prefix="t-"))
    assert names.month_index("2026.03") == "t-articles-v2-2026.03"
    assert index_month("t-articles-v2-2026.03") == "2026.03"
    assert index_month("t-articles-v2") is None  # the single index of the layout before months
    assert names.is_current("t-articles-v2-2026.03")
    assert not names.is_current("t-articles-v1-2026.03") and not names.is_current("t-articles-v2")


def test_writers_address_the_month_index_or_the_single_index_still_serving():
    monthly = Placement(None, "t-articles-v2", frozenset())
    assert monthly.index("2026.03") == "t-articles-v2-2026.03"
    with pytest.raises(ValueError):
        monthly.index(None)
    assert Placement("t-articles-v2", "t-articles-v2", frozenset()).index(None) == "t-articles-v2"


def test_month_indices_join_the_alias_unless_a_migration_to_them_is_pending():
    settings = Settings(name_prefix="t-")
    names = IndexNames.from_settings(settings)
    serving = articles_template(names, settings, serving=True)
    assert serving["index_patterns"] == ["t-articles-v2-*"]
    assert serving["template"]["aliases"] == {"t-articles": {}}
    pending = articles_template(names, settings, serving=False)
    assert "aliases" not in pending["template"] and pending["template"]["settings"]["index"]["hidden"] is True
