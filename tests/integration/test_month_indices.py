"""Month indices behind the alias, through the real broker, worker and node: every article id is one document,
whatever month it lands in and however often its message, or a copy of its text, arrives."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from newsflow.es.indices import IndexNames, alias_indices, current_month
from newsflow.kafka.lag import wait_until_caught_up
from newsflow.kafka.producer import message_key, open_producer
from newsflow.urls import article_id

JANUARY = {
    "schema_version": 1,
    "url": "https://www.coastal-herald.example/2026/01/15/desalination-plant-opens",
    "outlet": "Coastal Herald",
    "title": "Desalination plant opens north of the port",
    "body": (
        "A desalination plant built over three years opened on Thursday north of the port, and the water "
        "authority said it would supply about 120,000 homes once its second line starts in the summer.\n\n"
        "Engineers said the plant uses reverse osmosis and recovers energy from the brine, which cuts its "
        "power use by almost a third compared with the older station it replaces."
    ),
    "published_at": "2026-01-15T10:00:00+00:00",
}
# No published_at: the Kafka record timestamp (February) decides its month.
UNDATED = {
    "schema_version": 1,
    "url": "https://www.valley-courier.example/news/orchard-frost-losses",
    "outlet": "Valley Courier",
    "title": "Frost cuts apricot harvest in the valley orchards",
    "body": (
        "Growers in the valley expect to pick less than half of last year's apricots after two nights of "
        "frost damaged the blossom, the farmers' cooperative said on Monday.\n\n"
        "The cooperative asked the regional government for help with the cost of wind machines and said "
        "insurance covered only a part of the losses on the smaller farms."
    ),
}
FEBRUARY_MS = int(datetime(2026, 2, 10, 8, tzinfo=UTC).timestamp() * 1000)


def send(settings, es, records: list[tuple[dict, int | None]]) -> None:
    """Produce the articles with the given record timestamps (None: now) and wait until all are committed."""
    producer = open_producer(settings)
    try:
        for payload, timestamp_ms in records:
            value = orjson.dumps(payload)
            producer.send(settings.topic_raw, key=message_key(value, payload), value=value, timestamp_ms=timestamp_ms)
        producer.flush()
    finally:
        producer.close()
    wait_until_caught_up(settings, 180)
    es.indices.refresh(index=settings.articles_alias)


def where(es, settings, url: str) -> list[str]:
    """The indices holding a document with this URL's id, searched by id over the alias."""
    hits = es.search(index=settings.articles_alias, query={"ids": {"values": [article_id(url)]}}, source=False)
    return [hit["_index"] for hit in hits["hits"]["hits"]]


@pytest.fixture(scope="module")
def names(settings) -> IndexNames:
    return IndexNames.from_settings(settings)


@pytest.fixture(scope="module")
def first_delivery(settings, es, worker, names):
    send(settings, es, [(JANUARY, None), (UNDATED, FEBRUARY_MS)])


def test_articles_of_two_months_land_in_two_indices_behind_the_alias(settings, es, names, first_delivery):
    assert where(es, settings, JANUARY["url"]) == [names.month_index("2026.01")]
    assert where(es, settings, UNDATED["url"]) == [names.month_index("2026.02")]
    serving = set(alias_indices(es, settings.articles_alias))
    assert {names.month_index("2026.01"), names.month_index("2026.02")} <= serving
    owner = {"term": {"article_id": article_id(JANUARY["url"])}}
    es.indices.refresh(index=settings.fingerprints_index)  # its documents are written without a refresh
    fingerprint = es.search(index=settings.fingerprints_index, query=owner)
    assert [hit["_source"]["month"] for hit in fingerprint["hits"]["hits"]] == ["2026.01"]


def test_redelivery_and_a_later_resend_rewrite_the_same_document(settings, es, names, first_delivery):
    # the same records again (a re-delivery), and the undated article sent anew now, in another month
    send(settings, es, [(JANUARY, None), (UNDATED, FEBRUARY_MS), (UNDATED, None)])
    assert where(es, settings, JANUARY["url"]) == [names.month_index("2026.01")]
    assert where(es, settings, UNDATED["url"]) == [names.month_index("2026.02")]


def test_a_syndicated_copy_updates_its_older_months_original(settings, es, names, first_delivery):
    copy = {**JANUARY, "url": "https://www.gulf-wire.example/desalination", "outlet": "Gulf Wire"}
    copy["published_at"] = datetime.now(UTC).isoformat()  # the copy's own month is the current one
    send(settings, es, [(copy, None)])
    assert where(es, settings, copy["url"]) == []
    assert where(es, settings, JANUARY["url"]) == [names.month_index("2026.01")]
    original = es.search(index=settings.articles_alias, query={"ids": {"values": [article_id(JANUARY["url"])]}})
    source = original["hits"]["hits"][0]["_source"]
    assert [entry["url"] for entry in source["syndicated"]] == [copy["url"]]
    assert set(source["outlets"]) == {"Coastal Herald", "Gulf Wire"}
    in_current_month = {"ids": {"values": [article_id(JANUARY["url"])]}}
    assert es.count(index=names.month_index(current_month()), query=in_current_month)["count"] == 0
