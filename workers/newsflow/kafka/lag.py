"""How far the enrichment worker's consumer group is behind `articles.raw`."""

from __future__ import annotations

import time
from collections.abc import Callable

import kafka.errors
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from newsflow.errors import NewsflowError
from newsflow.kafka.admin import connect
from newsflow.settings import Settings


def consumer_progress(settings: Settings) -> tuple[int, int]:
    """(offsets committed by the worker, end offsets) summed over the partitions of articles.raw."""
    consumer = connect(KafkaConsumer, settings, "lag", enable_auto_commit=False)
    admin = connect(KafkaAdminClient, settings, "lag")
    try:
        partitions = [
            TopicPartition(settings.topic_raw, partition)
            for partition in sorted(consumer.partitions_for_topic(settings.topic_raw) or ())
        ]
        end_offsets = consumer.end_offsets(partitions)
        committed = admin.list_group_offsets({settings.consumer_group: None}).get(settings.consumer_group, {})
    finally:
        consumer.close()
        admin.close()
    done = sum(committed[tp].offset for tp in partitions if tp in committed and committed[tp].offset >= 0)
    return done, sum(end_offsets.values())


def consumer_progress_so_far(settings: Settings) -> tuple[int, int]:
    """`consumer_progress`, or (0, 0) while the group's coordinator is still being elected (a fresh broker)."""
    try:
        return consumer_progress(settings)
    except kafka.errors.KafkaError as exc:
        if not exc.retriable:
            raise
        return 0, 0


def wait_until_caught_up(
    settings: Settings, timeout_s: float, on_progress: Callable[[int, int], None] = lambda done, total: None
) -> None:
    """Block until every message produced so far is committed by the worker (indexed or dead-lettered)."""
    deadline = time.monotonic() + timeout_s
    while True:
        done, total = consumer_progress_so_far(settings)
        on_progress(done, total)
        if total and done >= total:
            return
        if time.monotonic() > deadline:
            raise NewsflowError(
                f"the worker committed {done} of {total} messages within {timeout_s:.0f}s; "
                "see its log (newsflow worker --status)"
            )
        time.sleep(0.5)
