"""Hostile messages interleaved with well-formed ones, through the real worker: the worker keeps
going, every well-formed article is indexed, and every hostile message is dead-lettered or
indexed sanitised (no control, bidi or zero-width characters left in its title or body)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import orjson
import pytest

from newsflow.es.client import sync_client
from newsflow.kafka.lag import wait_until_caught_up
from newsflow.kafka.producer import Message, message_key
from newsflow.kafka.reader import read_records
from newsflow.settings import Settings

from ...poison import MUST_BE_REMOVED, hostile_values
from .conftest import CATCH_UP_TIMEOUT_S, FaultWorker, account, produce, run_id, unique_articles

WELL_FORMED = 200


def as_message(value: bytes) -> Message:
    """Keyed as `newsflow produce` keys it: the article id of its url, else a hash of its bytes."""
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        document = None
    return Message(message_key(value, document), value)


@pytest.mark.parametrize("count", [pytest.param(300, id="300"), pytest.param(3000, id="3000", marks=pytest.mark.slow)])
def test_poison_interleaved_with_articles_is_dead_lettered_or_indexed_sanitised(
    count: int, fault_settings: Settings, start_worker: Callable[..., FaultWorker]
) -> None:
    poison = [as_message(value) for value in hostile_values(count)]
    articles = unique_articles(WELL_FORMED, run_id())
    produced = poison + articles
    random.Random(0).shuffle(produced)
    worker = start_worker()
    produce(fault_settings, produced)
    wait_until_caught_up(fault_settings, CATCH_UP_TIMEOUT_S)

    # Several hostile messages may share a key (the same url): each must have arrived somewhere.
    accounting = account(fault_settings, produced)
    print("figures:", orjson.dumps(accounting.figures()).decode())
    assert {message.key.decode() for message in articles} <= set(accounting.documents)
    assert not accounting.lost
    assert Counter(record.value for record in read_records(fault_settings, fault_settings.topic_dlq)) <= Counter(
        message.value for message in poison
    ), "a dead letter must carry the original bytes of a hostile message"
    assert worker.process.poll() is None
    assert "internal_error" not in worker.log()
    with sync_client(fault_settings) as es:
        response = es.search(index=fault_settings.articles_alias, size=10_000, source=["title", "body"])
    for hit in response["hits"]["hits"]:
        text = hit["_source"]["title"] + hit["_source"]["body"]
        assert not MUST_BE_REMOVED & set(text), (hit["_id"], text[:200])
