"""The dead-letter topic: each record's value is the original message, its headers the reason.

Reading it (the demo, tests, `newsflow dlq list|show`) and replaying records after a fix
(`newsflow dlq replay`): the original key and bytes go back to the topic they came from, with a
header naming the dead letter, and the worker processes them like any other message. A replay is
safe to repeat: documents are keyed by their URL.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from kafka.consumer.fetcher import ConsumerRecord

from newsflow.errors import NewsflowError
from newsflow.kafka.producer import open_producer
from newsflow.kafka.reader import read_records
from newsflow.settings import Settings

HEADER_PREFIX = "newsflow."
REPLAYED_FROM_HEADER = f"{HEADER_PREFIX}replayed_from_dlq_offset"
INTEGER_FIELDS = ("schema_version", "source_partition", "source_offset")


def dead_letter_view(record: ConsumerRecord) -> dict[str, Any]:
    """The JSON view of a dead letter's headers (schemas/dead_letter.v1.json)."""
    view: dict[str, Any] = {
        name.removeprefix(HEADER_PREFIX): value.decode("utf-8")
        for name, value in record.headers
        if name.startswith(HEADER_PREFIX)
    }
    for name in INTEGER_FIELDS:
        view[name] = int(view[name])
    view["source_key"] = record.key.decode("utf-8", errors="replace") if record.key else None
    return view


def count_by_reason(settings: Settings) -> Counter[str]:
    return Counter(dead_letter_view(record)["error_code"] for record in read_records(settings, settings.topic_dlq))


def dead_letters(settings: Settings) -> list[ConsumerRecord]:
    """Every record on the dead-letter topic, oldest first (one partition)."""
    return sorted(read_records(settings, settings.topic_dlq), key=lambda record: record.offset)


def replay(settings: Settings, records: list[ConsumerRecord]) -> int:
    """Send each dead letter's original key and bytes back to its source topic; returns how many
    the broker acknowledged (all of them, or NewsflowError)."""
    producer = open_producer(settings)
    try:
        futures = [
            producer.send(
                dead_letter_view(record)["source_topic"],
                key=record.key,
                value=record.value,
                headers=[(REPLAYED_FROM_HEADER, str(record.offset).encode())],
                # The worker sent the dead letter with its original's timestamp: keep it (it picks the month index).
                timestamp_ms=record.timestamp,
            )
            for record in records
        ]
        producer.flush()
    finally:
        producer.close()
    failed = [future.exception for future in futures if future.failed()]
    if failed:
        raise NewsflowError(f"{len(failed)} of {len(records)} replays were not acknowledged; first: {failed[0]}")
    return len(futures)
